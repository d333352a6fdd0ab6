import { EventEmitter } from 'node:events';
import { createLogger } from '@convokit/core';
import { ReplyError } from 'ioredis';
import { describe, expect, test } from 'vitest';
import { ContextCache, type InvalidationRedis, type TrackedConnection } from '../src/cache.js';

/** A data connection whose CLIENT commands the test answers by hand. */
class FakeData extends EventEmitter implements TrackedConnection {
  status = 'ready';
  readonly sent: { args: string[]; answer(ok: boolean, error?: Error): void }[] = [];
  client(...args: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.sent.push({ args, answer: (ok, error) => (ok ? resolve('OK') : reject(error)) });
    });
  }
}

/** An invalidation connection: subscribes at once, answers pings at once. */
class FakeSub extends EventEmitter {
  disconnected = false;
  /** Every ping leaves at once. */
  readonly batch = undefined;
  async connect(): Promise<void> {
    queueMicrotask(() => this.emit('ready'));
  }
  async client(): Promise<number> {
    return 42;
  }
  async subscribe(): Promise<number> {
    return 1;
  }
  async ping(): Promise<string> {
    return 'PONG';
  }
  disconnect(): void {
    this.disconnected = true;
  }
  invalidate(keys: string[] | null): void {
    this.emit(
      'messageBuffer',
      Buffer.from('__redis__:invalidate'),
      keys === null ? null : keys.map((k) => Buffer.from(k)),
    );
  }
}

const row = (id: string, version: number) => [id, 'global', '{}', '{}', String(version)];
const tick = () => new Promise((r) => setImmediate(r));

/** A cache with tracking confirmed on (TRACKING ... REDIRECT 42 answered). */
async function activeCache(limits = { maxEntries: 100, maxChars: 1_000_000 }) {
  const data = new FakeData();
  const sub = new FakeSub();
  const cache = new ContextCache({
    data,
    makeSub: () => sub as unknown as InvalidationRedis,
    log: createLogger('test'),
    ...limits,
  });
  expect(cache.lookup('k')).toBeUndefined();
  await tick();
  expect(data.sent.map((s) => s.args)).toEqual([['TRACKING', 'ON', 'REDIRECT', '42', 'OPTIN', 'NOLOOP']]);
  expect(cache.ticket()).toBeUndefined();
  data.sent[0]!.answer(true);
  await tick();
  expect(cache.serving).toBe(true);
  return { cache, data, sub };
}

describe('ContextCache', () => {
  test('a read answered with no invalidation since it was sent is kept and served', async () => {
    const { cache } = await activeCache();
    const t = cache.ticket()!;
    cache.store('k', row('k', 1), Number.NaN, t);
    expect(cache.lookup('k')?.row).toEqual(row('k', 1));
    expect(await cache.confirm()).toBe(true);
  });

  test('an invalidation that crosses a read (any key, or a flush) keeps its answer out', async () => {
    const { cache, sub } = await activeCache();
    for (const keys of [['k'], ['other'], null]) {
      const t = cache.ticket()!;
      sub.invalidate(keys);
      cache.store('k', row('k', 1), Number.NaN, t);
      expect(cache.size).toBe(0);
    }
  });

  test('an invalidation drops the keys it names; a flush drops all', async () => {
    const { cache, sub } = await activeCache();
    for (const k of ['a', 'b', 'c']) cache.store(k, row(k, 1), Number.NaN, cache.ticket()!);
    sub.invalidate(['b']);
    expect([cache.lookup('a'), cache.lookup('b'), cache.lookup('c')].map((e) => e?.row[0])).toEqual([
      'a',
      undefined,
      'c',
    ]);
    sub.invalidate(null);
    expect(cache.size).toBe(0);
    expect(cache.chars).toBe(0);
  });

  test('a write of this client sent during a read keeps the read out', async () => {
    const { cache } = await activeCache();
    cache.store('k', row('k', 1), Number.NaN, cache.ticket()!);
    const t = cache.ticket()!;
    cache.invalidate('k');
    expect(cache.lookup('k')).toBeUndefined();
    cache.store('k', row('k', 1), Number.NaN, t);
    expect(cache.size).toBe(0);
  });

  test('either connection closing empties the cache and stops hits until tracking is confirmed again', async () => {
    const { cache, data, sub } = await activeCache();
    cache.store('k', row('k', 1), Number.NaN, cache.ticket()!);
    const t = cache.ticket()!;
    data.emit('close');
    expect(cache.size).toBe(0);
    expect(cache.ticket()).toBeUndefined();
    cache.store('k', row('k', 1), Number.NaN, t);
    expect(cache.size).toBe(0);
    // The new data connection: a TRACKING sent before a further close does not count.
    data.emit('ready');
    const stale = data.sent.at(-1)!;
    data.emit('close');
    stale.answer(true);
    await tick();
    expect(cache.serving).toBe(false);
    data.emit('ready');
    data.sent.at(-1)!.answer(true);
    await tick();
    expect(cache.serving).toBe(true);
    cache.store('k', row('k', 2), Number.NaN, cache.ticket()!);
    sub.emit('close');
    expect(cache.size).toBe(0);
    expect(cache.serving).toBe(false);
    expect(await cache.confirm()).toBe(false);
  });

  test('Redis refusing CLIENT TRACKING turns the cache off for good', async () => {
    const data = new FakeData();
    const sub = new FakeSub();
    const cache = new ContextCache({
      data,
      makeSub: () => sub as unknown as InvalidationRedis,
      log: createLogger('test'),
      maxEntries: 10,
      maxChars: 1000,
    });
    cache.lookup('k');
    await tick();
    data.sent[0]!.answer(false, new ReplyError('ERR unknown subcommand'));
    await tick();
    expect(sub.disconnected).toBe(true);
    data.emit('ready');
    expect(data.sent).toHaveLength(1);
    expect(cache.ticket()).toBeUndefined();
  });

  test('entries over the limits go least recently used first; one larger than maxChars is not kept', async () => {
    const { cache } = await activeCache({ maxEntries: 3, maxChars: 60 });
    for (const k of ['a', 'b', 'c']) cache.store(k, row(k, 1), Number.NaN, cache.ticket()!);
    // Each row holds 1 + 6 + 2 + 2 + 1 = 12 characters.
    expect(cache.chars).toBe(36);
    cache.lookup('a');
    cache.store('d', row('d', 1), Number.NaN, cache.ticket()!);
    expect(['a', 'b', 'c', 'd'].filter((k) => cache.lookup(k) !== undefined)).toEqual(['a', 'c', 'd']);
    cache.store('big', ['x'.repeat(61)], Number.NaN, cache.ticket()!);
    expect(cache.lookup('big')).toBeUndefined();
    cache.store('e', ['y'.repeat(40)], Number.NaN, cache.ticket()!);
    // 40 + 12 + 12 + 12 > 60: the two least recently used go.
    expect(['a', 'c', 'd', 'e'].filter((k) => cache.lookup(k) !== undefined)).toEqual(['d', 'e']);
    expect(cache.chars).toBe(52);
  });

  test('close disconnects the invalidation connection and serves nothing more', async () => {
    const { cache, sub } = await activeCache();
    cache.store('k', row('k', 1), Number.NaN, cache.ticket()!);
    cache.close();
    expect(sub.disconnected).toBe(true);
    expect(cache.lookup('k')).toBeUndefined();
    expect(await cache.confirm()).toBe(false);
  });
});
