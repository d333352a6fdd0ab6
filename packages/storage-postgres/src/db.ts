import { type Clock, closedError, type Logger } from '@convokit/core';
import type { Sql } from 'postgres';
import { isConnectionLoss, isDroppedConnection, type ServerAddress, toStorageError } from './errors.js';
import { migrate } from './migrations.js';
import { Watchdog } from './watchdog.js';

export type PgSql = Sql<Record<string, never>>;

/** A pool and how to make its replacement after a lost connection (see `Db.#reset`). */
class Lane {
  sql: PgSql;
  constructor(readonly make: () => PgSql) {
    this.sql = make();
  }
}

/** Longest a migration may run (a backfill over many stored turns), whatever the statement timeout. */
const MIGRATE_DEADLINE_MS = 60 * 60_000;

/** What every store of one storage shares: the pool, the schema, the clock, and the run wrapper. */
export class Db {
  readonly #main: Lane;
  /** By-id reads (see `readById`): the main lane unless a connection of their own was given. */
  readonly #byId: Lane;
  readonly #deadlineMs: number;
  readonly #graceSeconds: number;
  /** Quoted schema name, spliced into statements. */
  readonly S: string;
  readonly schema: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly server: ServerAddress;
  #closed = false;
  readonly #watchdog = new Watchdog();
  /** Writes in flight while reads by id have their own connection (see readById). */
  readonly #writes = new Set<Promise<unknown>>();
  #ready: Promise<void> | undefined;
  /** Set once migrated: later calls skip awaiting `ready()`. */
  #migrated = false;

  constructor(init: {
    makeSql: () => PgSql;
    /**
     * A one-connection pool for by-id reads. postgres.js hands a query to the connection idle
     * longest, so one statement at a time rotates over every open connection, each backend waking
     * cold: 8 concurrent gets (one statement, see GetBatcher) ran 4.4k/s over 8 open connections
     * and 8.1k/s over one. Taken out of the pool's size by the caller.
     */
    makeByIdSql?: () => PgSql;
    schema: string;
    S: string;
    clock: Clock;
    log: Logger;
    server: ServerAddress;
    /** No call waits longer than this for the server, whatever the driver does. */
    deadlineMs: number;
  }) {
    this.#main = new Lane(init.makeSql);
    this.#byId = init.makeByIdSql ? new Lane(init.makeByIdSql) : this.#main;
    this.#deadlineMs = init.deadlineMs;
    // Short, so a retired pool never keeps the process alive for long.
    this.#graceSeconds = Math.min(5, init.deadlineMs / 1000);
    this.schema = init.schema;
    this.S = init.S;
    this.clock = init.clock;
    this.log = init.log;
    this.server = init.server;
  }

