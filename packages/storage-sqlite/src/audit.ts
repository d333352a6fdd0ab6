import {
  type AuditEvent,
  AuditEventSchema,
  type AuditFilter,
  AuditFilterSchema,
  type AuditLog,
  ConvokitError,
  decodeCursor,
  encodeCursor,
  fingerprint,
  isEpochMs,
  isKey,
  type PageInput,
  PageSchema,
  validate,
} from '@convokit/core';
import type { Connection } from './connection.js';
import { isUniqueViolation } from './errors.js';
import { AUDIT_WITH_DEFERRED, type ExpiryLedger } from './expiry.js';
import { type AuditRow, auditOfRow } from './rows.js';

const AuditBatchSchema = AuditEventSchema.array();
const ACTIONS: ReadonlySet<unknown> = new Set(AuditEventSchema.shape.action.options);
const SCOPES: ReadonlySet<unknown> = new Set(AuditEventSchema.shape.scope.options);
const OUTCOMES: ReadonlySet<unknown> = new Set(AuditEventSchema.shape.outcome.options);
const KNOWN: ReadonlySet<string> = new Set(Object.keys(AuditEventSchema.shape));
const FIELDS = 10;
/** Rows per multi-row INSERT at most: 640 parameters, well under SQLite's limit. */
const ROWS_PER_INSERT = 64;
const INSERT_HEAD =
  'INSERT INTO audit (id, at, principal, action, context_id, scope, outcome, changed_keys, attempted_action, version) VALUES ';
const ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
/** The INSERT of `n` rows (1 to ROWS_PER_INSERT), its text built once. */
const INSERT_ROWS: string[] = Array.from({ length: ROWS_PER_INSERT + 1 }, (_, n) =>
  n === 0 ? '' : INSERT_HEAD + Array(n).fill(ROW).join(', '),
);
const INSERT_ONE = INSERT_ROWS[1]!;
/** One row, unless a deferred expiry is pending (then its reserved ids are checked first). */
const INSERT_ONE_UNLESS_DEFERRED = `${INSERT_HEAD.replace(' VALUES ', ' ')}SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
  WHERE NOT EXISTS (SELECT 1 FROM expiry_pending)`;

/**
 * Appends `event`'s row to `params` when it is certainly valid (what AuditEventSchema accepts),
 * reading each field once; false when in doubt, and then the schema decides. A sweep appends an
 * event per expired context, so this runs a hundred thousand times where zod would cost more than
 * the inserts.
 */
function pushRow(params: unknown[], value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return false;
  const v = value as Record<string, unknown>;
  for (const key in v) if (!KNOWN.has(key)) return false;
  const { id, at, principal, action, contextId, scope, outcome, changedKeys, attemptedAction, version } = v;
  if (!isKey(id) || !isEpochMs(at) || !isKey(principal) || !isKey(contextId)) return false;
  if (!ACTIONS.has(action) || !SCOPES.has(scope) || !OUTCOMES.has(outcome)) return false;
  if (attemptedAction !== undefined && !ACTIONS.has(attemptedAction)) return false;
  if (version !== undefined && !(Number.isSafeInteger(version) && (version as number) >= 1)) return false;
  const keys = keysJson(changedKeys);
  if (keys === undefined) return false;
  params.push(
    id,
    at,
    principal,
    action,
    contextId,
    scope,
    outcome,
    keys,
    attemptedAction ?? null,
    version ?? null,
  );
  return true;
}

/** The JSON of a valid `changedKeys`, or undefined when in doubt. */
function keysJson(value: unknown): string | undefined {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return undefined;
  const n = value.length;
  if (n === 0) return '[]';
  if (n > 1000) return undefined;
  for (let i = 0; i < n; i++) {
    const key = value[i];
    if (typeof key !== 'string' || key.length > 256) return undefined;
  }
  return JSON.stringify(value);
}

/** The rows of a batch, flattened (FIELDS parameters each); VALIDATION (the schema's) when one is bad. */
export function auditRows(events: readonly AuditEvent[]): unknown[] {
  const params: unknown[] = [];
  if (Array.isArray(events) && events.every((e) => pushRow(params, e))) return params;
  const valid = validate(AuditBatchSchema, events, 'audit.append');
  params.length = 0;
  for (const e of valid) {
    params.push(
      e.id,
      e.at,
      e.principal,
      e.action,
      e.contextId,
      e.scope,
      e.outcome,
      JSON.stringify(e.changedKeys),
      e.attemptedAction ?? null,
      e.version ?? null,
    );
  }
  return params;
}

