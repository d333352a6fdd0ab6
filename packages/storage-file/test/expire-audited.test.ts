import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AuditEvent, type Context, createManualClock } from '@convokit/core';
import { makeContext, makeExpireEvent } from '@convokit/storage-testkit';
import { describe, expect, it } from 'vitest';
import { createFileStorage } from '../src/index.js';
import { tempDirectory } from './helpers.js';

const LOG = 'log-0000000000.jsonl';
const T = Date.UTC(2026, 0, 1);
const clock = createManualClock(T);

const expireEvent = (c: Omit<Context, 'data' | 'metadata'>): AuditEvent =>
  makeExpireEvent(c, `x-${c.id}`, T + 500);

/** Live context ids and audit event ids of the store in `directory`, read by a fresh open. */
async function reopened(directory: string): Promise<{ contexts: string[]; events: string[] }> {
  const storage = await createFileStorage({ directory, clock });
  try {
    return {
      contexts: (await storage.contexts.list({}, { now: T })).items.map((c) => c.id),
      events: (await storage.audit.list()).items.map((e) => e.id),
    };
  } finally {
    await storage.close();
  }
}

describe('contexts.deleteExpiredAudited (file)', () => {
  it('writes the deletes and their events as one log record: a reopen sees both, a torn one neither', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock });
    await storage.contexts.create(makeContext({ id: 'a', expiresAt: T + 200 }));
    await storage.contexts.create(makeContext({ id: 'b', expiresAt: T + 100 }));
    await storage.contexts.create(makeContext({ id: 'keep', expiresAt: T + 900 }));
    const path = join(directory, LOG);
    const before = readFileSync(path);
    const deleted = await storage.contexts.deleteExpiredAudited!(T + 500, {
      values: false,
      event: expireEvent,
    });
    expect(deleted.map((c) => c.id)).toEqual(['b', 'a']);
    await storage.close();

    const after = readFileSync(path);
    // Exactly one more line, the sweep's record.
    const added = after.subarray(before.length).toString('utf8');
    expect(added.split('\n')).toHaveLength(2);
    expect(JSON.parse(added).m).toMatchObject({
      type: 'contexts.expire',
      ids: ['b', 'a'],
      events: [{ id: 'x-b' }, { id: 'x-a' }],
    });
    expect(await reopened(directory)).toEqual({ contexts: ['keep'], events: ['x-b', 'x-a'] });

    // The record cut anywhere (a crash mid-write): the reopen drops it whole, so neither the
    // deletes nor the events are there.
    const recordBytes = after.length - before.length;
    for (const kept of [1, 20, Math.floor(recordBytes / 2), recordBytes - 2, recordBytes - 1]) {
      writeFileSync(path, after.subarray(0, before.length + kept));
      expect(await reopened(directory)).toEqual({ contexts: ['a', 'b', 'keep'], events: [] });
    }
    // Whole again: both.
    writeFileSync(path, after);
    expect(await reopened(directory)).toEqual({ contexts: ['keep'], events: ['x-b', 'x-a'] });
  });

  it('a failed call writes no record and a later sweep still finds the contexts', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock });
    await storage.contexts.create(makeContext({ id: 'a', expiresAt: T + 200 }));
    await storage.audit.append([{ ...expireEvent(makeContext({ id: 'a' })), at: T }]);
    const path = join(directory, LOG);
    const size = readFileSync(path).length;
    await expect(
      storage.contexts.deleteExpiredAudited!(T + 500, { values: false, event: expireEvent }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(readFileSync(path).length).toBe(size);
    const deleted = await storage.contexts.deleteExpiredAudited!(T + 500, {
      values: false,
      event: (c) => ({ ...expireEvent(c), id: 'y-a' }),
    });
    expect(deleted.map((c) => c.id)).toEqual(['a']);
    await storage.close();
    expect(await reopened(directory)).toEqual({ contexts: [], events: ['y-a', 'x-a'] });
  });
});
