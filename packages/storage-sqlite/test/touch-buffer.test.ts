import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Context, createManualClock } from '@convokit/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-sqlite-touch-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function context(id: string, expiresAt?: number): Context {
  return {
    id,
    scope: 'session',
    data: { v: id },
    metadata: {},
    version: 1,
    createdAt: 100,
    updatedAt: 100,
    accessCount: 0,
    lastAccessedAt: 100,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}

/** What another process would read: the row on disk, bypassing this process's buffer. */
function onDisk(
  path: string,
  id: string,
): { access_count: number; last_accessed_at: number; expires_at: number | null } {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare('SELECT access_count, last_accessed_at, expires_at FROM contexts WHERE id = ?')
      .get(id) as never;
  } finally {
    db.close();
  }
}

describe('context touches are written behind', () => {
  it('a touch is visible in-process at once and on disk only after a flush', async () => {
    const path = join(dir, 't.db');
    const storage = createSqliteStorage({ path, touchFlushMs: 60_000 });
    await storage.contexts.create(context('a'));
    await storage.contexts.touch('a', { at: 200 });
    await storage.contexts.touch('a', { at: 300 });
    expect(await storage.contexts.get('a', { now: 400 })).toMatchObject({
      accessCount: 2,
      lastAccessedAt: 300,
      version: 1,
    });
    expect(onDisk(path, 'a')).toMatchObject({ access_count: 0, last_accessed_at: 100 });
    await storage.flush();
    expect(onDisk(path, 'a')).toMatchObject({ access_count: 2, last_accessed_at: 300 });
    // Flushed touches are not counted twice.
    expect((await storage.contexts.get('a', { now: 400 }))?.accessCount).toBe(2);
    await storage.close();
  });

  it('close writes pending touches', async () => {
    const path = join(dir, 't.db');
    const storage = createSqliteStorage({ path, touchFlushMs: 60_000 });
    await storage.contexts.create(context('a'));
    await storage.contexts.touch('a', { at: 200 });
    await storage.close();
    expect(onDisk(path, 'a').access_count).toBe(1);
  });

  it('the timer writes them after touchFlushMs, and a full buffer flushes at once', async () => {
    const path = join(dir, 't.db');
    const storage = createSqliteStorage({ path, touchFlushMs: 20, touchFlushMax: 3 });
    for (const id of ['a', 'b', 'c', 'd']) await storage.contexts.create(context(id));
    await storage.contexts.touch('a', { at: 200 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(onDisk(path, 'a').access_count).toBe(1);

    const slow = createSqliteStorage({ path, touchFlushMs: 60_000, touchFlushMax: 3 });
    await slow.contexts.touch('b', { at: 210 });
    await slow.contexts.touch('c', { at: 210 });
    expect(onDisk(path, 'b').access_count).toBe(0);
    await slow.contexts.touch('d', { at: 210 });
    expect([onDisk(path, 'b'), onDisk(path, 'c'), onDisk(path, 'd')].map((r) => r.access_count)).toEqual([
      1, 1, 1,
    ]);
    await slow.close();
    await storage.close();
  });

  it('a pending sliding expiry keeps the context alive for get, list, count and update', async () => {
    const clock = createManualClock(0);
    const storage = createSqliteStorage({ path: join(dir, 't.db'), clock, touchFlushMs: 60_000 });
    await storage.contexts.create(context('a', 500));
    await storage.contexts.touch('a', { at: 400, expiresAt: 2_000 });
    clock.set(1_000);
    expect((await storage.contexts.get('a'))?.expiresAt).toBe(2_000);
    expect(await storage.contexts.count()).toBe(1);
    expect((await storage.contexts.list()).items.map((c) => c.id)).toEqual(['a']);
    const updated = await storage.contexts.update('a', 1, { data: { v: 'x' } }, 1_000);
    expect(updated).toMatchObject({ version: 2, accessCount: 1, lastAccessedAt: 400, expiresAt: 2_000 });
    // A touch after expiry is ignored, and does not revive the context.
    await storage.contexts.touch('a', { at: 2_000, expiresAt: 9_000 });
    clock.set(2_000);
    expect(await storage.contexts.get('a')).toBeUndefined();
    expect((await storage.contexts.deleteExpired(2_000)).map((c) => [c.id, c.accessCount])).toEqual([
      ['a', 1],
    ]);
    await storage.close();
  });

  it('an update writes the pending touch in its own commit, once', async () => {
    const path = join(dir, 't.db');
    const storage = createSqliteStorage({ path, touchFlushMs: 60_000 });
    await storage.contexts.create(context('a', 1_000));
    await storage.contexts.touch('a', { at: 500, expiresAt: 5_000 });
    // Live only thanks to the pending sliding expiry.
    const updated = await storage.contexts.update('a', 1, { data: { v: 'y' } }, 2_000);
    expect(updated).toMatchObject({ version: 2, accessCount: 1, lastAccessedAt: 500, expiresAt: 5_000 });
    expect(onDisk(path, 'a')).toMatchObject({ access_count: 1, last_accessed_at: 500, expires_at: 5_000 });
    await storage.flush();
    expect((await storage.contexts.get('a', { now: 2_000 }))?.accessCount).toBe(1);
    // A failed update leaves the touch pending.
    await storage.contexts.touch('a', { at: 600 });
    await expect(storage.contexts.update('a', 1, {}, 2_000)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await storage.contexts.get('a', { now: 2_000 }))?.accessCount).toBe(2);
    expect(await storage.contexts.delete('a', { now: 2_000 })).toBe(true);
    await storage.close();
  });

  it('touches of a context deleted meanwhile are dropped quietly', async () => {
    const path = join(dir, 't.db');
    const storage = createSqliteStorage({ path, touchFlushMs: 60_000 });
    await storage.contexts.create(context('a'));
    await storage.contexts.touch('a', { at: 200 });
    const other = createSqliteStorage({ path });
    expect(await other.contexts.delete('a', { now: 300 })).toBe(true);
    await other.close();
    await storage.flush();
    expect(await storage.contexts.get('a', { now: 300 })).toBeUndefined();
    await storage.close();
  });
});
