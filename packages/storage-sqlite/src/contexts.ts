import {
  type AuditEvent,
  type Clock,
  CONTEXT_STORE_SYNC,
  type Context,
  type ContextChanges,
  ContextChangesSchema,
  type ContextFilter,
  ContextFilterSchema,
  ContextSchema,
  ContextScopeSchema,
  type ContextStore,
  type ContextStoreSync,
  type ContextTouch,
  ConvokitError,
  closedError,
  decodeCursor,
  EpochMsSchema,
  type ExpireAuditCountOptions,
  type ExpireAuditOptions,
  type ExpireDeferredOptions,
  encodeCursor,
  fingerprint,
  type GetContextOptions,
  KeySchema,
  type Logger,
  type PageInput,
  PageSchema,
  validate,
} from '@convokit/core';
import type Database from 'better-sqlite3';
import { auditRows, duplicateIdError, idsJson, insertAuditRows, sharedEvent } from './audit.js';
import type { Connection } from './connection.js';
import { isUniqueViolation } from './errors.js';
import { type ExpiryLedger, PENDING_CUTOFF } from './expiry.js';
import { type ContextRow, contextOfRow } from './rows.js';
import { type PendingTouch, TouchBuffer } from './touch-buffer.js';

const COLUMNS =
  'id, scope, owner_id, session_id, persona, parent_id, data, metadata, version, created_at, updated_at, expires_at, access_count, last_accessed_at';
// A context under a deferred expiry (expiry.ts) is gone whatever the caller's `now`.
const LIVE = `(expires_at IS NULL OR expires_at > max(?, ${PENDING_CUTOFF}))`;
const NOT_DEFERRED = `(expires_at IS NULL OR expires_at > ${PENDING_CUTOFF})`;
const SCOPES: readonly Context['scope'][] = ContextScopeSchema.options;
// Built once: statement lookups are by SQL text, and a fresh template string would be re-hashed on every call.
/** The `expires_at` SELECT_ONE gives a context under a deferred expiry: below every epoch time. */
const DEFERRED = -1;
// A context under a deferred expiry comes back with expires_at DEFERRED: the same columns as a
// plain read (an extra one cost a get about a microsecond, mostly building a wider row object).
const SELECT_ONE = `SELECT ${COLUMNS.replace(
  'expires_at,',
  `CASE WHEN expires_at <= ${PENDING_CUTOFF} THEN ${DEFERRED} ELSE expires_at END AS expires_at,`,
)} FROM contexts WHERE id = ?`;
// Nothing is inserted at or below a deferred cutoff (the last two parameters are the expiry again):
// the caller settles first, so that the deferred rows stay exactly those that had expired.
const INSERT = `INSERT INTO contexts (${COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
  WHERE ? IS NULL OR ? > ${PENDING_CUTOFF} ON CONFLICT (id) DO NOTHING`;
// A pending touch of the context (@touches, @touchAt, @touchExpires) is written by the same
// statement, and its sliding expiry counts for the liveness check: one commit, not two.
const UPDATE = `UPDATE contexts SET
  data = COALESCE(@data, data),
  metadata = COALESCE(@metadata, metadata),
  owner_id = COALESCE(@ownerId, owner_id),
  parent_id = CASE WHEN @setParent THEN @parentId ELSE parent_id END,
  expires_at = CASE WHEN @setExpires THEN @expiresAt ELSE COALESCE(@touchExpires, expires_at) END,
  access_count = access_count + @touches,
  last_accessed_at = COALESCE(@touchAt, last_accessed_at),
  version = version + 1,
  updated_at = @now
WHERE id = @id AND version = @expected
  AND (COALESCE(@touchExpires, expires_at) IS NULL OR COALESCE(@touchExpires, expires_at) > @now)
  AND ${NOT_DEFERRED}
  AND (CASE WHEN @setExpires THEN @expiresAt ELSE COALESCE(@touchExpires, expires_at) END IS NULL
    OR CASE WHEN @setExpires THEN @expiresAt ELSE COALESCE(@touchExpires, expires_at) END > ${PENDING_CUTOFF})
RETURNING ${COLUMNS}`;
/** Settle-and-retry rounds of a write blocked by a deferred cutoff before it gives up. */
const SETTLE_ATTEMPTS = 3;
const DELETE_LIVE = `DELETE FROM contexts WHERE id = ? AND (COALESCE(?, expires_at) IS NULL OR COALESCE(?, expires_at) > ?) AND ${NOT_DEFERRED}`;
// The batch comes off the (expires_at, id) index in order and stops at its limit; the index
// holds the rowid, so the subquery reads nothing else and the rows are then deleted in rowid
// (storage) order rather than looked up by id one by one. RETURNING gives no order, hence the
// sort after. Without values, data and metadata are never read, and rows come back as arrays
// (see summaryOfArray), which better-sqlite3 builds far faster than objects.
const SUMMARY_COLUMNS =
  'id, scope, owner_id, session_id, persona, parent_id, version, created_at, updated_at, expires_at, access_count, last_accessed_at';