  /** The current pool. Replaced after a lost connection (see `#reset`). */
  get sql(): PgSql {
    return this.#main.sql;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Throws the contract's closed error; called first by every store method. */
  assertOpen(): void {
    if (this.#closed) throw closedError('postgres');
  }

  markClosed(): void {
    this.#closed = true;
  }

  /** Migrates once; a failed attempt (server down) is retried by the next call. */
  ready(): Promise<void> {
    if (!this.#ready) {
      // A migration that backfills (schema 3's rollups) runs for minutes per million stored turns:
      // it gets a deadline of its own, once per process.
      const deadline = Math.max(this.#deadlineMs, MIGRATE_DEADLINE_MS);
      this.#ready = this.#guard('migrate', (sql) => migrate(sql, this.schema, this.S), deadline).then(
        (applied) => {
          this.#migrated = true;
          if (applied.length > 0) this.log.info({ schema: this.schema, applied }, 'migrated');
        },
        (error: unknown) => {
          this.#ready = undefined;
          throw toStorageError(error, 'migrate', this.server);
        },
      );
    }
    return this.#ready;
  }

  /**
   * Runs `fn` after migration, mapping every driver failure to STORAGE/LOCKED naming the server.
   * A read (`retry: true`) whose open connection dropped is tried once more on a fresh one, so a
   * backend killed while idle in the pool costs nothing; a failure to connect is not retried (the
   * caller hears within the connect timeout), nor is a write (the first attempt may have committed).
   */
  run<T>(
    op: string,
    fn: (sql: PgSql) => Promise<T>,
    options: { retry?: boolean; lane?: Lane } = {},
  ): Promise<T> {
    const call = this.#call(op, fn, options);
    if (options.retry || this.#byId === this.#main) return call;
    // A write, while reads by id have a connection of their own: tracked (see readById).
    this.#writes.add(call);
    const forget = () => this.#writes.delete(call);
    call.then(forget, forget);
    return call;
  }

  async #call<T>(
    op: string,
    fn: (sql: PgSql) => Promise<T>,
    options: { retry?: boolean; lane?: Lane },
  ): Promise<T> {
    if (this.#closed) throw closedError('postgres');
    if (!this.#migrated) await this.ready();
    const lane = options.lane ?? this.#main;
    try {
      try {
        return await this.#guard(op, fn, this.#deadlineMs, lane);
      } catch (error) {
        if (!options.retry || this.#closed || !isDroppedConnection(error)) throw error;
        this.log.debug({ op }, 'connection lost; retrying the read once');
        return await this.#guard(op, fn, this.#deadlineMs, lane);
      }
    } catch (error) {
      const mapped = toStorageError(error, op, this.server);
      if (mapped !== error)
        this.log.warn({ op, code: mapped.code, err: mapped.message }, 'storage call failed');
      throw mapped;
    }
  }

  /**
   * Runs `fn` on the current pool with a deadline. A lost connection or a missed deadline
   * replaces the pool: postgres.js 3.4 can leave a connection that saw ECONNRESET marked busy
   * forever (porsager/postgres#1130), and every later query queued on it would hang.
   */
  async #guard<T>(
    op: string,
    fn: (sql: PgSql) => Promise<T>,
    deadlineMs = this.#deadlineMs,
    lane = this.#main,
  ): Promise<T> {
    const sql = lane.sql;
    try {
      return await this.#watchdog.watch(fn(sql), deadlineMs, () =>
        Object.assign(new Error(`no answer within ${deadlineMs} ms`), { code: 'CONNECT_TIMEOUT' }),
      );
    } catch (error) {
      if (isConnectionLoss(error)) this.#reset(lane, sql, op);
      throw error;
    }
  }

  #reset(lane: Lane, broken: PgSql, op: string): void {
    if (broken !== lane.sql || this.#closed) return;
    this.log.warn({ op }, 'connection lost; replacing the pool');
    lane.sql = lane.make();
    // Calls still running on the old pool get the grace period, then its sockets are destroyed.
    broken.end({ timeout: this.#graceSeconds }).catch(() => {});
  }

  /** Ends the current pool (waiting up to `timeoutSeconds` for running calls). */
  async end(timeoutSeconds: number): Promise<void> {
    const lanes = this.#byId === this.#main ? [this.#main] : [this.#main, this.#byId];
    await Promise.all(lanes.map((lane) => lane.sql.end({ timeout: timeoutSeconds })));
  }

  /** `run` for a statement that changes nothing, retried once on a lost connection. */
  read<T>(op: string, fn: (sql: PgSql) => Promise<T>): Promise<T> {
    return this.run(op, fn, { retry: true });
  }

  /**
   * `read` for a statement by primary key, on the by-id connection when there is one. On its own
   * connection such a read could overtake a write issued before it and still running on the main
   * pool, so it first waits for the writes in flight: a read issued after a write sees it.
   */
  async readById<T>(op: string, fn: (sql: PgSql) => Promise<T>): Promise<T> {
    if (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
    return this.run(op, fn, { retry: true, lane: this.#byId });
  }

  /** Like `run`, inside one transaction. */
  tx<T>(op: string, fn: (sql: PgSql) => Promise<T>): Promise<T> {
    return this.run(op, (sql) => sql.begin((tx) => fn(tx as unknown as PgSql)) as Promise<T>);
  }
}
