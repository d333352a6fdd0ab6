import { closeSync, ftruncateSync } from 'node:fs';
import type { ConvokitError, Logger, Metrics } from '@convokit/core';
import { fileError, syncData, writeAllSync } from './fs-util.js';

export type FsyncPolicy = 'always' | 'batch' | 'never';

/**
 * Appends records to the open log. Each `append` is one positioned write of whole lines, so a
 * record is either entirely in the file or (after a crash mid-write) a torn tail that replay
 * drops. A failed write is cut back off the file at once, so no half record is ever followed by
 * a good one.
 */
export class LogWriter {
  readonly path: string;
  #fd: number;
  #size: number;
  #records = 0;
  #dirty = false;
  /** When the oldest write not yet fsync'd under `batch` was made (performance.now()). */
  #dirtySince = 0;
  #timer: NodeJS.Timeout | undefined;
  #failure: ConvokitError | undefined;
  readonly #policy: FsyncPolicy;
  readonly #batchDelayMs: number;
  readonly #logger: Logger;
  readonly #metrics: Metrics;

  constructor(options: {
    path: string;
    fd: number;
    size: number;
    policy: FsyncPolicy;
    batchDelayMs: number;
    logger: Logger;
    metrics: Metrics;
  }) {
    this.path = options.path;
    this.#fd = options.fd;
    this.#size = options.size;
    this.#policy = options.policy;
    this.#batchDelayMs = options.batchDelayMs;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
  }

  get size(): number {
    return this.#size;
  }

  /** Records appended through this writer. */
  get records(): number {
    return this.#records;
  }

  /** Set once a write or fsync failed in a way that leaves the file's state unknown. */
  get failure(): ConvokitError | undefined {
    return this.#failure;
  }

  /** Writes `buf` (whole lines); returns once it is in the file (and fsync'd under `always`). */
  append(buf: Buffer, records: number): void {
    if (this.#failure) throw this.#failure;
    // The timer alone would let a caller that never yields to the event loop (awaiting only
    // resolved writes) hold the fsync off without bound: a write finding the window overdue
    // fsyncs the earlier ones first (and fails before writing if that fsync fails).
    if (
      this.#policy === 'batch' &&
      this.#dirty &&
      performance.now() - this.#dirtySince >= this.#batchDelayMs
    ) {
      this.flush();
    }
    const before = this.#size;
    try {
      writeAllSync(this.#fd, buf, before);
    } catch (error) {
      this.#rollBack(before, error);
      throw fileError('Cannot append to the log', this.path, error);
    }
    if (this.#policy === 'always') {
      try {
        this.#sync();
      } catch (error) {
        // After a failed fsync the kernel may have dropped the pages; a retry could falsely
        // succeed. Cut the unacknowledged record off and refuse further writes.
        this.#rollBack(before, error);
        throw this.#fail(fileError('Cannot fsync the log', this.path, error));
      }
    }
    this.#size = before + buf.length;
    this.#records += records;
    this.#metrics.increment('file.records_written', records);
    this.#metrics.increment('file.bytes_written', buf.length);
    if (this.#policy === 'batch') {
      this.#dirty = true;
      if (!this.#timer) {
        this.#dirtySince = performance.now();
        this.#timer = setTimeout(() => this.#timedSync(), this.#batchDelayMs);
        this.#timer.unref();
      }
    } else if (this.#policy === 'never') {
      this.#dirty = true;
    }
  }

  /** fsyncs what was written and not yet synced. Throws `STORAGE` if the disk refuses. */
  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#failure) throw this.#failure;
    if (!this.#dirty) return;
    try {
      this.#sync();
      this.#dirty = false;
    } catch (error) {
      throw this.#fail(fileError('Cannot fsync the log', this.path, error));
    }
  }

  /** Stops the timer, fsyncs pending writes and closes the file; safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    try {
      if (!this.#failure) this.flush();
    } finally {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }

  /** Marks the writer unusable: every later append throws `cause`. */
  fail(cause: ConvokitError): void {
    this.#fail(cause);
  }

  #sync(): void {
    const start = performance.now();
    syncData(this.#fd);
    this.#metrics.increment('file.fsyncs');
    this.#metrics.observe('file.fsync', performance.now() - start);
  }

  #timedSync(): void {
    this.#timer = undefined;
    try {
      this.flush();
    } catch (error) {
      // Already recorded as the writer's failure; every later write reports it.
      this.#logger.error(
        { err: error, path: this.path },
        'fsync of the log failed; the store refuses further writes',
      );
    }
  }

  #rollBack(size: number, cause: unknown): void {
    try {
      ftruncateSync(this.#fd, size);
    } catch (truncateError) {
      // The file may end in a partial record: replay will drop it as a torn tail, provided nothing
      // is appended after it, so this writer stops here.
      this.#fail(
        fileError('Cannot cut a failed write off the log', this.path, truncateError, {
          writeError: String(cause),
        }),
      );
    }
  }

  #fail(error: ConvokitError): ConvokitError {
    if (!this.#failure) {
      this.#failure = error;
      this.#metrics.increment('file.write_failures');
    }
    return this.#failure;
  }
}
