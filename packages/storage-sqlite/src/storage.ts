import {
  type AuditLog,
  bucketStart,
  type ContextStore,
  ConvokitError,
  createLogger,
  STORAGE_CONTRACT_VERSION,
  type Storage,
  systemClock,
  type TurnStore,
  ulidAdd,
} from '@convokit/core';
import Database from 'better-sqlite3';
import { createAuditLog } from './audit.js';
import { Connection } from './connection.js';
import { createContextStore } from './contexts.js';
import { sqliteError } from './errors.js';
import { createExpiryLedger } from './expiry.js';
import { checkSchema, migrate, SCHEMA_VERSION } from './migrations.js';
import type { SqliteStorageOptions, SqliteSynchronous } from './options.js';
import { histSum, mergeHist, sumBelow } from './rollups.js';
import { createTurnStore } from './turns.js';

export interface SqliteStorage extends Storage {
  readonly turns: TurnStore;
  readonly contexts: ContextStore;
  readonly audit: AuditLog;
  /** The database file (or `:memory:`). */
  readonly path: string;
  /** Writes buffered context touches now (they are also written on a timer and on close). */
  flush(): Promise<void>;
}

const SYNCHRONOUS: readonly SqliteSynchronous[] = ['OFF', 'NORMAL', 'FULL'];

function badOption(field: string, message: string): ConvokitError {
  return new ConvokitError('VALIDATION', `Invalid input to createSqliteStorage: ${field}: ${message}`, {
    where: 'createSqliteStorage',
    issues: [{ path: field, message }],
  });
}