const SharedEventSchema = AuditEventSchema.pick({
  at: true,
  principal: true,
  action: true,
  outcome: true,
  changedKeys: true,
});

/** The validated fields every event of a templated batch shares, `changedKeys` as stored (JSON). */
export interface SharedEvent {
  at: number;
  principal: string;
  action: string;
  outcome: string;
  keys: string;
}

export function sharedEvent(value: unknown, where: string): SharedEvent {
  const e = validate(SharedEventSchema, value, where);
  return {
    at: e.at,
    principal: e.principal,
    action: e.action,
    outcome: e.outcome,
    keys: JSON.stringify(e.changedKeys),
  };
}

/**
 * The JSON array of `ids` (what `ids(n)` returned) after checking it holds `n` event ids; one
 * string, so the events are inserted by one statement reading it with json_each.
 */
export function idsJson(ids: unknown, n: number, where: string): string {
  const fail = (message: string) =>
    new ConvokitError('VALIDATION', `Invalid input to ${where}: ids: ${message}`, {
      where,
      issues: [{ path: 'ids', message }],
    });
  if (!Array.isArray(ids)) throw fail('must return an array of event ids');
  if (ids.length !== n) throw fail(`returned ${ids.length} ids for ${n} contexts`);
  for (let i = 0; i < n; i++) if (!isKey(ids[i])) throw fail(`id ${i} is not a valid key`);
  return JSON.stringify(ids);
}

/** After a uniqueness violation inserting `ids`: CONFLICT naming the first one stored or repeated. */
export function duplicateIdError(conn: Connection, ids: readonly string[], where: string): ConvokitError {
  const stored = conn.prepare('SELECT 1 FROM audit WHERE id = ?').pluck();
  const seen = new Set<string>();
  let id: string | undefined;
  for (const candidate of ids) {
    if (seen.has(candidate) || stored.get(candidate) !== undefined) {
      id = candidate;
      break;
    }
    seen.add(candidate);
  }
  return new ConvokitError('CONFLICT', `An audit event with id ${id} is already stored`, { where, id });
}

/** One row per statement: on a duplicate id, names the first event whose insert failed. */
function insertEach(conn: Connection, params: unknown[], where: string): void {
  const insert = conn.prepare(INSERT_ONE);
  for (let o = 0; o < params.length; o += FIELDS) {
    try {
      insert.run(params.slice(o, o + FIELDS));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const id = params[o];
      throw new ConvokitError('CONFLICT', `An audit event with id ${id} is already stored`, { where, id });
    }
  }
}

/** Up to ROWS_PER_INSERT rows per statement, the last statement taking the remainder. */
function insertMany(conn: Connection, params: unknown[]): void {
  const chunk = FIELDS * ROWS_PER_INSERT;
  for (let o = 0; o < params.length; o += chunk) {
    const part = o === 0 && params.length <= chunk ? params : params.slice(o, o + chunk);
    conn.prepare(INSERT_ROWS[part.length / FIELDS]!).run(part);
  }
}

/**
 * Inserts `auditRows` output inside the caller's transaction (which a throw rolls back). A
 * duplicate id fails only its own statement, so the rows from that statement on are inserted one
 * by one to name the first event that is already stored.
 */
export function insertAuditRows(conn: Connection, params: unknown[], where: string): void {
  const chunk = FIELDS * ROWS_PER_INSERT;
  for (let o = 0; o < params.length; o += chunk) {
    const part = o === 0 && params.length <= chunk ? params : params.slice(o, o + chunk);
    try {
      conn.prepare(INSERT_ROWS[part.length / FIELDS]!).run(part);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      insertEach(conn, params.slice(o), where);
    }
  }
}

/** The event ids of `auditRows` output. */
function ids(params: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (let o = 0; o < params.length; o += FIELDS) out.push(params[o]);
  return out;
}

