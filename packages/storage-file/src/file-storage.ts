import { closeSync, ftruncateSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type AuditLog,
  type ContextStore,
  ConvokitError,
  closedError,
  createLogger,
  Metrics,
  STORAGE_CONTRACT_VERSION,
  type Storage,
  type StorageCapabilities,
  systemClock,
  type TurnStore,
} from '@convokit/core';
import { createMemoryStorage, type MemoryMutation, type MemoryStorage } from '@convokit/storage-memory';
import { currentGeneration, fileName, listDirectory } from './files.js';
import { fileError, fsyncDirectory, syncData } from './fs-util.js';
import { guardAudit, guardContexts, guardTurns } from './guarded-stores.js';
import { acquireLock } from './lock.js';
import { LogWriter } from './log-writer.js';
import type {
  CompactionResult,
  FileStorageOptions,
  FileStorageStats,
  FsyncPolicy,
  RecoveryReport,
} from './options.js';
import { type ReadOutcome, readRecords } from './read-records.js';
import { encodeRecord } from './record.js';
import { ReplayBatcher } from './replay-batcher.js';
import { moveTailAside } from './salvage.js';
import { createLog, writeSnapshot } from './snapshot.js';

export interface FileStorage extends Storage {
  readonly name: 'file';
  readonly turns: TurnStore;
  readonly contexts: ContextStore;
  readonly audit: AuditLog;
  /** Absolute path of the store's directory. */
  readonly directory: string;
  readonly readOnly: boolean;
  /** What opening found and repaired (torn tail, stale lock, salvage). */
  readonly recovery: RecoveryReport;
  /** Counters and timings under `file.*`. */
  readonly metrics: Metrics;
  /** Writes a snapshot of the current state and starts a new log; the old generation is removed. */
  compact(): Promise<CompactionResult>;
  /** fsyncs every write made so far, whatever the policy. */
  flush(): Promise<void>;
  stats(): FileStorageStats;
}

const CAPABILITIES: StorageCapabilities = {
  turns: true,
  contexts: true,
  audit: true,
  multiProcess: false,
  durable: true,
};

const DEFAULT_COMPACT_AFTER = 10_000;
const DEFAULT_FSYNC_DELAY_MS = 50;
/** A reader racing a compaction may find a file gone; it starts over this many times. */
const READ_ONLY_ATTEMPTS = 5;

/**
 * Opens (or creates) a file store: the memory engine answers every query; each accepted write is
 * first appended to the log as one JSON line. See the package README for the format and guarantees.
 */
export async function createFileStorage(options: FileStorageOptions): Promise<FileStorage> {
  return openFileStorage(options);
}

