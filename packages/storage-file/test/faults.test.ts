import {
  chmodSync,
  closeSync,
  openSync,
  readdirSync,
  readlinkSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConvokitError, createManualClock, Metrics } from '@convokit/core';
import { makeContext, makeTurn } from '@convokit/storage-testkit';
import { describe, expect, it } from 'vitest';
import { createFileStorage } from '../src/index.js';
import { LogWriter } from '../src/log-writer.js';
import { recordingLogger, tempDirectory } from './helpers.js';

const clock = createManualClock(Date.UTC(2026, 0, 1));

async function rejection(promise: Promise<unknown>): Promise<ConvokitError> {
  try {
    await promise;
  } catch (error) {
    if (ConvokitError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** A directory this process cannot create files in, or undefined (with the reason) if none. */
function unwritableDirectory(): string | undefined {
  const own = tempDirectory();
  chmodSync(own, 0o555);
  for (const candidate of [own, '/sys', '/proc']) {
    try {
      if (!statSync(candidate).isDirectory()) continue;
      const probe = join(candidate, `.convokit-probe-${process.pid}`);
      writeFileSync(probe, '');
      unlinkSync(probe);
    } catch {
      return candidate;
    }
  }
  return undefined;
}

describe('bad places', () => {
  it('a missing directory is STORAGE naming it, unless createDirectory is set', async () => {
    const directory = join(tempDirectory(), 'a', 'b');
    const error = await rejection(createFileStorage({ directory }));
    expect(error.code).toBe('STORAGE');
    expect(error.message).toContain(directory);
    expect(error.message).toContain('createDirectory');
    expect(error.details).toMatchObject({ directory, reason: 'missing', errno: 'ENOENT' });
    const storage = await createFileStorage({ directory, createDirectory: true });
    expect(readdirSync(directory).sort()).toEqual(['LOCK', 'log-0000000000.jsonl']);
    await storage.close();
    expect(readdirSync(directory)).toEqual(['log-0000000000.jsonl']);
  });

  it('a file in place of the directory is STORAGE', async () => {
    const path = join(tempDirectory(), 'file');
    writeFileSync(path, 'x');
    const error = await rejection(createFileStorage({ directory: path }));
    expect(error.details).toMatchObject({ reason: 'not-a-directory', path });
  });

  it('a directory it cannot write is STORAGE with the path and the cause', async () => {
    const directory = unwritableDirectory();
    if (!directory) {
      console.warn('no unwritable directory on this machine: the read-only directory case was not run');
      return;
    }
    const error = await rejection(createFileStorage({ directory }));
    expect(error.code).toBe('STORAGE');
    expect(error.message).toContain(join(directory, 'LOCK'));
    expect(['EACCES', 'EPERM', 'EROFS', 'ENOENT']).toContain(error.details.errno);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('bad options are VALIDATION before anything is touched', async () => {
    const directory = tempDirectory();
    const bad = [
      { directory: '' },
      { directory, fsync: 'sometimes' as never },
      { directory, readOnly: true, recover: 'truncate-after-corruption' as const },
      { directory, recover: 'yes' as never },
      { directory, compactAfterRecords: 0 },
      { directory, compactAfterRecords: 1.5 },
      { directory, fsyncDelayMs: -1 },
    ];
    for (const options of bad) {
      expect((await rejection(createFileStorage(options))).code).toBe('VALIDATION');
    }
    expect(readdirSync(directory)).toEqual([]);
  });
});

describe('closed store', () => {
  it('rejects every call with STORAGE closed, naming the file adapter; close is idempotent', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory, clock });
    await storage.close();
    await storage.close();
    await storage[Symbol.asyncDispose]();
    const calls: Promise<unknown>[] = [
      storage.turns.append([makeTurn({ id: 't1' })]),
      storage.turns.get('t1'),
      storage.turns.list(),
      storage.turns.search('x'),
      storage.turns.aggregate({ measures: ['count'] }),
      storage.turns.count(),
      storage.turns.deleteBefore(1),
      storage.contexts.create(makeContext({ id: 'c' })),
      storage.contexts.get('c'),
      storage.contexts.update('c', 1, {}, 1),
      storage.contexts.touch('c', { at: 1 }),
      storage.contexts.delete('c'),
      storage.contexts.list(),
      storage.contexts.count(),
      storage.contexts.deleteExpired(1),
      storage.audit.append([]),
      storage.audit.list(),
      storage.compact(),
      storage.flush(),
    ];
    for (const call of calls) {
      expect((await rejection(call)).details).toMatchObject({ adapter: 'file', reason: 'closed' });
    }
  });
});

describe('disk errors', () => {
  it('a failed append rejects with STORAGE, applies nothing, and leaves no partial record', async () => {
    if (process.platform !== 'linux') {
      console.warn('needs /proc/self/fd to reach the open log: not run on this platform');
      return;
    }
    const directory = tempDirectory();
    const { logger } = recordingLogger();
    const storage = await createFileStorage({ directory, clock, logger });
    await storage.turns.append([makeTurn({ id: 't1' })]);
    const logPath = join(directory, 'log-0000000000.jsonl');
    // Swap the log's descriptor for a read-only one on /dev/null (the lowest free number is the
    // one just closed): the next write fails like a dead disk, and no other file is at risk.
    const fd = readdirSync('/proc/self/fd')
      .map(Number)
      .find((n) => {
        try {
          return readlinkSync(`/proc/self/fd/${n}`) === logPath;
        } catch {
          return false;
        }
      });
    expect(fd).toBeDefined();
    closeSync(fd as number);
    expect(openSync('/dev/null', 'r')).toBe(fd);
    const sizeBefore = statSync(logPath).size;
    const error = await rejection(storage.turns.append([makeTurn({ id: 't2' })]));
    expect(error.code).toBe('STORAGE');
    expect(error.message).toContain(logPath);
    expect(await storage.turns.count()).toBe(1);
    expect(statSync(logPath).size).toBe(sizeBefore);
    // The descriptor could not be cut back either: the store now refuses every write.
    expect((await rejection(storage.contexts.create(makeContext({ id: 'c1' })))).code).toBe('STORAGE');
    expect(storage.metrics.counter('file.write_failures')).toBe(1);
    await storage.close(); // closes the /dev/null stand-in
    const reopened = await createFileStorage({ directory, clock });
    expect(reopened.recovery.tornRecordsDropped).toBe(0);
    expect(await reopened.turns.count()).toBe(1);
    await reopened.close();
  });

  it('LogWriter cuts a failed write back off the file and reports the path', () => {
    const directory = tempDirectory();
    const path = join(directory, 'log');
    writeFileSync(path, 'header\n');
    const fd = openSync(path, 'r'); // writes fail with EBADF
    const metrics = new Metrics();
    const writer = new LogWriter({
      path,
      fd,
      size: 7,
      policy: 'always',
      batchDelayMs: 50,
      logger: recordingLogger().logger,
      metrics,
    });
    expect(() => writer.append(Buffer.from('{"x":1}\n'), 1)).toThrowError(
      expect.objectContaining({ code: 'STORAGE' }),
    );
    expect(writer.size).toBe(7);
    expect(writer.records).toBe(0);
    expect(statSync(path).size).toBe(7);
    closeSync(fd);
  });
});
