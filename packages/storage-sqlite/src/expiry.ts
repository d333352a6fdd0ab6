import { ConvokitError, isUlid, type Logger, ulidAdd } from '@convokit/core';
import type { SharedEvent } from './audit.js';
import type { Connection } from './connection.js';

/**
 * Deferred expiry (`ContextStore.deleteExpiredDeferred`), a logical delete and a vacuum after it.
 *
 * A sweep writes one row to `expiry_pending` (a horizon): every context with
 * `lower < expires_at <= cutoff` is deleted from that commit on, and the k-th of them in expiry
 * order (ties by id) has the event `ulidAdd(first_id, k)` with the horizon's shared fields. No
 * context row is touched. Horizons chain: a later sweep's `lower` is the latest cutoff, so their
 * rows never overlap, and a sweep at or below it finds nothing new.
 *
 * What keeps the row set exact until it is written out: every read and write treats a context
 * with `expires_at <= PENDING_CUTOFF` as absent, whatever its own `now`; and no write may leave
 * another context there (a create, update or touch whose new expiry is at or below the cutoff
 * settles every horizon first). So the rows of a horizon are exactly those that were expired at
 * its sweep, minus those already written out.
 *
 * Settling a horizon, in steps of at most SETTLE_CHUNK rows, each its own transaction: the first rows
 * left in its range (expiry order, so the step's k-th row is the horizon's `done + k`-th) get
 * their audit rows, are deleted, and `done` advances; the last step deletes the horizon. A crash
 * between steps leaves the remaining rows and the count as they were: nothing lost, nothing
 * written twice.
 */

/** The latest cutoff of a deferred expiry, -1 (below every epoch time) when none. */
export const PENDING_CUTOFF = '(SELECT ifnull(max(cutoff), -1) FROM expiry_pending)';

/** Schema 14. */
export const EXPIRY_PENDING_DDL = `
CREATE TABLE IF NOT EXISTS expiry_pending (
  seq INTEGER PRIMARY KEY,
  lower INTEGER NOT NULL,
  cutoff INTEGER NOT NULL,
  total INTEGER NOT NULL,
  done INTEGER NOT NULL,
  first_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  changed_keys TEXT NOT NULL
);`;

/**
 * The audit log with the events of unsettled deferred expiries added, as they will be written: for
 * a read-only connection, which cannot write them out first. Slow (every deferred row, each time);
 * a writable connection settles instead.
 */
export const AUDIT_WITH_DEFERRED = `(
  SELECT id, at, principal, action, context_id, scope, outcome, changed_keys, attempted_action, version FROM audit
  UNION ALL
  SELECT cvk_ulid_add(h.first_id, h.done + row_number() OVER (PARTITION BY h.seq ORDER BY c.expires_at, c.id) - 1),
    h.at, h.principal, h.action, c.id, c.scope, h.outcome, h.changed_keys, NULL, c.version
  FROM expiry_pending AS h JOIN contexts AS c ON c.expires_at > h.lower AND c.expires_at <= h.cutoff
)`;

/** Rows per settling step: short transactions, so other writers wait little. */
export const SETTLE_CHUNK = 2000;
/** After a failed background step (another writer holding the lock too long). */
const RETRY_MS = 250;

const COUNT = 'SELECT count(*) FROM contexts WHERE expires_at > ? AND expires_at <= ?';
const MAX_CUTOFF = 'SELECT max(cutoff) FROM expiry_pending';
const ANY_HORIZON = 'SELECT 1 FROM expiry_pending LIMIT 1';
const HORIZONS = 'SELECT first_id, total FROM expiry_pending';
const FIRST_HORIZON = 'SELECT * FROM expiry_pending ORDER BY seq LIMIT 1';
const RECORD = `INSERT INTO expiry_pending (lower, cutoff, total, done, first_id, at, principal, action, outcome, changed_keys)
  VALUES (@lower, @cutoff, @total, 0, @first, @at, @principal, @action, @outcome, @keys)`;
const STORED_IN_RANGE = 'SELECT id FROM audit WHERE id >= ? AND id <= ?';
const SETTLE_TABLE =
  'CREATE TEMP TABLE IF NOT EXISTS cvk_settle (k INTEGER PRIMARY KEY, rid INTEGER NOT NULL, id TEXT NOT NULL, scope TEXT NOT NULL, version INTEGER NOT NULL)';