function nonNegativeInt(
  value: unknown,
  field: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badOption(
      field,
      max === Number.MAX_SAFE_INTEGER
        ? `must be an integer >= ${min}`
        : `must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Default page cache per open storage (private memory of the process). */
export const DEFAULT_CACHE_SIZE_MIB = 64;
/**
 * Default memory-mapped window over the database file: address space backed by the OS page cache
 * (shared, evictable), not memory of the process's own.
 */
export const DEFAULT_MMAP_SIZE_MIB = 1024;
/** WAL pages (4 KiB each) after which a commit checkpoints: SQLite's own default is 1,000. */
export const DEFAULT_WAL_AUTOCHECKPOINT_PAGES = 10_000;
/** `PRAGMA wal_autocheckpoint` takes a 32-bit integer. */
const MAX_WAL_AUTOCHECKPOINT_PAGES = 2 ** 31 - 1;
/** better-sqlite3 builds SQLite with SQLITE_MAX_MMAP_SIZE 0x7fff0000: larger sizes would be cut to it silently. */
const MAX_MMAP_SIZE_MIB = 2047;
/** `PRAGMA cache_size` takes -KiB as a 32-bit integer. */
const MAX_CACHE_SIZE_MIB = 2 ** 21 - 1;

/**
 * Opens (creating if needed) the database, applies pragmas, registers the SQL helpers that
 * aggregates use, and migrates to the current schema. Failures close the handle and surface as
 * `STORAGE`/`LOCKED` with the path.
 */
export function openConnection(options: SqliteStorageOptions): Connection {
  if (typeof options?.path !== 'string' || options.path.length === 0) {
    throw badOption('path', 'must be a file path or `:memory:`');
  }
  const { path } = options;
  const synchronous = options.synchronous ?? 'NORMAL';
  if (!SYNCHRONOUS.includes(synchronous)) throw badOption('synchronous', 'must be OFF, NORMAL or FULL');
  const busyTimeoutMs = nonNegativeInt(options.busyTimeoutMs, 'busyTimeoutMs', 5000);
  const cacheSizeMiB = nonNegativeInt(
    options.cacheSizeMiB,
    'cacheSizeMiB',
    DEFAULT_CACHE_SIZE_MIB,
    1,
    MAX_CACHE_SIZE_MIB,
  );
  const mmapSizeMiB = nonNegativeInt(
    options.mmapSizeMiB,
    'mmapSizeMiB',
    DEFAULT_MMAP_SIZE_MIB,
    0,
    MAX_MMAP_SIZE_MIB,
  );
  const walAutocheckpointPages = nonNegativeInt(
    options.walAutocheckpointPages,
    'walAutocheckpointPages',
    DEFAULT_WAL_AUTOCHECKPOINT_PAGES,
    1,
    MAX_WAL_AUTOCHECKPOINT_PAGES,
  );
  const readonly = options.readonly === true;
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
    if (!readonly && path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('temp_store = MEMORY');
    db.pragma(`cache_size = -${cacheSizeMiB * 1024}`);
    // Reads of mapped pages skip the read() call and the copy into the page cache: a history
    // page touches some forty scattered pages of a large file (see README "Memory").
    if (path !== ':memory:') db.pragma(`mmap_size = ${mmapSizeMiB * 1024 * 1024}`);
    // Checkpoints copy the WAL into the file and fsync twice; at SQLite's 1,000 pages a context
    // create paid one every ~90 calls and a 1,000-turn append one every batch or two, each
    // copying hot index and rollup pages again (README "Memory").
    if (!readonly) db.pragma(`wal_autocheckpoint = ${walAutocheckpointPages}`);
    db.function('cvk_month', { deterministic: true }, (ms) => bucketStart('month', Number(ms)));
    // The k-th id of a deferred expiry's range, for reads that cannot write the events out (expiry.ts).
    db.function(
      'cvk_ulid_add',
      { deterministic: true },
      (first, k) => ulidAdd(String(first), Number(k)) ?? null,
    );
    db.function('cvk_hist_merge', { deterministic: true }, mergeHist);
    db.aggregate('cvk_hist_sum', { deterministic: true, ...histSum });
    db.function('cvk_sum_below', { deterministic: true }, (blob, limit) =>
      sumBelow(blob as Uint8Array, Number(limit)),
    );
    const version = readonly ? checkSchema(db, path) : migrate(db, path);
    // Lets the planner gather the statistics it lacks (bounded work), so range filters that cover
    // most of the table scan it instead of walking an index row by row.
    if (!readonly) db.pragma('optimize = 0x10002');
    return new Connection(db, path, version);
  } catch (error) {
    try {
      db?.close();
    } catch {
      // already failing; the original error is the one to report
    }
    throw sqliteError(error, path, 'open');
  }
}

/**
 * Storage over one SQLite database file (better-sqlite3): turns with FTS5 search and hourly
 * rollups, versioned contexts with written-behind access counts, and the audit log. Several
 * processes may open the same file; WAL lets readers run beside one writer and `busyTimeoutMs`
 * bounds how long a writer waits.
 */
export function createSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  const touchFlushMs = nonNegativeInt(options?.touchFlushMs, 'touchFlushMs', 1000, 1);
  const touchFlushMax = nonNegativeInt(options?.touchFlushMax, 'touchFlushMax', 1000, 1);
  const conn = openConnection(options);
  const logger = createLogger('storage-sqlite', options.logger);
  if (conn.openedAtVersion !== SCHEMA_VERSION) {
    const what = conn.openedAtVersion === 0 ? 'sqlite: schema created' : 'sqlite: schema migrated';
    logger.info({ path: conn.path, from: conn.openedAtVersion, to: SCHEMA_VERSION }, what);
  }
  const expiry = createExpiryLedger(conn, logger, options.readonly === true);
  const contexts = createContextStore(conn, {
    clock: options.clock ?? systemClock,
    logger,
    touchFlushMs,
    touchFlushMax,
    expiry,
  });
  // A deferred expiry left by a process that stopped before settling it: resumed here.
  if (!options.readonly && expiry.remaining() > 0) expiry.schedule();

  async function close(): Promise<void> {
    if (conn.closed) return;
    contexts.stop();
    // Deferred expiry left unsettled stays durable: the next open, sweep or audit read resumes it.
    expiry.stop();
    try {
      if (!options.readonly) contexts.flushTouches();
    } catch (error) {
      logger.warn(
        { err: error },
        'sqlite: pending context touches could not be written on close; access counts lost',
      );
    }
    conn.markClosed();
    try {
      if (!options.readonly) conn.db.pragma('optimize');
      conn.db.close();
    } catch (error) {
      throw sqliteError(error, conn.path, 'close');
    }
  }

  return {
    name: 'sqlite',
    contractVersion: STORAGE_CONTRACT_VERSION,
    capabilities: {
      turns: true,
      contexts: true,
      audit: true,
      multiProcess: options.path !== ':memory:',
      durable: options.path !== ':memory:',
    },
    path: options.path,
    turns: createTurnStore(conn),
    contexts: contexts.store,
    audit: createAuditLog(conn, expiry),
    async flush() {
      conn.run('flush', () => contexts.flushTouches());
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
