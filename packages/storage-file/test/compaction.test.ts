import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConvokitError, createManualClock, type Storage } from '@convokit/core';
import { makeContext, makeTurn } from '@convokit/storage-testkit';
import { describe, expect, it } from 'vitest';
import { createFileStorage } from '../src/index.js';
import { tempDirectory } from './helpers.js';

const clock = createManualClock(Date.UTC(2026, 0, 1));
const LOG0 = 'log-0000000000.jsonl';
const LOG1 = 'log-0000000001.jsonl';
const SNAP1 = 'snapshot-0000000001.jsonl';
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function dump(storage: Storage) {
  return {
    turns: (await storage.turns!.list({}, { order: 'asc', limit: 1000 })).items,
    contexts: (await storage.contexts!.list({}, { limit: 1000, now: 0 })).items,
  };
}

function dataFiles(directory: string): string[] {
  return readdirSync(directory)
    .filter((n) => n !== 'LOCK')
    .sort();
}

describe('compaction', () => {
  it('runs after compactAfterRecords writes: snapshot + fresh log, old generation removed, same state', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock, compactAfterRecords: 5 });
    for (let n = 1; n <= 4; n++) await storage.turns.append([makeTurn({ id: `t${n}`, at: n })]);
    await tick();
    expect(storage.stats()).toMatchObject({ generation: 0, logRecords: 4 });
    await storage.contexts.create(makeContext({ id: 'c1', data: { a: 1 } }));
    await tick();
    expect(storage.stats()).toMatchObject({ generation: 1, logRecords: 0 });
    expect(storage.metrics.counter('file.compactions')).toBe(1);
    expect(dataFiles(directory)).toEqual([LOG1, SNAP1]);
    // The snapshot: header, one line of 4 turns, one context, footer; the log: its header only.
    const snapshot = readFileSync(join(directory, SNAP1), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).m);
    expect(snapshot.map((m) => m.type)).toEqual(['header', 'turns.append', 'contexts.put', 'footer']);
    expect(snapshot[0]).toMatchObject({
      format: 'convokit-file',
      version: 2,
      kind: 'snapshot',
      generation: 1,
    });
    expect(snapshot[1].turns.map((t: { id: string }) => t.id)).toEqual(['t1', 't2', 't3', 't4']);
    expect(snapshot[3]).toEqual({ type: 'footer', records: 2 });
    expect(readFileSync(join(directory, LOG1), 'utf8').split('\n')).toHaveLength(2);

    await storage.contexts.update('c1', 1, { data: { a: 2 } }, clock.now());
    const before = await dump(storage);
    await storage.close();
    const reopened = await createFileStorage({ directory, clock });
    expect(reopened.recovery).toMatchObject({ generation: 1, snapshotRecords: 2, logRecords: 1 });
    expect(await dump(reopened)).toEqual(before);
    await reopened.close();
  });

  it('waits until the log is at least as large as the snapshot', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock, compactAfterRecords: 3 });
    await storage.turns.append(Array.from({ length: 200 }, (_, n) => makeTurn({ id: `t${n}`, at: n })));
    await storage.compact();
    await storage.contexts.create(makeContext({ id: 'c1' }));
    for (let n = 1; n <= 5; n++) await storage.contexts.touch('c1', { at: n });
    await tick();
    expect(storage.stats().generation).toBe(1);
    expect(storage.stats().logBytes).toBeLessThan(storage.stats().snapshotBytes);
    await storage.close();
  });

  it('runs when due even for a writer that never yields to the event loop', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock, compactAfterRecords: 5 });
    // No tick: awaiting writes that resolve at once runs no immediate, so the sixth write compacts.
    for (let n = 1; n <= 7; n++) await storage.turns.append([makeTurn({ id: `t${n}`, at: n })]);
    expect(storage.stats()).toMatchObject({ generation: 1, logRecords: 2 });
    await storage.close();
    const reopened = await createFileStorage({ directory, clock });
    expect(reopened.recovery).toMatchObject({ generation: 1, snapshotRecords: 1, logRecords: 2 });
    expect(await reopened.turns.count()).toBe(7);
    await reopened.close();
  });

  it('a failed compaction leaves the store working on its current generation', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock, compactAfterRecords: false });
    await storage.turns.append([makeTurn({ id: 't1' })]);
    // A directory where the snapshot's temporary file must go: opening it for writing fails.
    mkdirSync(join(directory, `${SNAP1}.tmp`));
    const error = await storage.compact().catch((e: unknown) => e);
    expect(ConvokitError.is(error, 'STORAGE')).toBe(true);
    expect((error as ConvokitError).message).toContain(SNAP1);
    await storage.turns.append([makeTurn({ id: 't2' })]);
    expect(storage.stats().generation).toBe(0);
    await storage.close();
    rmdirSync(join(directory, `${SNAP1}.tmp`));
    const reopened = await createFileStorage({ directory, clock });
    expect(await reopened.turns.count()).toBe(2);
    await reopened.close();
  });

  it('reopens after a compaction interrupted between its two renames', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock, compactAfterRecords: false });
    await storage.turns.append([makeTurn({ id: 't1' }), makeTurn({ id: 't2' })]);
    await storage.contexts.create(makeContext({ id: 'c1' }));
    const before = await dump(storage);
    copyFileSync(join(directory, LOG0), join(directory, 'saved-log'));
    await storage.compact();
    await storage.close();
    // The state a crash leaves after the snapshot rename, before the new log exists.
    unlinkSync(join(directory, LOG1));
    renameSync(join(directory, 'saved-log'), join(directory, LOG0));
    writeFileSync(join(directory, `${LOG1}.tmp`), '{"c":"0000');
    writeFileSync(join(directory, 'LOCK.12345-dead.tmp'), '{"pid":1'); // a writer killed while locking
    const reopened = await createFileStorage({ directory, clock });
    expect(reopened.recovery).toMatchObject({ generation: 1, logRecreated: true });
    // The half-written temporary log was replaced by the re-created one.
    expect(reopened.recovery.removedFiles).toEqual([LOG0, 'LOCK.12345-dead.tmp']);
    expect(await dump(reopened)).toEqual(before);
    expect(dataFiles(directory)).toEqual([LOG1, SNAP1]);
    await reopened.close();
  });

  it('refuses a log whose snapshot is missing', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock });
    await storage.compact();
    await storage.close();
    unlinkSync(join(directory, SNAP1));
    const error = await createFileStorage({ directory, clock }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE', details: { reason: 'missing-snapshot' } });
  });
});

