import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConvokitError, createManualClock, type Turn } from '@convokit/core';
import { makeTurn } from '@convokit/storage-testkit';
import { describe, expect, it } from 'vitest';
import { createFileStorage, type FileStorageOptions, salvageLog } from '../src/index.js';
import { recordingLogger, tempDirectory } from './helpers.js';

const LOG = 'log-0000000000.jsonl';
const clock = createManualClock(Date.UTC(2026, 0, 1));

function turn(n: number): Turn {
  return makeTurn({ id: `t${n}`, at: Date.UTC(2026, 0, 1) + n, userInput: `question ${n}` });
}

/** A store with `count` turns appended one call (one log line) each; the log then has count+1 lines. */
async function storeWithTurns(count: number): Promise<string> {
  const directory = tempDirectory();
  const storage = await createFileStorage({ directory, clock });
  for (let n = 1; n <= count; n++) await storage.turns.append([turn(n)]);
  await storage.close();
  return directory;
}

async function turnIds(options: FileStorageOptions): Promise<string[]> {
  const storage = await createFileStorage({ clock, ...options });
  try {
    const page = await storage.turns.list({}, { order: 'asc', limit: 1000 });
    return page.items.map((t) => t.id);
  } finally {
    await storage.close();
  }
}

async function openError(options: FileStorageOptions): Promise<ConvokitError> {
  try {
    const storage = await createFileStorage({ clock, ...options });
    await storage.close();
  } catch (error) {
    if (ConvokitError.is(error)) return error;
    throw error;
  }
  throw new Error('expected the open to fail');
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n');
}

describe('torn final record', () => {
  it('drops an incomplete last line, reports it, and cuts the file back to the last good record', async () => {
    const directory = await storeWithTurns(3);
    const path = join(directory, LOG);
    const goodSize = statSync(path).size;
    const torn = '{"c":"0badc0de","m":{"type":"turns.append","tur';
    appendFileSync(path, torn);
    const { logger, lines: logged } = recordingLogger();
    const storage = await createFileStorage({ directory, clock, logger });
    expect(storage.recovery).toMatchObject({
      tornRecordsDropped: 1,
      tornBytesDropped: torn.length,
      tornRecord: { path, line: 5, offset: goodSize, reason: 'incomplete final line (no newline)' },
    });
    expect(storage.metrics.counter('file.torn_records_dropped')).toBe(1);
    expect(logged.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'dropped a torn final record of the log',
    ]);
    expect(statSync(path).size).toBe(goodSize);
    await storage.turns.append([turn(4)]);
    await storage.close();
    expect(await turnIds({ directory })).toEqual(['t1', 't2', 't3', 't4']);
    const again = await createFileStorage({ directory, clock });
    expect(again.recovery.tornRecordsDropped).toBe(0);
    await again.close();
  });

  it('drops a complete but unparsable last line', async () => {
    const directory = await storeWithTurns(2);
    const garbage = 'this line is neither JSON nor a framed record\n';
    appendFileSync(join(directory, LOG), garbage);
    const storage = await createFileStorage({ directory, clock });
    expect(storage.recovery.tornRecord).toMatchObject({
      line: 4,
      reason: 'not a framed record',
      bytes: garbage.length,
    });
    expect(await storage.turns.count()).toBe(2);
    await storage.close();
  });

  it('drops a last record whose checksum does not match, even though its JSON parses', async () => {
    const directory = await storeWithTurns(2);
    const path = join(directory, LOG);
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('question 2', 'question 9'));
    const storage = await createFileStorage({ directory, clock });
    expect(storage.recovery.tornRecord).toMatchObject({ line: 3, reason: 'checksum mismatch' });
    expect((await storage.turns.list({}, { order: 'asc' })).items.map((t) => t.id)).toEqual(['t1']);
    await storage.close();
  });

  it('drops a tail of zero bytes (a power loss on an extended file)', async () => {
    const directory = await storeWithTurns(2);
    appendFileSync(join(directory, LOG), Buffer.alloc(4096));
    const storage = await createFileStorage({ directory, clock });
    expect(storage.recovery).toMatchObject({ tornRecordsDropped: 1, tornBytesDropped: 4096 });
    expect(await storage.turns.count()).toBe(2);
    await storage.close();
  });
});

