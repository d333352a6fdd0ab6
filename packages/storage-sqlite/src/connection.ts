import { closedError } from '@convokit/core';
import type Database from 'better-sqlite3';
import { sqliteError } from './errors.js';

const STATEMENT_CACHE_MAX = 500;

/**
 * One open database plus what every store needs around it: prepared statements cached by SQL
 * text, the closed check, and the error mapping that gives every failure a path and a code.
 */
export class Connection {
  readonly db: Database.Database;
  readonly path: string;
  /** The schema version the database had when opened (0 for a new file). */
  readonly openedAtVersion: number;
  #closed = false;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database, path: string, openedAtVersion: number) {
    this.db = db;
    this.path = path;
    this.openedAtVersion = openedAtVersion;
  }

  get closed(): boolean {
    return this.#closed;
  }

  markClosed(): void {
    this.#closed = true;
    this.#statements.clear();
  }

  prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      if (this.#statements.size >= STATEMENT_CACHE_MAX) this.#statements.clear();
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` if the store is open, mapping any driver failure to a ConvokitError. */
  run<T>(where: string, fn: () => T): T {
    if (this.#closed) throw closedError('sqlite');
    try {
      return fn();
    } catch (error) {
      throw sqliteError(error, this.path, where);
    }
  }

  /** `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so waiting for it honours busy_timeout. */
  write<T>(where: string, fn: () => T): T {
    return this.run(where, () => this.db.transaction(fn).immediate());
  }
}
