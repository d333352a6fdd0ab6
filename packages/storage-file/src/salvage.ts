import { closeSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConvokitError } from '@convokit/core';
import { fileError, fsyncDirectory, syncData, writeAllSync } from './fs-util.js';
import { acquireLock } from './lock.js';
import { readRecords } from './read-records.js';

/** What a salvage kept and what it moved aside. */
export interface SalvageReport {
  path: string;
  /** 1-based line of the first bad record. */
  line: number;
  offset: number;
  reason: string;
  /** Mutation records kept (before the bad line). */
  keptRecords: number;
  /** Where the bad record and everything after it now are. */
  movedTo: string;
  movedBytes: number;
}

/**
 * Copies `path` from byte `offset` on into `<path>.corrupt-<time>`, fsyncs the copy, then cuts
 * `path` back to `offset`. Nothing is deleted: the moved bytes can be inspected or re-read by hand.
 */
export function moveTailAside(
  path: string,
  offset: number,
  now: number,
): { movedTo: string; movedBytes: number } {
  const movedTo = `${path}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
  let source: number | undefined;
  let target: number | undefined;
  let movedBytes = 0;
  try {
    source = openSync(path, 'r+');
    target = openSync(movedTo, 'wx');
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const n = readSync(source, buf, 0, buf.length, offset + movedBytes);
      if (n === 0) break;
      writeAllSync(target, buf.subarray(0, n), movedBytes);
      movedBytes += n;
    }
    syncData(target);
    ftruncateSync(source, offset);
    syncData(source);
    fsyncDirectory(dirname(path));
  } catch (error) {
    throw fileError('Cannot move the damaged end of the log aside', path, error, { movedTo });
  } finally {
    if (source !== undefined) closeSync(source);
    if (target !== undefined) closeSync(target);
  }
  return { movedTo, movedBytes };
}

const LOG_NAME = /^log-(\d{10})\.jsonl$/;

/**
 * Keeps the records of a log that precede its first damaged record and moves the rest into
 * `<log>.corrupt-<time>`. Returns `null` when the log has no damage. Takes the directory's
 * writer lock for the duration, so it fails with `LOCKED` while a writer has the store open.
 * A torn final record is moved aside the same way.
 */
export function salvageLog(path: string, now = Date.now()): SalvageReport | null {
  const match = LOG_NAME.exec(basename(path));
  if (!match) {
    throw new ConvokitError('VALIDATION', `salvageLog expects a log-<generation>.jsonl file, got ${path}`, {
      where: 'salvageLog',
      path,
    });
  }
  const lock = acquireLock(dirname(path), now);
  try {
    const outcome = readRecords(path, 'log', Number(match[1]), 'salvage', () => {});
    const bad = outcome.corrupt ?? outcome.torn;
    if (!bad) return null;
    return { path, ...bad, keptRecords: outcome.records, ...moveTailAside(path, bad.offset, now) };
  } finally {
    lock.release();
  }
}
