import { ConvokitError } from '@convokit/core';

/** SQLite result codes that mean another connection holds the lock past the busy timeout. */
function isLockCode(code: string): boolean {
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/**
 * Turns a better-sqlite3 failure into the one error class: `LOCKED` when another writer kept the
 * database busy beyond the timeout, `STORAGE` for everything else (I/O, read-only, corruption,
 * missing directory), always naming the database path and keeping the driver error as `cause`.
 */
export function sqliteError(cause: unknown, path: string, where: string): ConvokitError {
  if (ConvokitError.is(cause)) return cause;
  const code =
    typeof (cause as { code?: unknown })?.code === 'string' ? (cause as { code: string }).code : undefined;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const details = { adapter: 'sqlite', path, where, ...(code ? { sqliteCode: code } : {}) };
  if (code && isLockCode(code)) {
    return new ConvokitError(
      'LOCKED',
      `SQLite database ${path} is locked by another connection (${where}): ${reason}`,
      details,
      {
        cause,
      },
    );
  }
  return new ConvokitError('STORAGE', `SQLite storage failed at ${path} (${where}): ${reason}`, details, {
    cause,
  });
}

/** Whether a driver error is a uniqueness violation (an id that is already stored). */
export function isUniqueViolation(cause: unknown): boolean {
  const code = (cause as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
