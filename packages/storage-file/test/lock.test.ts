import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConvokitError } from '@convokit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, LOCK_FILE } from '../src/lock.js';

let directory: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'convokit-lock-'));
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  rmSync(directory, { recursive: true, force: true });
});

function expectLocked(fn: () => unknown): ConvokitError {
  try {
    fn();
  } catch (error) {
    expect(ConvokitError.is(error, 'LOCKED')).toBe(true);
    return error as ConvokitError;
  }
  throw new Error('expected LOCKED');
}

/** A live process that is not us, and a way to wait for its death. */
async function liveChild(): Promise<{ pid: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return {
    pid: child.pid as number,
    kill: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

function writeHolder(pid: number, host = hostname()): void {
  writeFileSync(
    join(directory, LOCK_FILE),
    JSON.stringify({ pid, hostname: host, acquiredAt: 5, token: 'theirs' }),
  );
}

describe('directory lock', () => {
  it('holds pid and hostname, and refuses a second writer in this process naming the holder', () => {
    const lock = acquireLock(directory, 1000);
    const written = JSON.parse(readFileSync(join(directory, LOCK_FILE), 'utf8'));
    expect(written).toMatchObject({ pid: process.pid, hostname: hostname(), acquiredAt: 1000 });
    const error = expectLocked(() => acquireLock(directory, 2000));
    expect(error.message).toContain(directory);
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.details).toMatchObject({ directory, holder: { pid: process.pid, hostname: hostname() } });
    lock.release();
    expect(existsSync(join(directory, LOCK_FILE))).toBe(false);
    acquireLock(directory, 3000).release();
  });

  it('refuses while another live process holds it, and takes over once that process is dead', async () => {
    const other = await liveChild();
    writeHolder(other.pid);
    const error = expectLocked(() => acquireLock(directory, 1));
    expect(error.details).toMatchObject({ holder: { pid: other.pid } });
    await other.kill();
    const lock = acquireLock(directory, 2);
    expect(lock.takenOverFrom).toMatchObject({ pid: other.pid, hostname: hostname(), token: 'theirs' });
    expect(JSON.parse(readFileSync(join(directory, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock with its own pid left by an earlier process (a restarted container)', () => {
    writeFileSync(
      join(directory, LOCK_FILE),
      JSON.stringify({
        pid: process.pid,
        hostname: hostname(),
        acquiredAt: 5,
        token: 'old',
        processStartedAt: 1,
      }),
    );
    const lock = acquireLock(directory, 2);
    expect(lock.takenOverFrom).toMatchObject({ pid: process.pid, token: 'old' });
    lock.release();
  });

  it('is never seen half-written: a temporary file left by a killed writer does not block', () => {
    writeFileSync(join(directory, `${LOCK_FILE}.99999-dead.tmp`), '{"pid":99');
    const lock = acquireLock(directory, 1);
    expect(JSON.parse(readFileSync(join(directory, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    expect(readdirSync(directory).sort()).toEqual([LOCK_FILE, `${LOCK_FILE}.99999-dead.tmp`]);
    lock.release();
  });

  it('never takes over a lock from another host, dead pid or not', () => {
    writeHolder(2 ** 22 + 12345, 'some-other-host');
    const error = expectLocked(() => acquireLock(directory, 1));
    expect(error.message).toContain('some-other-host');
  });

  it('leaves a lock that is no longer its own in place on release', () => {
    const lock = acquireLock(directory, 1);
    writeHolder(process.pid);
    lock.release();
    expect(existsSync(join(directory, LOCK_FILE))).toBe(true);
  });

  it('treats an empty lock file as a writer starting up, then as stale once old', () => {
    const path = join(directory, LOCK_FILE);
    writeFileSync(path, '');
    const error = expectLocked(() => acquireLock(directory, 1));
    expect(error.message).toContain('unreadable');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const lock = acquireLock(directory, 2);
    expect(lock.takenOverFrom).toBeUndefined();
    lock.release();
  });

  it('reports a missing directory as STORAGE with the path and cause', () => {
    const missing = join(directory, 'nope');
    try {
      acquireLock(missing, 1);
      throw new Error('expected STORAGE');
    } catch (error) {
      expect(ConvokitError.is(error, 'STORAGE')).toBe(true);
      expect((error as ConvokitError).message).toContain(missing);
      expect((error as ConvokitError).details).toMatchObject({ errno: 'ENOENT' });
    }
  });
});
