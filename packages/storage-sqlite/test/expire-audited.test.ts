import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEvent, type Context, createManualClock } from '@convokit/core';
import { makeExpireEvent } from '@convokit/storage-testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';
import { sessionContext, T } from './fixtures/contexts.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-expire-audited-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const context = (id: string, expiresAt: number): Context => sessionContext(id, expiresAt);

function expire(context: Omit<Context, 'data' | 'metadata'>): AuditEvent {
  return makeExpireEvent(context, `x-${context.id}`, T + 2000);
}

describe('contexts.deleteExpiredAudited on sqlite', () => {
  it('a sweep rolled back keeps the sliding expiry a pending touch had given', async () => {
    const path = join(dir, 's.db');
    const storage = createSqliteStorage({ path, clock: createManualClock(T), touchFlushMs: 60_000 });
    try {
      await storage.contexts.create(context('slid', T + 1000));
      await storage.contexts.create(context('gone', T + 1000));
      // Pending in the buffer only: slid now lives until T + 5000.
      await storage.contexts.touch('slid', { at: T + 500, expiresAt: T + 5000 });
      const failure = new Error('audit refused');
      await expect(
        storage.contexts.deleteExpiredAudited!(T + 2000, {
          values: false,
          event: () => {
            throw failure;
          },
        }),
      ).rejects.toBe(failure);
      // Nothing deleted; the touch was written before the sweep's transaction and survived it.
      expect(await storage.contexts.count({}, { now: T })).toBe(2);
      expect(await storage.contexts.get('slid', { now: T + 2000 })).toMatchObject({
        expiresAt: T + 5000,
        accessCount: 1,
      });
      const deleted = await storage.contexts.deleteExpiredAudited!(T + 2000, {
        values: false,
        event: expire,
      });
      expect(deleted.map((c) => c.id)).toEqual(['gone']);
      expect((await storage.audit.list()).items.map((e) => e.id)).toEqual(['x-gone']);
    } finally {
      await storage.close();
    }
    // What a second connection sees: the same, committed.
    const again = createSqliteStorage({ path, clock: createManualClock(T) });
    try {
      expect((await again.contexts.get('slid', { now: T + 4999 }))?.expiresAt).toBe(T + 5000);
      expect(await again.contexts.get('gone', { now: T })).toBeUndefined();
    } finally {
      await again.close();
    }
  });
});
