import type { Clock, Logger } from '@convokit/core';

export type SqliteSynchronous = 'OFF' | 'NORMAL' | 'FULL';

export interface SqliteStorageOptions {
  /** Database file, or `':memory:'` for a private in-process database. */
  path: string;
  /** Time source for context expiry when a call gives no `now`; default the system clock. */
  clock?: Clock;
  /** `PRAGMA synchronous` under WAL: `NORMAL` (default) may lose the last commits on power loss, never corrupt. */
  synchronous?: SqliteSynchronous;
  /** How long a write waits for another process's lock before failing with `LOCKED`; default 5000 ms. */
  busyTimeoutMs?: number;
  /** Page cache of this storage's connection, in MiB of the process's own memory; default 64. */
  cacheSizeMiB?: number;
  /**
   * How much of the database file is read through a memory map, in MiB (0 turns it off, at most
   * 2047); default 1024. Mapped pages live in the OS page cache, shared and evictable, not in the
   * process's own memory.
   */
  mmapSizeMiB?: number;
  /**
   * WAL size, in 4 KiB pages, after which a commit copies the WAL into the database file
   * (`PRAGMA wal_autocheckpoint`, at least 1); default 10,000 (about 40 MiB of WAL on disk).
   */
  walAutocheckpointPages?: number;
  /** Open without write access; the database must exist and be at the current schema version. */
  readonly?: boolean;
  /** A pino logger; silent when absent. */
  logger?: Logger;
  /** How long context touches (access counts, sliding expiry) wait in memory before one batched write; default 1000 ms. */
  touchFlushMs?: number;
  /** Flush touches early once this many contexts have pending ones; default 1000. */
  touchFlushMax?: number;
}
