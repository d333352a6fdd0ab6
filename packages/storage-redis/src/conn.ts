import { type Clock, ConvokitError, closedError, type Logger } from '@convokit/core';
import type { Redis } from 'ioredis';

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ScriptingRedis extends Redis {
  ckCreate(...args: string[]): Promise<number>;
  ckUpdate(...args: string[]): Promise<string[]>;
  ckTouch(...args: string[]): Promise<number>;
  ckDelete(...args: string[]): Promise<(number | string)[]>;
  ckSweep(...args: string[]): Promise<string[][]>;
  ckAuditAppend(...args: string[]): Promise<string[]>;
}

/** What the stores of one Redis storage share: the client, the key prefix, the clock, the call wrapper. */
export class Conn {
  readonly redis: ScriptingRedis;
  readonly prefix: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly server: ServerAddress;
  readonly #deadlineMs: number;
  #closed = false;

  constructor(init: {
    redis: ScriptingRedis;
    prefix: string;
    clock: Clock;
    log: Logger;
    server: ServerAddress;
    deadlineMs: number;
  }) {
    this.redis = init.redis;
    this.prefix = init.prefix;
    this.clock = init.clock;
    this.log = init.log;
    this.server = init.server;
    this.#deadlineMs = init.deadlineMs;
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
      if (ConvokitError.is(error)) throw error;
      const where = `${this.server.host}:${this.server.port}`;
      const reason = error instanceof Error ? error.message : String(error);
      this.log.warn({ op, err: reason }, 'storage call failed');
      throw new ConvokitError(
        'STORAGE',
        `Redis at ${where}: ${op} failed: ${reason}`,
        { adapter: 'redis', op, host: this.server.host, port: this.server.port },
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