const SETTLE_FILL = `INSERT INTO temp.cvk_settle (k, rid, id, scope, version)
  SELECT row_number() OVER (ORDER BY expires_at, id) - 1, rowid, id, scope, version FROM (
    SELECT rowid, id, scope, version, expires_at FROM contexts
    WHERE expires_at > ? AND expires_at <= ? ORDER BY expires_at, id LIMIT ?)`;
const SETTLE_AUDIT = `INSERT INTO audit (id, at, principal, action, context_id, scope, outcome, changed_keys, attempted_action, version)
  SELECT j.value, @at, @principal, @action, b.id, b.scope, @outcome, @keys, NULL, b.version
  FROM json_each(@ids) AS j JOIN temp.cvk_settle AS b ON b.k = j.key`;
const SETTLE_DELETE = 'DELETE FROM contexts WHERE rowid IN (SELECT rid FROM temp.cvk_settle)';
const SETTLE_CLEAR = 'DELETE FROM temp.cvk_settle';

interface HorizonRow {
  seq: number;
  lower: number;
  cutoff: number;
  total: number;
  done: number;
  first_id: string;
  at: number;
  principal: string;
  action: string;
  outcome: string;
  changed_keys: string;
}

export interface ExpiryLedger {
  /** The latest deferred cutoff, -1 when nothing is deferred. */
  cutoff(): number;
  /** Records a deferred expiry inside the caller's write transaction; returns how many expired. */
  record(now: number, shared: SharedEvent, reserveIds: (n: number) => string, where: string): number;
  /**
   * Settles everything: inside the caller's transaction if one is open, else SETTLE_CHUNK rows per
   * transaction. A read-only connection cannot, and leaves it.
   */
  settleAll(where: string): void;
  /** Up to `maxRows` rows in transactions of SETTLE_CHUNK; returns the rows still deferred. */
  settle(where: string, maxRows: number): number;
  /** Rows still deferred. */
  remaining(): number;
  /** CONFLICT when one of `ids` is reserved by a deferred expiry (it is stored, logically). */
  checkReserved(ids: readonly unknown[], where: string): void;
  /** Whether this connection cannot write (and so cannot settle). */
  readonly readonly: boolean;
  /** Settles in the background, a step per turn of the event loop, until nothing is deferred. */
  schedule(): void;
  stop(): void;
}

/** The last id of the range `first`, n ids; undefined when the random part overflows. */
function lastOf(first: string, n: number): string | undefined {
  return ulidAdd(first, n - 1);
}

