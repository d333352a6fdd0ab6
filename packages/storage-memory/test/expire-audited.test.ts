import { type AuditEvent, type Context, ConvokitError, createManualClock } from '@convokit/core';
import { makeExpireEvent } from '@convokit/storage-testkit';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage, type MemoryMutation } from '../src/index.js';
import { context } from './helpers.js';

const expireEvent =
  (prefix: string) =>
  (c: Omit<Context, 'data' | 'metadata'>): AuditEvent =>
    makeExpireEvent(c, `${prefix}-${c.id}`, 9_000);

async function seeded(journal?: (m: MemoryMutation) => void) {
  const s = createMemoryStorage({ clock: createManualClock(5_000), journal });
  await s.contexts.create(context({ id: 'b', expiresAt: 7_000 }));
  await s.contexts.create(context({ id: 'a', expiresAt: 8_000 }));
  await s.contexts.create(context({ id: 'c', expiresAt: 20_000 }));
  return s;
}

describe('contexts.deleteExpiredAudited (memory)', () => {
  it('journals the deletes and their events as one contexts.expire mutation', async () => {
    const seen: MemoryMutation[] = [];
    const s = await seeded((m) => seen.push(m));
    seen.length = 0;
    const deleted = await s.contexts.deleteExpiredAudited!(9_000, { values: false, event: expireEvent('x') });
    expect(deleted.map((c) => c.id)).toEqual(['b', 'a']);
    expect(seen).toHaveLength(1);
    const [m] = seen;
    expect(m!.type).toBe('contexts.expire');
    expect(m!.type === 'contexts.expire' && m!.ids).toEqual(['b', 'a']);
    expect(m!.type === 'contexts.expire' && m!.events.map((e) => e.id)).toEqual(['x-b', 'x-a']);

    // Replaying the journal into a fresh store gives the same state.
    const replica = createMemoryStorage({ clock: createManualClock(5_000) });
    const all: MemoryMutation[] = [];
    const original = await seeded((x) => all.push(x));
    await original.contexts.deleteExpiredAudited!(9_000, { event: expireEvent('x') });
    for (const x of all) replica.applyMutation(x);
    expect((await replica.contexts.list({}, { now: 5_000 })).items.map((c) => c.id)).toEqual(['c']);
    expect((await replica.audit.list()).items.map((e) => e.id)).toEqual(['x-b', 'x-a']);
  });

  it('a refusing journal deletes nothing, and the contexts are swept by the next call', async () => {
    let fail = false;
    const s = await seeded(() => {
      if (fail) throw new Error('disk full');
    });
    fail = true;
    await expect(
      s.contexts.deleteExpiredAudited!(9_000, { values: false, event: expireEvent('x') }),
    ).rejects.toSatisfy((e: unknown) => ConvokitError.is(e, 'STORAGE'));
    expect(await s.contexts.count({}, { now: 5_000 })).toBe(3);
    expect((await s.audit.list()).items).toEqual([]);
    fail = false;
    const deleted = await s.contexts.deleteExpiredAudited!(9_000, { values: false, event: expireEvent('x') });
    expect(deleted.map((c) => c.id)).toEqual(['b', 'a']);
    expect((await s.audit.list()).items.map((e) => e.id)).toEqual(['x-b', 'x-a']);
  });

  it('two events of one call with the same id are VALIDATION and delete nothing', async () => {
    const s = await seeded();
    await expect(
      s.contexts.deleteExpiredAudited!(9_000, {
        values: false,
        event: (c) => ({ ...expireEvent('x')(c), id: 'same' }),
      }),
    ).rejects.toSatisfy((e: unknown) => ConvokitError.is(e, 'VALIDATION'));
    expect(await s.contexts.count({}, { now: 5_000 })).toBe(3);
    // The heap still holds them: deleteExpired finds both.
    expect((await s.contexts.deleteExpired(9_000)).map((c) => c.id)).toEqual(['b', 'a']);
  });
});
