import { DAY_MS, HOUR_MS, latencyBucket, type Turn } from '@convokit/core';
import type Database from 'better-sqlite3';

/**
 * Hourly pre-aggregates per dimension value, written in the same transaction as the turns they
 * count. Every stored measure is additive across hours (sums, counts, min/max, histogram bucket
 * counts), so any hour-aligned range merges exactly to what a scan of the base table gives.
 */
export const ROLLUP_DIMS = ['persona', 'outcome', 'framework', 'tool', 'mcpServer'] as const;
export type RollupDim = (typeof ROLLUP_DIMS)[number];
/** The `dim` of the rollup over all turns. */
export const ALL_DIM = '';
/** Past every valid `at` (EpochMsSchema stops at 8.64e15), day-aligned. */
export const END_OF_TIME = 8.64e15 + 86_400_000;

interface Delta {
  dim: string;
  hour: number;
  key: string;
  count: number;
  errors: number;
  tokensIn: number;
  tokensOut: number;
  feedbackSum: number;
  feedbackCount: number;
  latencyCount: number;
  latencySum: number;
  latencyMin: number | null;
  latencyMax: number | null;
  firstAt: number;
  lastAt: number;
  buckets: Map<number, number>;
}

/** The fields of a turn that rollups read (a Turn, or a stored row mapped to this shape). */
export type RollupTurn = Pick<
  Turn,
  'at' | 'persona' | 'outcome' | 'frameworks' | 'tools' | 'mcpServers' | 'latencyMs' | 'tokens' | 'feedback'
>;

export class RollupBatch {
  readonly #deltas = new Map<string, Delta>();
  /** Latency buckets per (dim, day, key): percentiles over whole days read 24x fewer rows. */
  readonly #dayBuckets = new Map<
    string,
    { dim: string; day: number; key: string; buckets: Map<number, number> }
  >();

  add(turn: RollupTurn): void {
    const hour = turn.at - (turn.at % HOUR_MS);
    this.#addTo(ALL_DIM, '', hour, turn);
    this.#addTo('persona', turn.persona ?? '', hour, turn);
    this.#addTo('outcome', turn.outcome, hour, turn);
    for (const name of turn.frameworks) this.#addTo('framework', name, hour, turn);
    for (const name of turn.tools) this.#addTo('tool', name, hour, turn);
    for (const name of turn.mcpServers) this.#addTo('mcpServer', name, hour, turn);
  }

  get size(): number {
    return this.#deltas.size;
  }

  /** Adds the batch into the rollup tables (call inside the appending transaction). */
  write(statements: RollupStatements): void {
    for (const d of this.#deltas.values()) {
      statements.upsert.run(
        d.dim,
        d.hour,
        d.key,
        d.count,
        d.errors,
        d.tokensIn,
        d.tokensOut,
        d.feedbackSum,
        d.feedbackCount,
        d.latencyCount,
        d.latencySum,
        d.latencyMin,
        d.latencyMax,
        d.firstAt,
        d.lastAt,
      );
      for (const [bucket, count] of d.buckets)
        statements.upsertBucket.run(d.dim, d.hour, d.key, bucket, count);
    }
    for (const d of this.#dayBuckets.values()) {
      for (const [bucket, count] of d.buckets)
        statements.upsertDayBucket.run(d.dim, d.day, d.key, bucket, count);
    }
    this.#deltas.clear();
    this.#dayBuckets.clear();
  }

  #addTo(dim: string, key: string, hour: number, turn: RollupTurn): void {
    const id = `${dim}\u0000${hour}\u0000${key}`;
    let d = this.#deltas.get(id);
    if (!d) {
      d = {
        dim,
        hour,
        key,
        count: 0,
        errors: 0,
        tokensIn: 0,
        tokensOut: 0,
        feedbackSum: 0,
        feedbackCount: 0,
        latencyCount: 0,
        latencySum: 0,
        latencyMin: null,
        latencyMax: null,
        firstAt: turn.at,
        lastAt: turn.at,
        buckets: new Map(),
      };
      this.#deltas.set(id, d);
    }
    d.count++;
    if (turn.outcome === 'error') d.errors++;
    if (turn.tokens) {
      d.tokensIn += turn.tokens.input;
      d.tokensOut += turn.tokens.output;
    }
    if (turn.feedback !== undefined) {
      d.feedbackSum += turn.feedback;
      d.feedbackCount++;
    }
    if (turn.latencyMs !== undefined) {
      const v = turn.latencyMs;
      d.latencyCount++;
      d.latencySum += v;
      if (d.latencyMin === null || v < d.latencyMin) d.latencyMin = v;
      if (d.latencyMax === null || v > d.latencyMax) d.latencyMax = v;
      const b = latencyBucket(v);
      d.buckets.set(b, (d.buckets.get(b) ?? 0) + 1);
      const day = hour - (hour % DAY_MS);
      const dayId = `${dim}\u0000${day}\u0000${key}`;
      let dayBuckets = this.#dayBuckets.get(dayId);
      if (!dayBuckets) {
        dayBuckets = { dim, day, key, buckets: new Map() };
        this.#dayBuckets.set(dayId, dayBuckets);
      }
      dayBuckets.buckets.set(b, (dayBuckets.buckets.get(b) ?? 0) + 1);
    }
    if (turn.at < d.firstAt) d.firstAt = turn.at;
    if (turn.at > d.lastAt) d.lastAt = turn.at;
  }
}