function openFileStorage(options: FileStorageOptions): FileStorage {
  if (typeof options?.directory !== 'string' || options.directory.length === 0) {
    throw new ConvokitError('VALIDATION', 'createFileStorage needs a directory', {
      where: 'createFileStorage',
      issues: [{ path: 'directory', message: 'must be a non-empty string' }],
    });
  }
  const policy: FsyncPolicy = options.fsync ?? 'batch';
  if (!['always', 'batch', 'never'].includes(policy)) {
    throw new ConvokitError('VALIDATION', `Unknown fsync policy ${JSON.stringify(policy)}`, {
      where: 'createFileStorage',
      issues: [{ path: 'fsync', message: "must be 'always', 'batch' or 'never'" }],
    });
  }
  const compactOption = options.compactAfterRecords;
  if (
    compactOption !== undefined &&
    compactOption !== false &&
    !(Number.isInteger(compactOption) && compactOption >= 1)
  ) {
    throw new ConvokitError(
      'VALIDATION',
      'compactAfterRecords must be a whole number of at least 1, or false',
      {
        where: 'createFileStorage',
        issues: [{ path: 'compactAfterRecords', message: 'must be a whole number of at least 1, or false' }],
      },
    );
  }
  const delay = options.fsyncDelayMs;
  if (delay !== undefined && !(Number.isFinite(delay) && delay >= 0 && delay <= 60_000)) {
    throw new ConvokitError('VALIDATION', 'fsyncDelayMs must be between 0 and 60000', {
      where: 'createFileStorage',
      issues: [{ path: 'fsyncDelayMs', message: 'must be between 0 and 60000' }],
    });
  }
  if (options.recover !== undefined && options.recover !== 'truncate-after-corruption') {
    throw new ConvokitError('VALIDATION', "recover must be 'truncate-after-corruption' when given", {
      where: 'createFileStorage',
      issues: [{ path: 'recover', message: "must be 'truncate-after-corruption'" }],
    });
  }
  if (options.readOnly && options.recover) {
    throw new ConvokitError('VALIDATION', 'recover needs a writer: it cannot be combined with readOnly', {
      where: 'createFileStorage',
      issues: [{ path: 'recover', message: 'not allowed with readOnly' }],
    });
  }
  const started = performance.now();
  const directory = resolve(options.directory);
  const clock = options.clock ?? systemClock;
  const logger = createLogger('storage-file', options.logger);
  const metrics = options.metrics ?? new Metrics();
  const readOnly = options.readOnly === true;
  const compactAfter = options.compactAfterRecords ?? DEFAULT_COMPACT_AFTER;
  const fsyncDelayMs = options.fsyncDelayMs ?? DEFAULT_FSYNC_DELAY_MS;

  prepareDirectory(directory, options.createDirectory === true && !readOnly);
  const lock = readOnly ? undefined : acquireLock(directory, clock.now());

  let writer: LogWriter | undefined;
  let generation = 0;
  let snapshotBytes = 0;
  let logRecords = 0;
  let closed = false;
  let compactionPending: NodeJS.Immediate | undefined;
  let nextCompactionAt = typeof compactAfter === 'number' ? compactAfter : Number.POSITIVE_INFINITY;

  const journal = (mutation: MemoryMutation): void => {
    if (closed) throw closedError('file');
    if (readOnly || !writer) {
      throw new ConvokitError('STORAGE', `The file storage at ${directory} is open read-only`, {
        adapter: 'file',
        directory,
        reason: 'read-only',
      });
    }
    if (isEmpty(mutation)) return;
    // A caller that never yields to the event loop (awaiting only writes, which resolve at once)
    // would hold a scheduled compaction off without bound: the next write runs it first. The
    // write that made it due is applied by now (each write journals once, then applies at once),
    // and this one is not yet, so the snapshot holds exactly what the old log did.
    if (compactionPending) {
      clearImmediate(compactionPending);
      runScheduledCompaction();
    }
    writer.append(encodeRecord(mutation), 1);
    logRecords++;
    if (logRecords >= nextCompactionAt && !compactionPending && writer.size >= snapshotBytes) {
      // After this write is applied, never inside it: the snapshot must include it.
      compactionPending = setImmediate(runScheduledCompaction);
      compactionPending.unref();
    }
  };

  let memory!: MemoryStorage;
  let recovery!: RecoveryReport;
  try {
    const opened = readOnly
      ? replayReadOnly(directory, () => createMemoryStorage({ clock, journal }))
      : replayForWriting(directory, createMemoryStorage({ clock, journal }), options, clock.now());
    memory = opened.memory;
    recovery = opened.recovery;
    generation = recovery.generation;
    snapshotBytes = opened.snapshotBytes;
    logRecords = recovery.logRecords;
    if (lock?.takenOverFrom) recovery.staleLockTakenOver = lock.takenOverFrom;
    if (!readOnly) {
      const path = join(directory, fileName('log', generation));
      writer = new LogWriter({
        path,
        fd: openLog(path),
        size: opened.logBytes,
        policy,
        batchDelayMs: fsyncDelayMs,
        logger,
        metrics,
      });
    }
  } catch (error) {
    lock?.release();
    throw error;
  }
  recovery.openMs = performance.now() - started;
  reportRecovery(recovery, directory, logger, metrics);
  if (logRecords >= nextCompactionAt && writer && writer.size >= snapshotBytes) {
    compactionPending = setImmediate(runScheduledCompaction);
    compactionPending.unref();
  }

  function check(): void {
    if (closed) throw closedError('file');
  }

  function compactNow(): CompactionResult {
    if (!writer) throw journalRefusal();
    if (writer.failure) throw writer.failure;
    const start = performance.now();
    const next = generation + 1;
    const now = clock.now();
    const logBytesBefore = writer.size;
    const snapshot = writeSnapshot(directory, next, memory.snapshotMutations(), now);
    let fd: number;
    let logBytes: number;
    try {
      logBytes = createLog(directory, next, now).bytes;
      fd = openLog(join(directory, fileName('log', next)));
    } catch (error) {
      // Generation `next` must not survive without its log: a reopen would skip the writes
      // still going to the current log.
      undoGeneration(next);
      throw error;
    }
    const previous = writer;
    writer = new LogWriter({
      path: join(directory, fileName('log', next)),
      fd,
      size: logBytes,
      policy,
      batchDelayMs: fsyncDelayMs,
      logger,
      metrics,
    });
    try {
      previous.close();
    } catch (error) {
      logger.warn(
        { err: error, path: previous.path },
        'closing the previous log failed; its state is in the snapshot',
      );
    }
    const previousGeneration = generation;
    generation = next;
    snapshotBytes = snapshot.bytes;
    logRecords = 0;
    if (typeof compactAfter === 'number') nextCompactionAt = compactAfter;
    for (const kind of ['snapshot', 'log'] as const) {
      const path = join(directory, fileName(kind, previousGeneration));
      try {
        unlinkSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          logger.warn(
            { err: error, path },
            'cannot remove a file of the previous generation; the next open removes it',
          );
        }
      }
    }
    const ms = performance.now() - start;
    metrics.increment('file.compactions');
    metrics.observe('file.compaction', ms);
    logger.info(
      { directory, generation, snapshotBytes: snapshot.bytes, ms },
      'compacted the log into a snapshot',
    );
    return {
      generation,
      snapshotBytes: snapshot.bytes,
      snapshotRecords: snapshot.records,
      logBytesBefore,
      ms,
    };
  }

  function undoGeneration(next: number): void {
    try {
      for (const kind of ['log', 'snapshot'] as const) {
        try {
          unlinkSync(join(directory, fileName(kind, next)));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      fsyncDirectory(directory);
    } catch (error) {
      // A reopen would take generation `next` and skip later writes: stop writing instead.
      writer?.fail(fileError('Cannot undo an interrupted compaction', directory, error));
    }
  }

  function runScheduledCompaction(): void {
    compactionPending = undefined;
    if (closed) return;
    try {
      compactNow();
    } catch (error) {
      metrics.increment('file.compaction_failures');
      if (typeof compactAfter === 'number') nextCompactionAt = logRecords + compactAfter;
      logger.warn(
        { err: error, directory },
        'compaction failed; the log keeps growing and compaction is retried later',
      );
    }
  }

  function journalRefusal(): ConvokitError {
    return new ConvokitError('STORAGE', `The file storage at ${directory} is open read-only`, {
      adapter: 'file',
      directory,
      reason: 'read-only',
    });
  }

  const storage: FileStorage = {
    name: 'file',
    contractVersion: STORAGE_CONTRACT_VERSION,
    capabilities: CAPABILITIES,
    turns: guardTurns(memory.turns, check),
    contexts: guardContexts(memory.contexts, check),
    audit: guardAudit(memory.audit, check),
    directory,
    readOnly,
    recovery,
    metrics,
    async compact() {
      check();
      if (compactionPending) {
        clearImmediate(compactionPending);
        compactionPending = undefined;
      }
      return compactNow();
    },
    async flush() {
      check();
      writer?.flush();
    },
    stats() {
      return {
        generation,
        logRecords,
        logBytes: writer?.size ?? 0,
        snapshotBytes,
        fsync: policy,
        readOnly,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (compactionPending) clearImmediate(compactionPending);
      compactionPending = undefined;
      try {
        writer?.close();
      } finally {
        lock?.release();
        await memory.close();
      }
    },
    async [Symbol.asyncDispose]() {
      await storage.close();
    },
  };
  return storage;
}

function isEmpty(mutation: MemoryMutation): boolean {
  switch (mutation.type) {
    case 'turns.append':
      return mutation.turns.length === 0;
    case 'audit.append':
      return mutation.events.length === 0;
    case 'contexts.delete':
    case 'contexts.expire':
      return mutation.ids.length === 0;
    default:
      return false;
  }
}

function prepareDirectory(directory: string, create: boolean): void {
  if (create) {
    try {
      mkdirSync(directory, { recursive: true });
    } catch (error) {
      throw fileError('Cannot create the storage directory', directory, error, { directory });
    }
  }
  let isDirectory: boolean;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw fileError(
      missing
        ? 'The storage directory does not exist (create it, or pass createDirectory: true)'
        : 'Cannot reach the storage directory',
      directory,
      error,
      { directory, reason: missing ? 'missing' : 'unreachable' },
    );
  }
  if (!isDirectory) {
    throw new ConvokitError('STORAGE', `The storage path ${directory} is not a directory`, {
      path: directory,
      directory,
      reason: 'not-a-directory',
    });
  }
}

function openLog(path: string): number {
  try {
    return openSync(path, 'r+');
  } catch (error) {
    throw fileError('Cannot open the log for writing', path, error);
  }
}

interface Replayed {
  memory: MemoryStorage;
  recovery: RecoveryReport;
  snapshotBytes: number;
  /** Size of the current log after any repair: where the next record goes. */
  logBytes: number;
}

function emptyRecovery(generation: number): RecoveryReport {
  return {
    generation,
    snapshotRecords: 0,
    logRecords: 0,
    tornRecordsDropped: 0,
    tornBytesDropped: 0,
    logRecreated: false,
    removedFiles: [],
    openMs: 0,
  };
}

/** Reads the generation's snapshot (if any) and then its log (if `hasLog`) into the engine. */
function replayGeneration(
  directory: string,
  generation: number,
  hasLog: boolean,
  mode: 'log' | 'salvage',
  batcher: ReplayBatcher,
): { snapshot?: ReadOutcome; log?: ReadOutcome } {
  let snapshot: ReadOutcome | undefined;
  if (generation > 0) {
    const path = join(directory, fileName('snapshot', generation));
    snapshot = readRecords(path, 'snapshot', generation, 'snapshot', batcher.apply);
    batcher.flush();
  }
  let log: ReadOutcome | undefined;
  if (hasLog) {
    log = readRecords(join(directory, fileName('log', generation)), 'log', generation, mode, batcher.apply);
    batcher.flush();
  }
  return { ...(snapshot ? { snapshot } : {}), ...(log ? { log } : {}) };
}

/** Replays snapshot + log under the writer lock, repairing what a crash leaves behind. */
function replayForWriting(
  directory: string,
  memory: MemoryStorage,
  options: FileStorageOptions,
  now: number,
): Replayed {
  const listing = listDirectory(directory);
  const generation = currentGeneration(directory, listing);
  const recovery = emptyRecovery(generation);
  const hasLog = listing.logs.includes(generation);
  const mode = options.recover === 'truncate-after-corruption' ? 'salvage' : 'log';
  const { snapshot, log } = replayGeneration(directory, generation, hasLog, mode, new ReplayBatcher(memory));
  recovery.snapshotRecords = snapshot?.records ?? 0;
  const snapshotBytes = snapshot?.fileBytes ?? 0;
  const logPath = join(directory, fileName('log', generation));
  let logBytes: number;
  if (log) {
    recovery.logRecords = log.records;
    logBytes = log.fileBytes;
    if (log.corrupt) {
      recovery.salvaged = {
        path: logPath,
        ...log.corrupt,
        keptRecords: log.records,
        ...moveTailAside(logPath, log.corrupt.offset, now),
      };
      logBytes = log.corrupt.offset;
    } else if (log.torn) {
      truncate(logPath, log.torn.offset);
      recovery.tornRecordsDropped = 1;
      recovery.tornBytesDropped = log.torn.bytes;
      recovery.tornRecord = { path: logPath, ...log.torn };
      logBytes = log.torn.offset;
    }
  } else {
    // Generation 0 on a new directory, or a compaction interrupted between its two renames.
    logBytes = createLog(directory, generation, now).bytes;
    recovery.logRecreated = generation > 0;
  }
  for (const old of listing.snapshots.filter((g) => g < generation))
    removeFile(directory, fileName('snapshot', old), recovery);
  for (const old of listing.logs.filter((g) => g < generation))
    removeFile(directory, fileName('log', old), recovery);
  for (const name of listing.temporary) removeFile(directory, name, recovery);
  return { memory, recovery, snapshotBytes, logBytes };
}

/** Replays without the lock and without touching a file; starts over if a compaction races it. */
function replayReadOnly(directory: string, createMemory: () => MemoryStorage): Replayed {
  for (let attempt = 1; ; attempt++) {
    const memory = createMemory();
    try {
      const listing = listDirectory(directory);
      const generation = currentGeneration(directory, listing);
      const recovery = emptyRecovery(generation);
      const hasLog = generation > 0 || listing.logs.includes(0);
      const { snapshot, log } = replayGeneration(
        directory,
        generation,
        hasLog,
        'log',
        new ReplayBatcher(memory),
      );
      recovery.snapshotRecords = snapshot?.records ?? 0;
      const snapshotBytes = snapshot?.fileBytes ?? 0;
      if (log) {
        const logPath = join(directory, fileName('log', generation));
        recovery.logRecords = log.records;
        if (log.torn) {
          // A writer may be in the middle of this very record; it is not ours to cut.
          recovery.tornRecordsDropped = 1;
          recovery.tornBytesDropped = log.torn.bytes;
          recovery.tornRecord = { path: logPath, ...log.torn };
        }
      }
      return { memory, recovery, snapshotBytes, logBytes: 0 };
    } catch (error) {
      void memory.close();
      const vanished = ConvokitError.is(error) && error.details.errno === 'ENOENT';
      if (!vanished || attempt >= READ_ONLY_ATTEMPTS) throw error;
    }
  }
}

function truncate(path: string, size: number): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r+');
    ftruncateSync(fd, size);
    syncData(fd);
  } catch (error) {
    throw fileError('Cannot cut the torn record off the log', path, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function removeFile(directory: string, name: string, recovery: RecoveryReport): void {
  try {
    unlinkSync(join(directory, name));
    recovery.removedFiles.push(name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw fileError('Cannot remove a leftover file', join(directory, name), error);
    }
  }
}

function reportRecovery(
  recovery: RecoveryReport,
  directory: string,
  logger: ReturnType<typeof createLogger>,
  metrics: Metrics,
): void {
  metrics.increment('file.records_replayed', recovery.snapshotRecords + recovery.logRecords);
  metrics.observe('file.open', recovery.openMs);
  if (recovery.tornRecord) {
    metrics.increment('file.torn_records_dropped', recovery.tornRecordsDropped);
    logger.warn({ directory, tornRecord: recovery.tornRecord }, 'dropped a torn final record of the log');
  }
  if (recovery.staleLockTakenOver) {
    metrics.increment('file.stale_locks_taken_over');
    logger.warn(
      { directory, previousHolder: recovery.staleLockTakenOver },
      'took over the lock of a writer that is gone',
    );
  }
  if (recovery.salvaged) {
    metrics.increment('file.salvages');
    logger.warn({ directory, salvaged: recovery.salvaged }, 'moved a damaged part of the log aside');
  }
  if (recovery.logRecreated) {
    logger.warn(
      { directory, generation: recovery.generation },
      're-created the log of an interrupted compaction',
    );
  }
  if (recovery.removedFiles.length > 0) {
    logger.info({ directory, removed: recovery.removedFiles }, 'removed files of older generations');
  }
}