const deleteExpiredSql = (columns: string) => `DELETE FROM contexts WHERE rowid IN (
  SELECT rowid FROM contexts WHERE expires_at <= ? AND expires_at > ${PENDING_CUTOFF} ORDER BY expires_at, id LIMIT ?
) RETURNING ${columns}`;
const DELETE_EXPIRED = deleteExpiredSql(COLUMNS);
const DELETE_EXPIRED_SUMMARY = deleteExpiredSql(SUMMARY_COLUMNS);

// deleteExpiredAuditedCount: the batch (rowid, id, scope, version, numbered in expiry order) goes
// into a connection-private table, the events are inserted from it joined with the caller's ids
// (json_each), and its rows are deleted by rowid: no row reaches JavaScript.
const SWEEP_TABLE =
  'CREATE TEMP TABLE IF NOT EXISTS cvk_sweep (k INTEGER PRIMARY KEY, rid INTEGER NOT NULL, id TEXT NOT NULL, scope TEXT NOT NULL, version INTEGER NOT NULL)';
const SWEEP_FILL = `INSERT INTO temp.cvk_sweep (k, rid, id, scope, version)
  SELECT row_number() OVER (ORDER BY expires_at, id) - 1, rowid, id, scope, version FROM (
    SELECT rowid, id, scope, version, expires_at FROM contexts
    WHERE expires_at <= ? AND expires_at > ${PENDING_CUTOFF} ORDER BY expires_at, id LIMIT ?)`;
const SWEEP_AUDIT = `INSERT INTO audit (id, at, principal, action, context_id, scope, outcome, changed_keys, attempted_action, version)
  SELECT j.value, @at, @principal, @action, b.id, b.scope, @outcome, @keys, NULL, b.version
  FROM json_each(@ids) AS j JOIN temp.cvk_sweep AS b ON b.k = j.key`;
const SWEEP_DELETE = 'DELETE FROM contexts WHERE rowid IN (SELECT rid FROM temp.cvk_sweep)';
const SWEEP_CLEAR = 'DELETE FROM temp.cvk_sweep';

type SummaryArray = [
  id: string,
  scope: Context['scope'],
  ownerId: string | null,
  sessionId: string | null,
  persona: string | null,
  parentId: string | null,
  version: number,
  createdAt: number,
  updatedAt: number,
  expiresAt: number | null,
  accessCount: number,
  lastAccessedAt: number,
];

type ContextSummary = Omit<Context, 'data' | 'metadata'>;

/** A SUMMARY_COLUMNS row read raw; optional fields set only when not null, as contextOfRow does. */
function summaryOfArray(r: SummaryArray): ContextSummary {
  const c: ContextSummary = {
    id: r[0],
    scope: r[1],
    version: r[6],
    createdAt: r[7],
    updatedAt: r[8],
    accessCount: r[10],
    lastAccessedAt: r[11],
  };
  if (r[2] !== null) c.ownerId = r[2];
  if (r[3] !== null) c.sessionId = r[3];
  if (r[4] !== null) c.persona = r[4];
  if (r[5] !== null) c.parentId = r[5];
  if (r[9] !== null) c.expiresAt = r[9];
  return c;
}

function byExpiry(a: ContextSummary, b: ContextSummary): number {
  return a.expiresAt! - b.expiresAt! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export interface ContextStoreHandle {
  store: ContextStore;
  /** Writes every pending touch now. */
  flushTouches(): void;
  /** Stops the flush timer (call after a last flush, on close). */
  stop(): void;
}

export interface ContextStoreOptions {
  clock: Clock;
  logger: Logger;
  touchFlushMs: number;
  touchFlushMax: number;
  expiry: ExpiryLedger;
}

function positiveInt(value: unknown, field: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConvokitError('VALIDATION', `Invalid input to ${where}: ${field}: must be a positive integer`, {
      where,
      issues: [{ path: field, message: 'must be a positive integer' }],
    });
  }
  return value;
}

