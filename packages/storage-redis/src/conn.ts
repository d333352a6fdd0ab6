import { type Clock, ConvokitError, closedError, type Logger } from '@convokit/core';
import type { ContextCache } from './cache.js';
import type { AdapterRedis } from './client.js';

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ScriptingRedis extends AdapterRedis {
  ckCreate(...args: string[]): Promise<number>;
  ckUpdate(...args: string[]): Promise<string>;
  ckTouch(...args: string[]): Promise<number>;
  ckDelete(...args: string[]): Promise<(number | string)[]>;
  ckSweep(...args: string[]): Promise<string[][]>;
  ckList(...args: string[]): Promise<[string, string, string, ...string[][]]>;
  ckAuditAppend(...args: string[]): Promise<string[]>;
}

/** Unanswered write-behind commands allowed before a caller waits for its own. */
const MAX_BEHIND = 1024;

/** What the stores of one Redis storage share: the client, the key prefix, the clock, the call wrapper. */
export class Conn {
  readonly redis: ScriptingRedis;
  readonly prefix: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly server: ServerAddress;
  /** The client-side context cache, when on. */
  readonly cache: ContextCache | undefined;
  readonly #deadlineMs: number;
  readonly #commandBounded: boolean;
  #closed = false;
  /** Writes sent but not yet answered (see `behind`). */
  readonly #behind = new Set<Promise<void>>();

  constructor(init: {
    redis: ScriptingRedis;
    prefix: string;
    clock: Clock;
    log: Logger;
    server: ServerAddress;
    deadlineMs: number;
    /** Every command fails after a deadline of its own (see AdapterRedis). */
    commandBounded: boolean;
    cache?: ContextCache;
  }) {
    this.redis = init.redis;
    this.prefix = init.prefix;
    this.clock = init.clock;
    this.log = init.log;
    this.server = init.server;
    this.#deadlineMs = init.deadlineMs;
    this.#commandBounded = init.commandBounded;
    this.cache = init.cache;
  }

  get closed(): boolean {
    return this.#closed;
  }

  markClosed(): void {
    this.#closed = true;
  }

  assertOpen(): void {
    if (this.#closed) throw closedError('redis');
  }

  /**
   * Sends a write without waiting for its answer (touches, which the contract lets an adapter
   * write behind). The command goes onto the one connection at once, so every later command of
   * this client runs after it in Redis: this client's next read sees it. A failure is logged,
   * not thrown. Past MAX_BEHIND unanswered writes the caller waits, so a burst cannot queue
   * without bound.
   */
  async behind(op: string, fn: (redis: ScriptingRedis) => Promise<unknown>): Promise<void> {
    const sending = this.one(op, fn);
    this.redis.flush();
    const sent = sending.then(
      () => undefined,
      (error: unknown) => {
        this.log.warn({ op, err: (error as Error).message }, 'write-behind failed');
      },
    );
    if (this.#behind.size >= MAX_BEHIND) return sent;
    this.#behind.add(sent);
    void sent.then(() => this.#behind.delete(sent));
  }

  /** Waits for the answers of every write sent behind (each bounded by the call deadline). */
  async settle(): Promise<void> {
    while (this.#behind.size > 0) await Promise.all([...this.#behind]);
  }

  /**
   * Runs `fn` with a deadline and maps every failure to STORAGE naming the server. ioredis keeps
   * reconnecting in the background, so once the server is back the next call works.
   */
  async run<T>(op: string, fn: (redis: ScriptingRedis) => Promise<T>): Promise<T> {
    this.assertOpen();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.#deadlineMs} ms`)),
        this.#deadlineMs,
      );
      timer.unref();
    });
    try {
      return await Promise.race([fn(this.redis), deadline]);
    } catch (error) {
      throw this.#failure(op, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * `run` for a call that sends exactly one command: the command's own deadline, which starts
   * when the command is queued (also while reconnecting), already bounds it, so the hot paths
   * skip a second timer. Without a command timeout (overridden in the ioredis options) it is `run`.
   */
  async one<T>(op: string, fn: (redis: ScriptingRedis) => Promise<T>): Promise<T> {
    if (!this.#commandBounded) return this.run(op, fn);
    this.assertOpen();
    try {
      return await fn(this.redis);
    } catch (error) {
      throw this.#failure(op, error);
    }
  }

  #failure(op: string, error: unknown): Error {
    if (ConvokitError.is(error)) return error;
    const where = `${this.server.host}:${this.server.port}`;
    const reason = error instanceof Error ? error.message : String(error);
    this.log.warn({ op, err: reason }, 'storage call failed');
    return new ConvokitError(
      'STORAGE',
      `Redis at ${where}: ${op} failed: ${reason}`,
      { adapter: 'redis', op, host: this.server.host, port: this.server.port },
      { cause: error },
    );
  }
}
