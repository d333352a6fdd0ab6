import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ConvokitError, type ErrorDetails } from '@convokit/core';

/** A failed file operation as the one error every caller sees: `STORAGE` naming path and cause. */
export function fileError(
  message: string,
  path: string,
  cause: unknown,
  details: ErrorDetails = {},
): ConvokitError {
  if (ConvokitError.is(cause)) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ConvokitError(
    'STORAGE',
    `${message} (${path}): ${reason}`,
    { path, errno: code, ...details },
    { cause },
  );
}

/** Writes all of `buf` at `position`, looping over short writes. */
export function writeAllSync(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    done += writeSync(fd, buf, done, buf.length - done, position + done);
  }
}

/**
 * Makes a rename or a new file in `directory` durable. Some platforms (Windows) cannot open a
 * directory; there the rename is as durable as the platform makes it.
 */
export function fsyncDirectory(directory: string): void {
  let fd: number;
  try {
    fd = openSync(directory, 'r');
  } catch (error) {
    if (isCode(error, 'EISDIR', 'EPERM', 'EACCES')) return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    if (!isCode(error, 'EINVAL', 'EPERM', 'EISDIR')) throw error;
  } finally {
    closeSync(fd);
  }
}

/** fdatasync where the platform has it: the data and the size, without the other metadata. */
export function syncData(fd: number): void {
  fdatasyncSync(fd);
}

export function isCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && codes.includes(code);
}