describe('fsync policies', () => {
  it('always: one fsync per write, before it resolves', async () => {
    const storage = await createFileStorage({ directory: tempDirectory(), clock, fsync: 'always' });
    for (let n = 0; n < 3; n++) await storage.turns.append([makeTurn({ id: `t${n}` })]);
    expect(storage.metrics.counter('file.fsyncs')).toBe(3);
    await storage.close();
  });

  it('batch: one fsync for the writes of the window, within the bound', async () => {
    const storage = await createFileStorage({
      directory: tempDirectory(),
      clock,
      fsync: 'batch',
      fsyncDelayMs: 100,
    });
    for (let n = 0; n < 3; n++) await storage.turns.append([makeTurn({ id: `t${n}` })]);
    expect(storage.metrics.counter('file.fsyncs')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(storage.metrics.counter('file.fsyncs')).toBe(1);
    await storage.close();
    expect(storage.metrics.counter('file.fsyncs')).toBe(1);
  });

  it('batch: a writer that never yields to the event loop still fsyncs within the bound', async () => {
    const storage = await createFileStorage({
      directory: tempDirectory(),
      clock,
      fsync: 'batch',
      fsyncDelayMs: 10,
    });
    // Awaiting writes that resolve at once runs no timer: only the writes themselves can fsync.
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < 60) await storage.turns.append([makeTurn({ id: `t${n++}` })]);
    expect(storage.metrics.counter('file.fsyncs')).toBeGreaterThanOrEqual(1);
    await storage.close();
  });

  it('never: no fsync until flush or close', async () => {
    const storage = await createFileStorage({
      directory: tempDirectory(),
      clock,
      fsync: 'never',
      fsyncDelayMs: 1,
    });
    await storage.turns.append([makeTurn({ id: 't1' })]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(storage.metrics.counter('file.fsyncs')).toBe(0);
    await storage.flush();
    expect(storage.metrics.counter('file.fsyncs')).toBe(1);
    await storage.turns.append([makeTurn({ id: 't2' })]);
    await storage.close();
    expect(storage.metrics.counter('file.fsyncs')).toBe(2);
  });
});

describe('readers', () => {
  it('read-only opens next to a writer, sees what was written, refuses writes and changes no file', async () => {
    const directory = tempDirectory();
    const writer = await createFileStorage({ directory, clock });
    await writer.turns.append([makeTurn({ id: 't1' })]);
    writeFileSync(join(directory, 'x'), ''); // an unrelated file is left alone
    const logBefore = readFileSync(join(directory, LOG0));
    const reader = await createFileStorage({ directory, clock, readOnly: true });
    expect(reader.readOnly).toBe(true);
    expect(await reader.turns.count()).toBe(1);
    const error = await reader.turns.append([makeTurn({ id: 't2' })]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE', details: { reason: 'read-only' } });
    expect(await reader.turns.count()).toBe(1);
    // It sees a snapshot in time: reopen to see later writes.
    await writer.turns.append([makeTurn({ id: 't3' })]);
    expect(await reader.turns.count()).toBe(1);
    await reader.close();
    expect(readFileSync(join(directory, LOG0)).equals(logBefore)).toBe(false); // the writer's t3
    await writer.close();
    const later = await createFileStorage({ directory, clock, readOnly: true });
    expect(await later.turns.count()).toBe(2);
    await later.close();
  });

  it('a reader reports a torn tail without cutting it', async () => {
    const directory = tempDirectory();
    const writer = await createFileStorage({ directory, clock });
    await writer.turns.append([makeTurn({ id: 't1' })]);
    await writer.close();
    writeFileSync(join(directory, LOG0), `${readFileSync(join(directory, LOG0), 'utf8')}{"c":"12`);
    const size = readFileSync(join(directory, LOG0)).length;
    const reader = await createFileStorage({ directory, clock, readOnly: true });
    expect(reader.recovery.tornRecordsDropped).toBe(1);
    expect(readFileSync(join(directory, LOG0)).length).toBe(size);
    await reader.close();
  });
});
