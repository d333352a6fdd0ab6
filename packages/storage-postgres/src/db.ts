import { type Clock, closedError, type Logger } from '@convokit/core';
import type { Sql } from 'postgres';
import { type ServerAddress, toStorageError } from './errors.js';
import { migrate } from './migrations.js';

export type PgSql = Sql<Record<string, never>>;

/** What every store of one storage shares: the pool, the schema, the clock, and the run wrapper. */
export class Db {
  readonly sql: PgSql;
  /** Quoted schema name, spliced into statements. */
  readonly S: string;
  readonly schema: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly server: ServerAddress;
  #closed = false;
  #ready: Promise<void> | undefined;

  constructor(init: {
    sql: PgSql;
    schema: string;
    S: string;
    clock: Clock;
    log: Logger;
    server: ServerAddress;
  }) {
    this.sql = init.sql;
    this.schema = init.schema;
    this.S = init.S;
    this.clock = init.clock;
    this.log = init.log;
    this.server = init.server;
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
      this.#ready = migrate(this.sql, this.schema, this.S).then(
        (applied) => {
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

  /** Runs `fn` after migration, mapping every driver failure to STORAGE/LOCKED naming the server. */
  async run<T>(op: string, fn: (sql: PgSql) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError('postgres');
    await this.ready();
    try {
      return await fn(this.sql);
    } catch (error) {
      const mapped = toStorageError(error, op, this.server);
      if (mapped !== error)
        this.log.warn({ op, code: mapped.code, err: mapped.message }, 'storage call failed');
      throw mapped;
    }
  }

  /** Like `run`, inside one transaction. */
  tx<T>(op: string, fn: (sql: PgSql) => Promise<T>): Promise<T> {
    return this.run(op, (sql) => sql.begin((tx) => fn(tx as unknown as PgSql)) as Promise<T>);
  }
}