export interface RollupStatements {
  upsert: Database.Statement;
  upsertBucket: Database.Statement;
  upsertDayBucket: Database.Statement;
}

export function prepareRollupStatements(db: Database.Database): RollupStatements {
  return {
    upsert: db.prepare(`
      INSERT INTO rollups (dim, hour, key, count, errors, tokens_in, tokens_out, feedback_sum, feedback_count,
        latency_count, latency_sum, latency_min, latency_max, first_at, last_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (dim, hour, key) DO UPDATE SET
        count = count + excluded.count,
        errors = errors + excluded.errors,
        tokens_in = tokens_in + excluded.tokens_in,
        tokens_out = tokens_out + excluded.tokens_out,
        feedback_sum = feedback_sum + excluded.feedback_sum,
        feedback_count = feedback_count + excluded.feedback_count,
        latency_count = latency_count + excluded.latency_count,
        latency_sum = latency_sum + excluded.latency_sum,
        latency_min = CASE WHEN latency_min IS NULL THEN excluded.latency_min
          WHEN excluded.latency_min IS NULL THEN latency_min ELSE min(latency_min, excluded.latency_min) END,
        latency_max = CASE WHEN latency_max IS NULL THEN excluded.latency_max
          WHEN excluded.latency_max IS NULL THEN latency_max ELSE max(latency_max, excluded.latency_max) END,
        first_at = min(first_at, excluded.first_at),
        last_at = max(last_at, excluded.last_at)`),
    upsertBucket: db.prepare(`
      INSERT INTO rollup_latency (dim, hour, key, bucket, count) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (dim, hour, key, bucket) DO UPDATE SET count = count + excluded.count`),
    upsertDayBucket: db.prepare(`
      INSERT INTO rollup_latency_day (dim, day, key, bucket, count) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (dim, day, key, bucket) DO UPDATE SET count = count + excluded.count`),
  };
}

interface RollupSourceRow {
  at: number;
  persona: string | null;
  outcome: 'ok' | 'error';
  frameworks: string;
  tools: string;
  mcp_servers: string;
  latency_ms: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  feedback: number | null;
}

/**
 * Recomputes the rollups of every UTC day overlapping [from, to) from the base table (whole
 * days, since day-level histograms cover them): used by the migration that introduced rollups
 * and by `deleteBefore` for the day it cuts through. Call inside a transaction.
 */
export function rebuildRollups(db: Database.Database, from: number, to: number): void {
  const hourFrom = from - (from % DAY_MS);
  const hourTo = to % DAY_MS === 0 ? to : to - (to % DAY_MS) + DAY_MS;
  db.prepare('DELETE FROM rollups WHERE hour >= ? AND hour < ?').run(hourFrom, hourTo);
  db.prepare('DELETE FROM rollup_latency WHERE hour >= ? AND hour < ?').run(hourFrom, hourTo);
  db.prepare('DELETE FROM rollup_latency_day WHERE day >= ? AND day < ?').run(hourFrom, hourTo);
  const statements = prepareRollupStatements(db);
  // Keyset chunks: better-sqlite3 cannot write while a read iterator is open on the connection,
  // and a whole-table `all()` would hold every row in memory at once.
  const select = db.prepare(`
    SELECT seq, at, persona, outcome, frameworks, tools, mcp_servers, latency_ms, tokens_in, tokens_out, feedback
    FROM turns WHERE at >= ? AND at < ? AND seq > ? ORDER BY seq LIMIT 20000`);
  let after = -1;
  for (;;) {
    const rows = select.all(hourFrom, hourTo, after) as Array<RollupSourceRow & { seq: number }>;
    if (rows.length === 0) break;
    const batch = new RollupBatch();
    for (const row of rows) batch.add(rollupTurnOfRow(row));
    batch.write(statements);
    after = rows[rows.length - 1]!.seq;
  }
}

function rollupTurnOfRow(row: RollupSourceRow): RollupTurn {
  return {
    at: row.at,
    outcome: row.outcome,
    frameworks: JSON.parse(row.frameworks),
    tools: JSON.parse(row.tools),
    mcpServers: JSON.parse(row.mcp_servers),
    ...(row.persona !== null ? { persona: row.persona } : {}),
    ...(row.latency_ms !== null ? { latencyMs: row.latency_ms } : {}),
    ...(row.tokens_in !== null ? { tokens: { input: row.tokens_in, output: row.tokens_out ?? 0 } } : {}),
    ...(row.feedback !== null ? { feedback: row.feedback } : {}),
  };
}
