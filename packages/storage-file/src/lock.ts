import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConvokitError } from '@convokit/core';
import { fileError, fsyncDirectory, isCode, writeAllSync } from './fs-util.js';

export const LOCK_FILE = 'LOCK';

/** Who holds a directory: written into the lock file as JSON. */
export interface LockHolder {
  pid: number;
  hostname: string;
  acquiredAt: number;
  /** Random, so a writer removes only its own lock file. */
  token: string;
  /**
   * When the holding process started (ms since epoch). A restarted process often gets the same
   * pid (pid 1 in a container): a lock with our pid but another start time is a previous life's.
   */
  processStartedAt?: number;
}

/** This process's start time, as written into its locks. */
const PROCESS_STARTED_AT = Math.round(performance.timeOrigin);

export interface DirectoryLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** The dead writer whose stale lock was taken over, when there was one. */
  readonly takenOverFrom?: LockHolder;
  /** Removes the lock file if it is still ours. Never throws. */
  release(): void;
}

/**
 * An empty or garbled lock file (left by another tool, or by a version that wrote the lock in
 * place) is judged stale once older than this.
 */
const UNREADABLE_LOCK_GRACE_MS = 5_000;

/**
 * Takes the one-writer lock of `directory`: a file created with O_EXCL holding pid and hostname.
 * A lock left by a dead process on this host is taken over (and reported); any other holder
 * is `LOCKED`. Locks from other hosts are never taken over: this host cannot tell whether that
 * process is alive.
 */
export function acquireLock(directory: string, now: number): DirectoryLock {
  const path = join(directory, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    acquiredAt: now,
    token: randomBytes(8).toString('hex'),
    processStartedAt: PROCESS_STARTED_AT,
  };
  if (tryCreate(path, holder)) return makeLock(path, holder);

  const existing = readHolder(path);
  if (existing === 'gone') {
    // Released between our create and our read: one more try, then give up like any contender.
    if (tryCreate(path, holder)) return makeLock(path, holder);
    throw lockedError(directory, path, readHolder(path));
  }
  if (!isStale(existing, path)) throw lockedError(directory, path, existing);

  // Move the stale file aside first: of several contenders only one rename of it succeeds.
  const aside = `${path}.stale-${process.pid}-${holder.token}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (isCode(error, 'ENOENT')) throw lockedError(directory, path, readHolder(path));
    throw fileError('Cannot take over the stale lock', path, error, { directory });
  }
  const moved = readHolder(aside);
  if (!sameHolder(moved, existing)) {
    // Another contender replaced the stale lock before our rename: put theirs back.
    try {
      linkSync(aside, path);
    } catch {
      // The path is taken again, or the link failed; either way the lock is not ours.
    }
    safeUnlink(aside);
    throw lockedError(directory, path, moved === 'gone' ? 'unreadable' : moved);
  }
  safeUnlink(aside);
  if (!tryCreate(path, holder)) throw lockedError(directory, path, readHolder(path));
  return makeLock(path, holder, existing === 'unreadable' ? undefined : existing);
}

/**
 * Creates the lock file whole: the holder is written to a private temporary file first and then
 * hard-linked to `LOCK`, which fails if `LOCK` exists (as O_EXCL would). A writer killed at any
 * moment leaves either no lock or a complete one, never an empty one that nobody can judge.
 */
function tryCreate(path: string, holder: LockHolder): boolean {
  const content = `${JSON.stringify(holder)}\n`;
  const temporary = `${path}.${holder.pid}-${holder.token}.tmp`;
  try {
    writeFileSync(temporary, content, { flag: 'wx' });
  } catch (error) {
    throw fileError('Cannot create the lock file', path, error);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    // ENOENT: the holder's start-up removed our temporary file as a leftover; it holds the lock.
    if (isCode(error, 'EEXIST', 'ENOENT')) return false;
    if (isCode(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS')) return tryCreateExclusive(path, content);
    throw fileError('Cannot create the lock file', path, error);
  } finally {
    safeUnlink(temporary);
  }
  syncDirectoryQuietly(path);
  return true;
}

/** For file systems without hard links: O_EXCL create, then write. */
function tryCreateExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if (isCode(error, 'EEXIST')) return false;
    throw fileError('Cannot create the lock file', path, error);
  }
  try {
    writeAllSync(fd, Buffer.from(content), 0);
  } catch (error) {
    closeSync(fd);
    safeUnlink(path);
    throw fileError('Cannot write the lock file', path, error);
  }
  closeSync(fd);
  syncDirectoryQuietly(path);
  return true;
}

function syncDirectoryQuietly(path: string): void {
  try {
    fsyncDirectory(join(path, '..'));
  } catch {
    // The lock only has to hold while this host runs; durability of its entry does not matter.
  }
}

function makeLock(path: string, holder: LockHolder, takenOverFrom?: LockHolder): DirectoryLock {
  return {
    path,
    holder,
    ...(takenOverFrom ? { takenOverFrom } : {}),
    release() {
      const current = readHolder(path);
      if (typeof current === 'object' && current.token === holder.token) safeUnlink(path);
    },
  };
}

type ReadHolder = LockHolder | 'unreadable' | 'gone';

function readHolder(path: string): ReadHolder {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return 'gone';
    return 'unreadable';
  }
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.hostname === 'string') {
      return {
        pid: value.pid,
        hostname: value.hostname,
        acquiredAt: typeof value.acquiredAt === 'number' ? value.acquiredAt : 0,
        token: typeof value.token === 'string' ? value.token : '',
        ...(typeof value.processStartedAt === 'number' ? { processStartedAt: value.processStartedAt } : {}),
      };
    }
  } catch {
    // fall through
  }
  return 'unreadable';
}

function isStale(holder: LockHolder | 'unreadable', path: string): boolean {
  if (holder === 'unreadable') {
    // Empty or garbled: not written by this version (which links a complete file into place).
    try {
      return Date.now() - statSync(path).mtimeMs > UNREADABLE_LOCK_GRACE_MS;
    } catch {
      return false;
    }
  }
  if (holder.hostname !== hostname()) return false;
  if (holder.pid === process.pid) {
    // Ours only if written by this very process; otherwise by an earlier process with our pid.
    return holder.processStartedAt !== undefined && holder.processStartedAt !== PROCESS_STARTED_AT;
  }
  return !processAlive(holder.pid);
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return !isCode(error, 'ESRCH');
  }
}

function sameHolder(a: ReadHolder, b: ReadHolder): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return a.pid === b.pid && a.hostname === b.hostname && a.token === b.token && a.acquiredAt === b.acquiredAt;
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function lockedError(directory: string, path: string, holder: ReadHolder): ConvokitError {
  const who =
    typeof holder === 'object'
      ? `pid ${holder.pid} on ${holder.hostname}${holder.pid === process.pid && holder.hostname === hostname() ? ' (this process)' : ''}`
      : 'an unknown writer (the lock file is unreadable)';
  return new ConvokitError(
    'LOCKED',
    `The file storage at ${directory} is locked by ${who}; one writer per directory (open with readOnly: true to read, or remove ${path} if that writer is gone)`,
    {
      directory,
      lockPath: path,
      holder:
        typeof holder === 'object'
          ? { pid: holder.pid, hostname: holder.hostname, acquiredAt: holder.acquiredAt }
          : null,
    },
  );
}