export function createContextStore(conn: Connection, options: ContextStoreOptions): ContextStoreHandle {
  const { clock, logger, expiry } = options;
  const touches = new TouchBuffer();
  let timer: NodeJS.Timeout | undefined;

  function writeTouches(entries: Array<[string, PendingTouch]>): void {
    if (entries.length === 0) return;
    try {
      conn.write('contexts.touch', () => {
        // A sliding expiry at or below a deferred cutoff would join the deferred rows: settle first.
        const cutoff = expiry.cutoff();
        if (cutoff >= 0 && entries.some(([, p]) => p.expiresAt !== undefined && p.expiresAt <= cutoff)) {
          expiry.settleAll('contexts.touch');
        }
        const statement = conn.prepare(
          `UPDATE contexts SET access_count = access_count + ?, last_accessed_at = ?, expires_at = COALESCE(?, expires_at) WHERE id = ? AND ${NOT_DEFERRED}`,
        );
        for (const [id, p] of entries) statement.run(p.count, p.at, p.expiresAt ?? null, id);
      });
    } catch (error) {
      touches.restore(entries);
      throw error;
    }
  }

  /** Before a write or an SQL-filtered read, so the database sees what this process has touched. */
  function flush(id?: string): void {
    if (touches.size === 0) return;
    writeTouches(touches.take(id));
  }

  function onTimer(): void {
    timer = undefined;
    if (conn.closed) return;
    try {
      flush();
    } catch (error) {
      // Kept in the buffer for the next attempt; a read never fails because a touch could not be written.
      logger.warn(
        { err: error, pending: touches.size },
        'sqlite: writing context touches failed; will retry',
      );
      schedule();
    }
  }

  function schedule(): void {
    if (timer || conn.closed) return;
    timer = setTimeout(onTimer, options.touchFlushMs);
    timer.unref();
  }

  function nowOf(value: number | undefined, where: string): number {
    return value === undefined ? clock.now() : validate(EpochMsSchema, value, where);
  }

  // Its own statement, not the connection's cache (shared by SQL text): raw mode is a statement's state.
  let summary: Database.Statement | undefined;
  function summaryStatement(): Database.Statement {
    summary ??= conn.db.prepare(DELETE_EXPIRED_SUMMARY).raw(true);
    return summary;
  }

  /** The stored row, or `undefined` when absent or under a deferred expiry. */
  function readRow(id: string): ContextRow | undefined {
    const row = conn.prepare(SELECT_ONE).get(id) as ContextRow | undefined;
    return row && row.expires_at !== DEFERRED ? row : undefined;
  }

  /** The live context `id` as this process sees it (pending touches merged), or `undefined`. */
  function readLive(id: string, now: number): Context | undefined {
    const row = readRow(id);
    if (!row) return undefined;
    const context = touches.merge(contextOfRow(row));
    return context.expiresAt !== undefined && now >= context.expiresAt ? undefined : context;
  }

  function checkTouch(id: string, touch: ContextTouch): void {
    validate(KeySchema, id, 'contexts.touch');
    validate(EpochMsSchema, touch?.at, 'contexts.touch');
    if (touch.expiresAt !== undefined) validate(EpochMsSchema, touch.expiresAt, 'contexts.touch');
  }

  function recordTouch(id: string, touch: ContextTouch): void {
    lastRead = undefined;
    touches.record(id, touch.at, touch.expiresAt);
    if (touches.size >= options.touchFlushMax) flush();
    else schedule();
  }

  // The last context getNow read, with this connection's change count then. touchNow of the same
  // id takes it instead of reading the row again while that count is unchanged: nothing this
  // process wrote can have changed the row since. A write by another process in between is the
  // race the async pair has too (its get's answer is already out); a touch it then records for a
  // deleted row is written as an UPDATE of no row.
  let lastRead: { id: string; context: Context; changes: number } | undefined;
  let changesStatement: Database.Statement | undefined;
  function changeCount(): number {
    changesStatement ??= conn.db.prepare('SELECT total_changes()').pluck();
    return changesStatement.get() as number;
  }

  const syncSide: ContextStoreSync = {
    getNow(id, now) {
      validate(KeySchema, id, 'contexts.get');
      validate(EpochMsSchema, now, 'contexts.get');
      return conn.run('contexts.get', () => {
        const context = readLive(id, now);
        lastRead = context && { id, context, changes: changeCount() };
        return context;
      });
    },
    touchNow(id, touch) {
      checkTouch(id, touch);
      return conn.run('contexts.touch', () => {
        const known = lastRead;
        lastRead = undefined;
        const base =
          known !== undefined && known.id === id && known.changes === changeCount()
            ? known.context
            : readLive(id, touch.at);
        if (base === undefined || (base.expiresAt !== undefined && touch.at >= base.expiresAt)) {
          return undefined;
        }
        recordTouch(id, touch);
        const touched: Context = { ...base, accessCount: base.accessCount + 1, lastAccessedAt: touch.at };
        if (touch.expiresAt !== undefined) touched.expiresAt = touch.expiresAt;
        return touched;
      });
    },
  };

  function filterSql(filter: ContextFilter, now: number): { clauses: string[]; params: unknown[] } {
    const clauses = [LIVE];
    const params: unknown[] = [now];
    const columns: Array<[keyof ContextFilter, string]> = [
      ['scope', 'scope'],
      ['ownerId', 'owner_id'],
      ['sessionId', 'session_id'],
      ['persona', 'persona'],
      ['parentId', 'parent_id'],
    ];
    for (const [field, column] of columns) {
      if (filter[field] !== undefined) {
        clauses.push(`${column} = ?`);
        params.push(filter[field]);
      }
    }
    return { clauses, params };
  }

  function sweepOptions(
    now: number,
    opts: { limit?: number; values?: boolean },
    where: string,
  ): { limit: number; values: boolean } {
    validate(EpochMsSchema, now, where);
    const limit = opts?.limit === undefined ? -1 : positiveInt(opts.limit, 'limit', where);
    if (opts?.values !== undefined && typeof opts.values !== 'boolean') {
      throw new ConvokitError('VALIDATION', `Invalid input to ${where}: values: must be a boolean`, {
        where,
        issues: [{ path: 'values', message: 'must be a boolean' }],
      });
    }
    return { limit, values: opts?.values !== false };
  }

  /** Deletes one batch of expired contexts (in the caller's run) and returns them in expiry order. */
  function deleteBatch(now: number, limit: number, values: boolean): Array<Context | ContextSummary> {
    if (values) {
      const rows = conn.prepare(DELETE_EXPIRED).all(now, limit) as ContextRow[];
      return rows.map(contextOfRow).sort(byExpiry);
    }
    const rows = summaryStatement().all(now, limit) as SummaryArray[];
    const out = new Array<ContextSummary>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = summaryOfArray(rows[i]!);
    return out.sort(byExpiry);
  }

  /**
   * A page of a list with no filter: there is no (created_at, id) index (schema 10), so each
   * scope's range of contexts_scope gives its first `limit` in order and the outer ORDER BY merges
   * them; at most SCOPES x limit rows are read, whatever the store holds.
   */
  function listAll(clauses: string[], params: unknown[], limit: number): unknown[] {
    const arm = `SELECT * FROM (SELECT ${COLUMNS} FROM contexts WHERE scope = ? AND ${clauses.join(' AND ')} ORDER BY created_at, id LIMIT ?)`;
    const sql = `${SCOPES.map(() => arm).join(' UNION ALL ')} ORDER BY created_at, id LIMIT ?`;
    const args: unknown[] = [];
    for (const scope of SCOPES) args.push(scope, ...params, limit);
    args.push(limit);
    return conn.prepare(sql).all(...args);
  }

  const store: ContextStore = {
    async create(context: Context) {
      const c = validate(ContextSchema, context, 'contexts.create');
      return conn.run('contexts.create', () => {
        flush(c.id);
        const expiresAt = c.expiresAt ?? null;
        const insert = () =>
          conn
            .prepare(INSERT)
            .run(
              c.id,
              c.scope,
              c.ownerId ?? null,
              c.sessionId ?? null,
              c.persona ?? null,
              c.parentId ?? null,
              JSON.stringify(c.data),
              JSON.stringify(c.metadata),
              c.version,
              c.createdAt,
              c.updatedAt,
              expiresAt,
              c.accessCount,
              c.lastAccessedAt,
              expiresAt,
              expiresAt,
            ).changes;
        // Not inserted: the id is taken (by a live context, or one under a deferred expiry), or
        // the expiry is at or below a deferred cutoff. Settling frees the id (its expire event
        // then precedes this create's) and lifts the cutoff; a sweep in another process between
        // the settling and the retry can put it back, hence the few attempts.
        for (let attempt = 0; insert() === 0; attempt++) {
          const taken = conn.prepare(SELECT_ONE).get(c.id) as ContextRow | undefined;
          if ((taken && taken.expires_at !== DEFERRED) || attempt === SETTLE_ATTEMPTS) {
            throw new ConvokitError('CONFLICT', `A context with id ${c.id} already exists`, {
              where: 'contexts.create',
              id: c.id,
            });
          }
          expiry.settleAll('contexts.create');
        }
        return c;
      });
    },

    async get(id: string, opts: GetContextOptions = {}) {
      validate(KeySchema, id, 'contexts.get');
      const now = nowOf(opts.now, 'contexts.get');
      return conn.run('contexts.get', () => readLive(id, now));
    },

    async update(id: string, expectedVersion: number, changes: ContextChanges, now: number) {
      const where = 'contexts.update';
      validate(KeySchema, id, 'contexts.update');
      positiveInt(expectedVersion, 'expectedVersion', 'contexts.update');
      const ch = validate(ContextChangesSchema, changes, 'contexts.update');
      validate(EpochMsSchema, now, 'contexts.update');
      return conn.run(where, () => {
        const pending = touches.get(id);
        const run = () =>
          conn.prepare(UPDATE).get({
            touches: pending?.count ?? 0,
            touchAt: pending?.at ?? null,
            touchExpires: pending?.expiresAt ?? null,
            data: ch.data === undefined ? null : JSON.stringify(ch.data),
            metadata: ch.metadata === undefined ? null : JSON.stringify(ch.metadata),
            ownerId: ch.ownerId ?? null,
            setParent: ch.parentId === undefined ? 0 : 1,
            parentId: ch.parentId ?? null,
            setExpires: ch.expiresAt === undefined ? 0 : 1,
            expiresAt: ch.expiresAt ?? null,
            now,
            id,
            expected: expectedVersion,
          }) as ContextRow | undefined;
        for (let attempt = 0; ; attempt++) {
          const row = run();
          if (row) {
            touches.take(id);
            return contextOfRow(row);
          }
          // A live context at this version not updated: its new expiry is at or below a deferred
          // cutoff (see INSERT). Settle, then try again.
          const current = readRow(id);
          const expiresAt = pending?.expiresAt ?? current?.expires_at ?? null;
          const live = current !== undefined && (expiresAt === null || now < expiresAt);
          if (!live || current.version !== expectedVersion || attempt === SETTLE_ATTEMPTS) break;
          expiry.settleAll(where);
        }
        const current = readRow(id);
        const expiresAt = pending?.expiresAt ?? current?.expires_at ?? null;
        if (!current || (expiresAt !== null && now >= expiresAt)) {
          throw new ConvokitError('NOT_FOUND', `No context with id ${id}`, { where: 'contexts.update', id });
        }
        throw new ConvokitError(
          'CONFLICT',
          `Context ${id} is at version ${current.version}, not ${expectedVersion}`,
          { where: 'contexts.update', id, expectedVersion, actualVersion: current.version },
        );
      });
    },

    async touch(id, touch) {
      checkTouch(id, touch);
      conn.run('contexts.touch', () => {
        const row = conn
          .prepare(`SELECT expires_at FROM contexts WHERE id = ? AND ${NOT_DEFERRED}`)
          .get(id) as { expires_at: number | null } | undefined;
        if (!row) return;
        const expiresAt = touches.get(id)?.expiresAt ?? row.expires_at;
        if (expiresAt !== null && touch.at >= expiresAt) return;
        recordTouch(id, touch);
      });
    },

    async delete(id, opts = {}) {
      validate(KeySchema, id, 'contexts.delete');
      if (opts.expectedVersion !== undefined)
        positiveInt(opts.expectedVersion, 'expectedVersion', 'contexts.delete');
      const now = nowOf(opts.now, 'contexts.delete');
      return conn.run('contexts.delete', () => {
        // A pending sliding expiry decides liveness; the touch itself goes with the context.
        const touchExpires = touches.get(id)?.expiresAt ?? null;
        const versioned = opts.expectedVersion !== undefined;
        const info = conn
          .prepare(versioned ? `${DELETE_LIVE} AND version = ?` : DELETE_LIVE)
          .run(id, touchExpires, touchExpires, now, ...(versioned ? [opts.expectedVersion] : []));
        if (info.changes > 0) {
          touches.take(id);
          return true;
        }
        if (versioned) {
          const current = readRow(id);
          const expiresAt = touchExpires ?? current?.expires_at ?? null;
          if (current && (expiresAt === null || now < expiresAt)) {
            throw new ConvokitError(
              'CONFLICT',
              `Context ${id} is at version ${current.version}, not ${opts.expectedVersion}`,
              {
                where: 'contexts.delete',
                id,
                expectedVersion: opts.expectedVersion,
                actualVersion: current.version,
              },
            );
          }
        }
        return false;
      });
    },

    async list(filter: ContextFilter = {}, opts: PageInput & GetContextOptions = {}) {
      const f = validate(ContextFilterSchema, filter, 'contexts.list');
      const { now: nowInput, ...pageInput } = opts;
      const page = validate(PageSchema, pageInput, 'contexts.list');
      const now = nowOf(nowInput, 'contexts.list');
      const print = fingerprint({ filter: f });
      const where = filterSql(f, now);
      // Only the liveness clause: no column to narrow by.
      const unfiltered = where.clauses.length === 1;
      if (page.cursor) {
        const key = decodeCursor(page.cursor, print, 'contexts.list');
        const [createdAt, id] = key;
        if (key.length !== 2 || typeof createdAt !== 'number' || typeof id !== 'string') {
          throw new ConvokitError(
            'VALIDATION',
            'Invalid cursor for contexts.list: not a cursor this store issued',
            {
              where: 'contexts.list',
              issues: [{ path: 'cursor', message: 'not a cursor this store issued' }],
            },
          );
        }
        // A row value, so that the index's range starts at the cursor instead of being filtered to it.
        where.clauses.push('(created_at, id) > (?, ?)');
        where.params.push(createdAt, id);
      }
      return conn.run('contexts.list', () => {
        flush();
        const rows = (
          unfiltered
            ? listAll(where.clauses, where.params, page.limit + 1)
            : conn
                .prepare(
                  `SELECT ${COLUMNS} FROM contexts WHERE ${where.clauses.join(' AND ')} ORDER BY created_at, id LIMIT ?`,
                )
                .all(...where.params, page.limit + 1)
        ) as ContextRow[];
        const more = rows.length > page.limit;
        const items = (more ? rows.slice(0, page.limit) : rows).map(contextOfRow);
        const last = items[items.length - 1];
        return { items, nextCursor: more && last ? encodeCursor([last.createdAt, last.id], print) : null };
      });
    },

    async count(filter: ContextFilter = {}, opts: GetContextOptions = {}) {
      const f = validate(ContextFilterSchema, filter, 'contexts.count');
      const now = nowOf(opts.now, 'contexts.count');
      const where = filterSql(f, now);
      return conn.run('contexts.count', () => {
        flush();
        const row = conn
          .prepare(`SELECT COUNT(*) AS n FROM contexts WHERE ${where.clauses.join(' AND ')}`)
          .get(...where.params) as { n: number };
        return row.n;
      });
    },

    async deleteExpired(now: number, opts: { limit?: number; values?: boolean } = {}) {
      const { limit, values } = sweepOptions(now, opts, 'contexts.deleteExpired');
      return conn.run('contexts.deleteExpired', () => {
        flush();
        // Typed as whole contexts only to fit the contract's general signature (see core storage.ts).
        return deleteBatch(now, limit, values) as Context[];
      });
    },

    async deleteExpiredAudited(now: number, opts: ExpireAuditOptions) {
      const where = 'contexts.deleteExpiredAudited';
      const { limit, values } = sweepOptions(now, opts, where);
      const { event } = opts;
      if (typeof event !== 'function') {
        throw new ConvokitError('VALIDATION', `Invalid input to ${where}: event: must be a function`, {
          where,
          issues: [{ path: 'event', message: 'must be a function' }],
        });
      }
      // The deletes and their audit rows commit together: a crash or a failure in between (a
      // throwing or invalid event, a stored event id) leaves both as they were.
      let thrown: { error: unknown } | undefined;
      try {
        // Pending touches first, in their own commit: a sweep rolled back must not take a sliding
        // expiry with it (the buffer no longer holds what it flushed).
        conn.run(where, () => flush());
        return conn.write(where, () => {
          const deleted = deleteBatch(now, limit, values);
          const events = new Array<AuditEvent>(deleted.length);
          try {
            for (let i = 0; i < deleted.length; i++) events[i] = event(deleted[i]!);
          } catch (error) {
            thrown = { error };
            throw error;
          }
          insertAuditRows(conn, auditRows(events), where);
          return deleted as Context[];
        });
      } catch (error) {
        // The caller's own error, as it threw it, not wrapped as a storage failure.
        throw thrown ? thrown.error : error;
      }
    },
  };

  Object.defineProperty(store, CONTEXT_STORE_SYNC, { value: syncSide });

  let sweepTable = false;
  store.deleteExpiredAuditedCount = async (now: number, opts: ExpireAuditCountOptions) => {
    const where = 'contexts.deleteExpiredAuditedCount';
    const { limit } = sweepOptions(now, { limit: opts?.limit }, where);
    if (typeof opts?.ids !== 'function') {
      throw new ConvokitError('VALIDATION', `Invalid input to ${where}: ids: must be a function`, {
        where,
        issues: [{ path: 'ids', message: 'must be a function' }],
      });
    }
    const shared = sharedEvent(opts.event, where);
    let thrown: { error: unknown } | undefined;
    try {
      conn.run(where, () => {
        // As deleteExpiredAudited: pending touches in their own commit first. The table is made
        // outside the sweep's transaction, which a rollback would take it away with.
        flush();
        if (!sweepTable) {
          conn.db.exec(SWEEP_TABLE);
          sweepTable = true;
        }
      });
      return conn.write(where, () => {
        // Left empty by every call (cleared at the end, or rolled back with the transaction).
        const n = conn.prepare(SWEEP_FILL).run(now, limit).changes;
        if (n === 0) return 0;
        let ids: readonly string[];
        try {
          ids = opts.ids(n);
        } catch (error) {
          thrown = { error };
          throw error;
        }
        const json = idsJson(ids, n, where);
        try {
          conn.prepare(SWEEP_AUDIT).run({ ...shared, ids: json });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          throw duplicateIdError(conn, ids, where);
        }
        conn.prepare(SWEEP_DELETE).run();
        conn.prepare(SWEEP_CLEAR).run();
        return n;
      });
    } catch (error) {
      throw thrown ? thrown.error : error;
    }
  };

  store.deleteExpiredDeferred = async (now: number, opts: ExpireDeferredOptions) => {
    const where = 'contexts.deleteExpiredDeferred';
    validate(EpochMsSchema, now, where);
    const reserveIds = opts?.reserveIds;
    if (typeof reserveIds !== 'function') {
      throw new ConvokitError('VALIDATION', `Invalid input to ${where}: reserveIds: must be a function`, {
        where,
        issues: [{ path: 'reserveIds', message: 'must be a function' }],
      });
    }
    const shared = sharedEvent(opts.event, where);
    let thrown: { error: unknown } | undefined;
    const reserve = (n: number) => {
      try {
        return reserveIds(n);
      } catch (error) {
        thrown = { error };
        throw error;
      }
    };
    try {
      // As deleteExpiredAudited: pending touches in their own commit first.
      conn.run(where, () => flush());
      const n = conn.write(where, () => expiry.record(now, shared, reserve, where));
      // Also when nothing expired: settles what an earlier sweep (maybe another process's, which
      // stopped since) left.
      expiry.schedule();
      return n;
    } catch (error) {
      throw thrown ? thrown.error : error;
    }
  };

  store.settleExpired = async (opts: { maxRows?: number } = {}) => {
    const where = 'contexts.settleExpired';
    const maxRows =
      opts?.maxRows === undefined ? Number.MAX_SAFE_INTEGER : positiveInt(opts.maxRows, 'maxRows', where);
    if (conn.closed) throw closedError('sqlite');
    return expiry.settle(where, maxRows);
  };

  return {
    store,
    flushTouches: () => flush(),
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