export function createAuditLog(conn: Connection, expiry: ExpiryLedger): AuditLog {
  const each = (params: unknown[]) => insertEach(conn, params, 'audit.append');
  /** Whether the single row went in (false when a deferred expiry is pending: nothing written). */
  const one = (params: unknown[]): boolean => {
    try {
      return conn.prepare(INSERT_ONE_UNLESS_DEFERRED).run(params).changes === 1;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const id = params[0];
      throw new ConvokitError('CONFLICT', `An audit event with id ${id} is already stored`, {
        where: 'audit.append',
        id,
      });
    }
  };
  const many = (params: unknown[]) => insertMany(conn, params);

  // A deferred (read) transaction: its statements see one snapshot.
  const readSnapshot = conn.db.transaction((read: () => AuditRow[]) => read());

  // Made once: better-sqlite3 builds a wrapper per transaction() call, measurable per create.
  const inTransaction = conn.db.transaction((insert: (params: unknown[]) => void, params: unknown[]) =>
    insert(params),
  );

  return {
    async append(events: readonly AuditEvent[]) {
      const params = auditRows(events);
      if (params.length === 0) return conn.run('audit.append', () => undefined);
      // An id a deferred expiry reserved is stored, logically: appending it is a duplicate.
      const checkReserved = () => expiry.checkReserved(ids(params), 'audit.append');
      // One row (each create, update, delete) is one statement, atomic on its own: no BEGIN and
      // COMMIT around it; it skips the reserved-id check when no deferred expiry is pending.
      if (params.length === FIELDS) {
        return conn.run('audit.append', () => {
          if (one(params)) return;
          checkReserved();
          each(params);
        });
      }
      // Larger batches take one transaction, all or nothing.
      conn.run('audit.append', checkReserved);
      try {
        conn.run('audit.append', () =>
          params.length <= FIELDS * ROWS_PER_INSERT ? many(params) : inTransaction.immediate(many, params),
        );
      } catch (error) {
        // A duplicate id inside a multi-row INSERT: nothing was written (one statement or one
        // transaction); the row-by-row pass names the event, as appending one at a time would have.
        if (!isUniqueViolation(ConvokitError.is(error) ? error.cause : error)) throw error;
        conn.run('audit.append', () => inTransaction.immediate(each, params));
      }
    },

    async list(filter: AuditFilter = {}, options: PageInput = {}) {
      const f = validate(AuditFilterSchema, filter, 'audit.list');
      const page = validate(PageSchema, options, 'audit.list');
      const print = fingerprint({ filter: f });
      const clauses: string[] = [];
      const params: unknown[] = [];
      const columns: Array<[keyof AuditFilter, string]> = [
        ['contextId', 'context_id'],
        ['principal', 'principal'],
        ['action', 'action'],
        ['scope', 'scope'],
      ];
      for (const [field, column] of columns) {
        if (f[field] !== undefined) {
          clauses.push(`${column} = ?`);
          params.push(f[field]);
        }
      }
      if (f.from !== undefined) {
        clauses.push('at >= ?');
        params.push(f.from);
      }
      if (f.to !== undefined) {
        clauses.push('at < ?');
        params.push(f.to);
      }
      if (page.cursor) {
        const key = decodeCursor(page.cursor, print, 'audit.list');
        const [at, id] = key;
        if (key.length !== 2 || typeof at !== 'number' || typeof id !== 'string') {
          throw new ConvokitError(
            'VALIDATION',
            'Invalid cursor for audit.list: not a cursor this store issued',
            {
              where: 'audit.list',
              issues: [{ path: 'cursor', message: 'not a cursor this store issued' }],
            },
          );
        }
        clauses.push('(at < ? OR (at = ? AND id < ?))');
        params.push(at, at, id);
      }
      return conn.run('audit.list', () => {
        // Every deferred expire event is written before any audit read (expiry.ts). What is still
        // deferred after that (a read-only connection, another writer holding the lock past
        // busyTimeoutMs, or a sweep by another process since) is read from the deferred rows
        // instead: slower, the same events. The check and the read share one snapshot.
        try {
          expiry.settleAll('audit.list');
        } catch (error) {
          if (!ConvokitError.is(error, 'LOCKED')) throw error;
        }
        const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
        const rows = readSnapshot(() => {
          const table = expiry.remaining() > 0 ? AUDIT_WITH_DEFERRED : 'audit';
          return conn
            .prepare(`SELECT * FROM ${table} ${where} ORDER BY at DESC, id DESC LIMIT ?`)
            .all(...params, page.limit + 1) as AuditRow[];
        });
        const more = rows.length > page.limit;
        const items = (more ? rows.slice(0, page.limit) : rows).map(auditOfRow);
        const last = items[items.length - 1];
        return { items, nextCursor: more && last ? encodeCursor([last.at, last.id], print) : null };
      });
    },
  };
}
