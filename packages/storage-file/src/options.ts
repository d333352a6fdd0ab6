import type { Clock, Logger, Metrics } from '@convokit/core';
import type { LockHolder } from './lock.js';
import type { FsyncPolicy } from './log-writer.js';
import type { SalvageReport } from './salvage.js';

export type { FsyncPolicy } from './log-writer.js';

export interface FileStorageOptions {
  /** The store's directory. It must exist unless `createDirectory` is set. */
  directory: string;
  /** Create `directory` (and its parents) when missing. Default `false`: a typo fails loudly. */
  createDirectory?: boolean;
  /** Time source for context expiry and file headers; default the system clock. */
  clock?: Clock;
  /**
   * When a write reaches the disk (every write reaches the file before its promise resolves):
   * - `always`: fsync before the write resolves; survives power loss once resolved.
   * - `batch` (default): fsync at most `fsyncDelayMs` after the write; a power loss may lose
   *   the writes of that window, a process crash loses nothing resolved.
   * - `never`: the OS decides (and `close()` fsyncs); a process crash loses nothing resolved.
   */
  fsync?: FsyncPolicy;
  /** The bound on the `batch` window, in ms. Default 50. */
  fsyncDelayMs?: number;
  /**
   * Compact (write a snapshot, start a new log) once the log holds this many records and is at
   * least as large as the last snapshot. `false` compacts only when `compact()` is called.
   * Default 10,000.
   */
  compactAfterRecords?: number | false;
  /**
   * Open without the writer lock, replaying what is on disk now. Every write rejects with
   * `STORAGE` (`reason: 'read-only'`); the files are never changed. Reopen to see newer writes.
   */
  readOnly?: boolean;
  /**
   * What to do with a damaged record before the end of the log. Default: refuse to open
   * (`STORAGE` naming file and line). `truncate-after-corruption` keeps the records before it,
   * moves it and everything after into `<log>.corrupt-<time>`, and reports that in `recovery`.
   */
  recover?: 'truncate-after-corruption';
  /** pino logger; silent when absent. Conversation text and context values are redacted. */
  logger?: Logger;
  /** Where counters and timings go (`file.*`); a fresh `Metrics` when absent. */
  metrics?: Metrics;
}

/** What opening the store found and repaired. */
export interface RecoveryReport {
  /** The generation opened (number of compactions the store has been through). */
  generation: number;
  /** Records replayed from the snapshot and from the log. */
  snapshotRecords: number;
  logRecords: number;
  /** 1 when the final record of the log was incomplete or damaged and was dropped, else 0. */
  tornRecordsDropped: number;
  tornBytesDropped: number;
  /** Where the dropped record was. */
  tornRecord?: { path: string; line: number; offset: number; bytes: number; reason: string };
  /** The dead writer whose lock was taken over. */
  staleLockTakenOver?: LockHolder;
  /** With `recover: 'truncate-after-corruption'`: what was kept and moved aside. */
  salvaged?: SalvageReport;
  /** The log of the current generation was missing (a compaction was interrupted) and re-created. */
  logRecreated: boolean;
  /** Files of older generations and temporary files removed on open. */
  removedFiles: string[];
  /** Time spent opening, ms. */
  openMs: number;
}

export interface CompactionResult {
  generation: number;
  snapshotBytes: number;
  snapshotRecords: number;
  /** Log bytes the compaction replaced. */
  logBytesBefore: number;
  ms: number;
}

export interface FileStorageStats {
  generation: number;
  /** Records in the current log (replayed at open plus written since). */
  logRecords: number;
  logBytes: number;
  snapshotBytes: number;
  fsync: FsyncPolicy;
  readOnly: boolean;
}