describe('corruption before the end', () => {
  async function corruptLineThree(): Promise<{ directory: string; path: string; before: string }> {
    const directory = await storeWithTurns(4);
    const path = join(directory, LOG);
    const before = readFileSync(path, 'utf8');
    // Line 3 holds t2; change one character of its text: the JSON still parses.
    writeFileSync(path, before.replace('question 2', 'question X'));
    return { directory, path, before };
  }

  it('refuses to open, naming the file and line, and leaves the file as it was', async () => {
    const { directory, path } = await corruptLineThree();
    const damaged = readFileSync(path);
    const error = await openError({ directory });
    expect(error.code).toBe('STORAGE');
    expect(error.message).toContain(`${path} at line 3`);
    expect(error.message).toContain("recover: 'truncate-after-corruption'");
    expect(error.details).toMatchObject({ path, line: 3, reason: 'checksum mismatch' });
    expect(readFileSync(path).equals(damaged)).toBe(true);
    // The lock was released: the next open gets the same error, not LOCKED.
    expect((await openError({ directory })).code).toBe('STORAGE');
    expect((await openError({ directory, readOnly: true })).details).toMatchObject({ line: 3 });
  });

  it("with recover: 'truncate-after-corruption' keeps what precedes it and moves the rest aside", async () => {
    const { directory, path } = await corruptLineThree();
    const damaged = readFileSync(path, 'utf8');
    const lineThreeOffset = Buffer.byteLength(lines(path).slice(0, 2).join('\n')) + 1;
    const { logger, lines: logged } = recordingLogger();
    const storage = await createFileStorage({
      directory,
      clock,
      logger,
      recover: 'truncate-after-corruption',
    });
    const salvaged = storage.recovery.salvaged;
    expect(salvaged).toMatchObject({
      path,
      line: 3,
      offset: lineThreeOffset,
      keptRecords: 1,
      reason: 'checksum mismatch',
    });
    expect(salvaged?.movedBytes).toBe(Buffer.byteLength(damaged) - lineThreeOffset);
    expect(readFileSync(salvaged?.movedTo as string, 'utf8')).toBe(damaged.slice(lineThreeOffset));
    expect(
      logged.some((l) => l.level === 'warn' && l.message === 'moved a damaged part of the log aside'),
    ).toBe(true);
    expect(storage.metrics.counter('file.salvages')).toBe(1);
    await storage.turns.append([turn(5)]);
    await storage.close();
    expect(await turnIds({ directory })).toEqual(['t1', 't5']);
  });

  it('salvageLog does the same on a closed store and refuses while a writer holds it', async () => {
    const { directory, path } = await corruptLineThree();
    const holder = await createFileStorage({ directory: tempDirectory(), clock });
    await holder.close();
    const report = salvageLog(path, Date.UTC(2026, 0, 2));
    expect(report).toMatchObject({ line: 3, keptRecords: 1 });
    expect(readdirSync(directory).filter((n) => n.includes('.corrupt-'))).toEqual([
      `${LOG}.corrupt-2026-01-02T00-00-00-000Z`,
    ]);
    expect(salvageLog(path)).toBeNull();
    const writer = await createFileStorage({ directory, clock });
    expect(() => salvageLog(path)).toThrowError(expect.objectContaining({ code: 'LOCKED' }));
    await writer.close();
    expect(await turnIds({ directory })).toEqual(['t1']);
  });

  it('refuses a damaged header', async () => {
    const directory = await storeWithTurns(1);
    const path = join(directory, LOG);
    writeFileSync(path, readFileSync(path, 'utf8').replace('convokit-file', 'convokit-fila'));
    const error = await openError({ directory });
    expect(error.code).toBe('STORAGE');
    expect(error.details).toMatchObject({ path, line: 1 });
  });

  it('refuses a snapshot with any damage, even on its last line', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock });
    await storage.turns.append([turn(1), turn(2)]);
    await storage.compact();
    await storage.close();
    const path = join(directory, 'snapshot-0000000001.jsonl');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, -5));
    const error = await openError({ directory });
    expect(error.code).toBe('STORAGE');
    expect(error.details).toMatchObject({ path, line: 3 });
    expect(error.message).toContain('restore it from a backup');
    writeFileSync(path, text.split('\n').slice(0, 2).join('\n').concat('\n'));
    expect((await openError({ directory })).message).toContain('it has no footer');
  });

  it('keeps nothing hidden: every file it does not understand is left in place', async () => {
    const directory = await storeWithTurns(1);
    writeFileSync(join(directory, 'notes.txt'), 'mine');
    await turnIds({ directory });
    expect(existsSync(join(directory, 'notes.txt'))).toBe(true);
  });
});