export function createExpiryLedger(conn: Connection, logger: Logger, readonly: boolean): ExpiryLedger {
  let timer: NodeJS.Timeout | undefined;

  const cutoff = (): number => (conn.prepare(MAX_CUTOFF).pluck().get() as number | null) ?? -1;

  function checkReserved(ids: readonly unknown[], where: string): void {
    const horizons = conn.prepare(HORIZONS).all() as Array<{ first_id: string; total: number }>;
    if (horizons.length === 0) return;
    for (const h of horizons) {
      const last = lastOf(h.first_id, h.total)!;
      for (const id of ids) {
        if (typeof id === 'string' && id >= h.first_id && id <= last && isUlid(id)) {
          throw new ConvokitError('CONFLICT', `An audit event with id ${id} is already stored`, {
            where,
            id,
          });
        }
      }
    }
  }

  function reservation(reserveIds: (n: number) => string, n: number, where: string): string {
    const first: unknown = reserveIds(n);
    const last = isUlid(first) ? lastOf(first, n) : undefined;
    if (last === undefined) {
      const message = `must return the first of ${n} consecutive ULIDs`;
      throw new ConvokitError('VALIDATION', `Invalid input to ${where}: reserveIds: ${message}`, {
        where,
        issues: [{ path: 'reserveIds', message }],
      });
    }
    const f = first as string;
    // Ids of the range already stored, or reserved by a horizon not yet settled.
    const stored = conn.prepare(STORED_IN_RANGE).pluck().all(f, last) as string[];
    const taken = stored.find(isUlid);
    if (taken !== undefined) {
      throw new ConvokitError('CONFLICT', `An audit event with id ${taken} is already stored`, {
        where,
        id: taken,
      });
    }
    const horizons = conn.prepare(HORIZONS).all() as Array<{ first_id: string; total: number }>;
    for (const h of horizons) {
      if (h.first_id <= last && f <= lastOf(h.first_id, h.total)!) {
        // The first id the two ranges share (ids compare as strings).
        let id = f;
        if (h.first_id > f) id = h.first_id;
        throw new ConvokitError('CONFLICT', `An audit event with id ${id} is already stored`, { where, id });
      }
    }
    return f;
  }

  function record(
    now: number,
    shared: SharedEvent,
    reserveIds: (n: number) => string,
    where: string,
  ): number {
    const lower = cutoff();
    if (now <= lower) return 0;
    const total = conn.prepare(COUNT).pluck().get(lower, now) as number;
    if (total === 0) return 0;
    const first = reservation(reserveIds, total, where);
    conn.prepare(RECORD).run({ lower, cutoff: now, total, first, ...shared });
    return total;
  }

  /** Settles up to `maxRows` rows in the caller's write transaction; returns how many it settled. */
  function settleIn(maxRows: number): number {
    conn.db.exec(SETTLE_TABLE);
    let settled = 0;
    while (settled < maxRows) {
      const h = conn.prepare(FIRST_HORIZON).get() as HorizonRow | undefined;
      if (!h) break;
      const budget = maxRows - settled;
      const m = conn.prepare(SETTLE_FILL).run(h.lower, h.cutoff, budget).changes;
      if (m > 0) {
        const ids = new Array<string>(m);
        for (let k = 0; k < m; k++) ids[k] = ulidAdd(h.first_id, h.done + k)!;
        conn.prepare(SETTLE_AUDIT).run({
          at: h.at,
          principal: h.principal,
          action: h.action,
          outcome: h.outcome,
          keys: h.changed_keys,
          ids: JSON.stringify(ids),
        });
        conn.prepare(SETTLE_DELETE).run();
        conn.prepare(SETTLE_CLEAR).run();
      }
      settled += m;
      const done = h.done + m;
      if (m < budget || done >= h.total) {
        if (done !== h.total) {
          // Cannot happen while every writer keeps the invariant (see above); the events written
          // are still each its own row's, in order.
          logger.warn(
            { expected: h.total, settled: done },
            'sqlite: a deferred expiry settled another count',
          );
        }
        conn.prepare('DELETE FROM expiry_pending WHERE seq = ?').run(h.seq);
      } else {
        conn.prepare('UPDATE expiry_pending SET done = ? WHERE seq = ?').run(done, h.seq);
      }
    }
    return settled;
  }

  const remaining = (): number =>
    (conn.prepare('SELECT ifnull(sum(total - done), 0) FROM expiry_pending').pluck().get() as number) ?? 0;

  // Read outside any transaction: when nothing is deferred (nearly always), no write lock is taken.
  const pending = (): boolean => conn.prepare(ANY_HORIZON).get() !== undefined;

  function settle(where: string, maxRows: number): number {
    if (!conn.run(where, pending)) return 0;
    let left = maxRows;
    while (left > 0) {
      const n = conn.write(where, () => settleIn(Math.min(SETTLE_CHUNK, left)));
      if (n === 0) break;
      left -= n;
    }
    return conn.run(where, remaining);
  }

  function settleAll(where: string): void {
    if (!pending()) return;
    if (conn.db.inTransaction) {
      settleIn(Number.MAX_SAFE_INTEGER);
      return;
    }
    if (readonly) return;
    settle(where, Number.MAX_SAFE_INTEGER);
  }

  function onTimer(): void {
    timer = undefined;
    if (conn.closed) return;
    try {
      if (settle('contexts.settleExpired', SETTLE_CHUNK) > 0) schedule();
    } catch (error) {
      logger.warn({ err: error }, 'sqlite: settling deferred expiry failed; will retry');
      schedule(RETRY_MS);
    }
  }

  function schedule(delayMs = 0): void {
    if (timer || conn.closed || readonly) return;
    timer = setTimeout(onTimer, delayMs);
    timer.unref();
  }

  return {
    readonly,
    cutoff,
    record,
    settleAll,
    settle,
    remaining,
    checkReserved,
    schedule,
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
