import { bucketStart, DAY_MS, HOUR_MS, latencyBucket, type Turn } from '@convokit/core';
import type Database from 'better-sqlite3';

/**
 * Hourly and daily pre-aggregates per dimension value, written in the same transaction as the turns they
 * count. Every stored measure is additive across hours (sums, counts, min/max, histogram bucket
 * counts), so any hour-aligned range merges exactly to what a scan of the base table gives.
 */
export const ROLLUP_DIMS = ['persona', 'outcome', 'framework', 'tool', 'mcpServer'] as const;
export type RollupDim = (typeof ROLLUP_DIMS)[number];
/** The `dim` of the rollup over all turns. */
export const ALL_DIM = '';
/** The `dim` of framework pairs (groupBy framework twice). */
export const PAIR_DIM = 'frameworkPair';
/**
 * Two-key dimensions kept in the daily rollups only (no hourly rows, no latency histogram), keyed
 * `first SOH second` with '' for a turn without a user or a persona: (framework, persona) and
 * (user, persona) counts per day, so grouping a range by them reads a row per pair and day
 * instead of every turn. A turn with no framework has no (framework, persona) row.
 */
export const DAY_PAIR_DIMS = {
  frameworkPersona: ['framework', 'persona'],
  userPersona: ['user', 'persona'],
} as const;
export type DayPairDim = keyof typeof DAY_PAIR_DIMS;
/** The WHERE term of the partial index `rollups_day_pairs`, repeated verbatim by queries that use it. */
export const DAY_PAIR_INDEX_TERM = "dim IN ('frameworkPersona', 'userPersona')";

/**
 * Dimensions that also keep weekly rows (`rollups_week`, weeks starting Monday 00:00 UTC as core
 * `bucketStart('week')`): those with histograms, so a 90-day percentile reads 13 rows per key
 * instead of 90, and their blobs once each (schema v8); and framework pairs and (framework,
 * persona), which have many keys per day (v9). Not (user, persona): a row per user and week would
 * cost appends more than it saves.
 */
export const WEEK_DIMS: readonly string[] = ['', ...ROLLUP_DIMS, PAIR_DIM, 'frameworkPersona'];
export const WEEK_MS = 7 * DAY_MS;
const WEEK_DIM_SET: ReadonlySet<string> = new Set(WEEK_DIMS);

/** Past every valid `at` (EpochMsSchema stops at 8.64e15), day-aligned. */
export const END_OF_TIME = 8.64e15 + 86_400_000;

interface Delta {
  dim: string;
  /** Start of the hour (hourly rollups) or of the UTC day (daily rollups). */
  start: number;
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
> &
  Partial<Pick<Turn, 'userId'>>;

/**
 * One append's contributions, merged per (dim, key, hour) and per (dim, key, day) before they are
 * written, so a batch of a thousand turns costs one upsert per group rather than per turn.
 * Daily rows let ranges of whole days read 24x fewer rows.
 *
 * A turn is folded once, into its hour (and into its day for the two-key dimensions, which have
 * no hourly rows); the batch's daily deltas are then summed from its hourly ones and its weekly
 * deltas from its daily ones when written: every measure adds up exactly across the levels, and
 * a batch holds far fewer groups than turns x levels (measured on the benchmark's data: about
 * 21 folds per turn before, 8 now).
 */
export class RollupBatch {
  readonly #hourly = new Map<string, Delta>();
  /** Only the two-key dimensions (DAY_PAIR_DIMS) until `write` adds the days of the hours. */
  readonly #daily = new Map<string, Delta>();

  /** `weekly`: also weekly rows (appends); rebuilds of days leave the weeks to `rebuildWeeks`. */
  constructor(private readonly weekly = true) {}

  add(turn: RollupTurn): void {
    const at = turn.at;
    const hour = at - (at % HOUR_MS);
    const bucket = turn.latencyMs === undefined ? 0 : latencyBucket(turn.latencyMs);
    const hourly = this.#hourly;
    bump(hourly, ALL_DIM, '', hour, turn, bucket);
    bump(hourly, 'persona', turn.persona ?? '', hour, turn, bucket);
    bump(hourly, 'outcome', turn.outcome, hour, turn, bucket);
    for (const name of turn.frameworks) bump(hourly, 'framework', name, hour, turn, bucket);
    for (const name of turn.tools) bump(hourly, 'tool', name, hour, turn, bucket);
    for (const name of turn.mcpServers) bump(hourly, 'mcpServer', name, hour, turn, bucket);
    const day = at - (at % DAY_MS);
    const persona = turn.persona ?? '';
    bump(this.#daily, 'userPersona', `${turn.userId ?? ''}\u0001${persona}`, day, turn, bucket);
    for (const name of turn.frameworks) {
      bump(this.#daily, 'frameworkPersona', `${name}\u0001${persona}`, day, turn, bucket);
    }
    if (turn.frameworks.length > 1) {
      // Co-occurrence: each pair of the turn's frameworks once, in the order core's reference
      // adapter puts them (the smaller name first), as `first SOH second` (U+0001: names hold no control characters; SQLite string functions stop at NUL).
      const names = [...turn.frameworks].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
          bump(hourly, PAIR_DIM, `${names[i]}\u0001${names[j]}`, hour, turn, bucket);
        }
      }
    }
  }

  /** Adds the batch into the rollup tables (call inside the appending transaction). */
  write(statements: RollupStatements): void {
    const daily = this.#daily;
    for (const d of this.#hourly.values()) fold(daily, d, d.start - (d.start % DAY_MS));
    writeDeltas(this.#hourly, statements.upsertHour);
    writeDeltas(daily, statements.upsertDay);
    if (this.weekly && daily.size > 0) {
      if (!statements.upsertWeek) throw new Error('weekly rollups written without their statement');
      const weekly = new Map<string, Delta>();
      for (const d of daily.values()) {
        if (WEEK_DIM_SET.has(d.dim)) fold(weekly, d, bucketStart('week', d.start));
      }
      writeDeltas(weekly, statements.upsertWeek);
    }
    this.#hourly.clear();
    daily.clear();
  }
}

function emptyDelta(dim: string, key: string, start: number, at: number): Delta {
  return {
    dim,
    start,
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
    firstAt: at,
    lastAt: at,
    buckets: new Map(),
  };
}

/** Adds one turn into the delta of (dim, key, start); `bucket` is the latency bucket of its latency, if any. */
function bump(
  deltas: Map<string, Delta>,
  dim: string,
  key: string,
  start: number,
  turn: RollupTurn,
  bucket: number,
): void {
  const id = `${dim}\u0000${start}\u0000${key}`;
  let d = deltas.get(id);
  if (!d) {
    d = emptyDelta(dim, key, start, turn.at);
    deltas.set(id, d);
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
    // Pairs keep no histogram (their rollups serve no percentile), which keeps appends cheap.
    if (dim !== PAIR_DIM && !(dim in DAY_PAIR_DIMS)) d.buckets.set(bucket, (d.buckets.get(bucket) ?? 0) + 1);
  }
  if (turn.at < d.firstAt) d.firstAt = turn.at;
  if (turn.at > d.lastAt) d.lastAt = turn.at;
}

/** Adds delta `d` into the delta of (d.dim, d.key, start) in `into` (a coarser level's). */
function fold(into: Map<string, Delta>, d: Delta, start: number): void {
  const id = `${d.dim}\u0000${start}\u0000${d.key}`;
  let t = into.get(id);
  if (!t) {
    t = emptyDelta(d.dim, d.key, start, d.firstAt);
    into.set(id, t);
  }
  t.count += d.count;
  t.errors += d.errors;
  t.tokensIn += d.tokensIn;
  t.tokensOut += d.tokensOut;
  t.feedbackSum += d.feedbackSum;
  t.feedbackCount += d.feedbackCount;
  t.latencyCount += d.latencyCount;
  t.latencySum += d.latencySum;
  if (d.latencyMin !== null && (t.latencyMin === null || d.latencyMin < t.latencyMin))
    t.latencyMin = d.latencyMin;
  if (d.latencyMax !== null && (t.latencyMax === null || d.latencyMax > t.latencyMax))
    t.latencyMax = d.latencyMax;
  if (d.firstAt < t.firstAt) t.firstAt = d.firstAt;
  if (d.lastAt > t.lastAt) t.lastAt = d.lastAt;
  for (const [b, n] of d.buckets) t.buckets.set(b, (t.buckets.get(b) ?? 0) + n);
}

/**
 * A latency histogram as stored in a rollup row: (bucket, count) pairs in bucket order, each
 * bucket as the zigzag varint of its difference from the previous one and each count as a
 * zigzag varint (whole numbers, exact while twice their magnitude stays below 2^53). A few hundred bytes, so the row stays on its
 * page; one blob per row instead of a row per bucket: an append writes one row per group, and a
 * 90-day query reads 90 rows per key. distinct.ts stores signed (prev day, count) maps the same way.
 */
export function encodeHist(buckets: ReadonlyMap<number, number>): Buffer | null {
  // Zero counts are left out (distinct.ts stores signed deltas in the same shape).
  const keys = [...buckets.keys()].filter((b) => buckets.get(b) !== 0).sort((a, b) => a - b);
  if (keys.length === 0) return null;
  const out: number[] = [];
  let last = 0;
  for (const b of keys) {
    writeVarint(out, b - last);
    writeVarint(out, buckets.get(b)!);
    last = b;
  }
  return Buffer.from(out);
}

function writeVarint(out: number[], value: number): void {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  while (z >= 128) {
    out.push((z % 128) + 128);
    z = Math.floor(z / 128);
  }
  out.push(z);
}

/**
 * Calls `each(key, count)` for the pairs of a stored histogram (see `encodeHist`: zigzag varints,
 * keys as ascending deltas) while it returns `true`.
 */
function eachPair(blob: Uint8Array, each: (key: number, count: number) => boolean): void {
  let i = 0;
  const read = (): number => {
    let z = 0;
    let scale = 1;
    for (;;) {
      const byte = blob[i++]!;
      z += (byte & 127) * scale;
      if (byte < 128) break;
      scale *= 128;
    }
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  };
  let key = 0;
  while (i < blob.length) {
    key += read();
    if (!each(key, read())) return;
  }
}

/** Adds a stored histogram's counts into `into`. */
export function addHist(blob: Uint8Array, into: Map<number, number>): void {
  eachPair(blob, (key, count) => {
    into.set(key, (into.get(key) ?? 0) + count);
    return true;
  });
}

/** The sum of the counts of a stored map whose keys are below `limit`, without building the map. */
export function sumBelow(blob: Uint8Array, limit: number): number {
  let sum = 0;
  // Keys ascend: once one is not below, the rest are not either.
  eachPair(blob, (key, count) => {
    if (key >= limit) return false;
    sum += count;
    return true;
  });
  return sum;
}

/** The SQL function `cvk_hist_merge(a, b)` that upserts use: the sum of two stored histograms. */
export function mergeHist(a: unknown, b: unknown): Buffer | null {
  if (!(a instanceof Uint8Array)) return b instanceof Uint8Array ? Buffer.from(b) : null;
  if (!(b instanceof Uint8Array)) return Buffer.from(a);
  // Both blobs hold their keys ascending, once each: merged in one walk, as encodeHist would
  // write their sum (zero counts left out), without a Map and a sort per upsert.
  const pairsOf = (blob: Uint8Array) => {
    const keys: number[] = [];
    const counts: number[] = [];
    eachPair(blob, (key, count) => {
      keys.push(key);
      counts.push(count);
      return true;
    });
    return { keys, counts };
  };
  const x = pairsOf(a);
  const y = pairsOf(b);
  const out: number[] = [];
  let last = 0;
  const put = (key: number, count: number) => {
    if (count === 0) return;
    writeVarint(out, key - last);
    writeVarint(out, count);
    last = key;
  };
  let i = 0;
  let j = 0;
  while (i < x.keys.length || j < y.keys.length) {
    const kx = i < x.keys.length ? x.keys[i]! : Number.POSITIVE_INFINITY;
    const ky = j < y.keys.length ? y.keys[j]! : Number.POSITIVE_INFINITY;
    if (kx < ky) put(kx, x.counts[i++]!);
    else if (ky < kx) put(ky, y.counts[j++]!);
    else put(kx, x.counts[i++]! + y.counts[j++]!);
  }
  return out.length === 0 ? null : Buffer.from(out);
}

function writeDeltas(deltas: Map<string, Delta>, upsert: Database.Statement): void {
  for (const d of deltas.values()) {
    upsert.run(
      d.dim,
      d.start,
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
      encodeHist(d.buckets),
    );
  }
}

export interface RollupStatements {
  upsertHour: Database.Statement;
  upsertDay: Database.Statement;
  /** Absent for the schema steps before `rollups_week` existed. */
  upsertWeek?: Database.Statement;
}

function upsertSql(table: string, time: string): string {
  return `
    INSERT INTO ${table} (dim, ${time}, key, count, errors, tokens_in, tokens_out, feedback_sum, feedback_count,
      latency_count, latency_sum, latency_min, latency_max, first_at, last_at, hist)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (dim, ${time}, key) DO UPDATE SET
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
      last_at = max(last_at, excluded.last_at),
      hist = cvk_hist_merge(hist, excluded.hist)`;
}

export function prepareRollupStatements(db: Database.Database, weekly = true): RollupStatements {
  return {
    upsertHour: db.prepare(upsertSql('rollups', 'hour')),
    upsertDay: db.prepare(upsertSql('rollups_day', 'day')),
    ...(weekly ? { upsertWeek: db.prepare(upsertSql('rollups_week', 'week')) } : {}),
  };
}

interface RollupSourceRow {
  at: number;
  user_id: string | null;
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
  db.prepare('DELETE FROM rollups_day WHERE day >= ? AND day < ?').run(hourFrom, hourTo);
  const statements = prepareRollupStatements(db, false);
  // Keyset chunks: better-sqlite3 cannot write while a read iterator is open on the connection,
  // and a whole-table `all()` would hold every row in memory at once.
  const select = db.prepare(`
    SELECT seq, at, user_id, persona, outcome, frameworks, tools, mcp_servers, latency_ms, tokens_in, tokens_out, feedback
    FROM turns WHERE at >= ? AND at < ? AND seq > ? ORDER BY seq LIMIT 20000`);
  let after = -1;
  for (;;) {
    const rows = select.all(hourFrom, hourTo, after) as Array<RollupSourceRow & { seq: number }>;
    if (rows.length === 0) break;
    const batch = new RollupBatch(false);
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
    ...(row.user_id !== null ? { userId: row.user_id } : {}),
    ...(row.latency_ms !== null ? { latencyMs: row.latency_ms } : {}),
    ...(row.tokens_in !== null ? { tokens: { input: row.tokens_in, output: row.tokens_out ?? 0 } } : {}),
    ...(row.feedback !== null ? { feedback: row.feedback } : {}),
  };
}

/**
 * Recomputes the weekly rows of the weeks overlapping [from, to) from the daily rows (which a
 * week adds up exactly: sums, min/max and histograms), in SQL. For the migration that introduced
 * them and for the week `deleteBefore` cuts through, after its days are recounted. Call inside a
 * transaction.
 */
export function rebuildWeeks(db: Database.Database, from: number, to: number): void {
  const weekFrom = bucketStart('week', Math.max(0, from));
  const last = bucketStart('week', Math.min(to, END_OF_TIME) - 1);
  const weekTo = last + WEEK_MS;
  const dims = WEEK_DIMS.map((d) => `'${d}'`).join(', ');
  // Monday of the day's week (1970-01-01 was a Thursday), as aggregate.ts groups by week.
  const week = `(r.day - ((r.day / ${DAY_MS} + 3) % 7) * ${DAY_MS})`;
  db.prepare('DELETE FROM rollups_week WHERE week >= ? AND week < ?').run(weekFrom, weekTo);
  db.prepare(`
    INSERT INTO rollups_week (dim, week, key, count, errors, tokens_in, tokens_out, feedback_sum, feedback_count,
      latency_count, latency_sum, latency_min, latency_max, first_at, last_at, hist)
    SELECT r.dim, ${week} AS w, r.key, SUM(r.count), SUM(r.errors), SUM(r.tokens_in), SUM(r.tokens_out),
      SUM(r.feedback_sum), SUM(r.feedback_count), SUM(r.latency_count), SUM(r.latency_sum), MIN(r.latency_min),
      MAX(r.latency_max), MIN(r.first_at), MAX(r.last_at), cvk_hist_sum(r.hist)
    FROM rollups_day r WHERE r.dim IN (${dims}) AND r.day >= ? AND r.day < ?
    GROUP BY r.dim, w, r.key`).run(weekFrom, weekTo);
}

/** The SQL aggregate `cvk_hist_sum(hist)`: the sum of a group's stored histograms (null when none). */
export const histSum = {
  start: (): Map<number, number> => new Map(),
  step: (sum: Map<number, number>, blob: unknown) => {
    if (blob instanceof Uint8Array) addHist(blob, sum);
    return sum;
  },
  result: (sum: Map<number, number>) => encodeHist(sum),
};

/**
 * Builds the daily (framework, persona) and (user, persona) rows from the turns already stored
 * (the migration that introduced them), in SQL: the same sums RollupBatch keeps.
 */
export function buildDayPairRollups(db: Database.Database): void {
  const measures = `COUNT(*), COALESCE(SUM(t.outcome = 'error'), 0), COALESCE(SUM(t.tokens_in), 0),
    COALESCE(SUM(t.tokens_out), 0), COALESCE(SUM(t.feedback), 0), COUNT(t.feedback), COUNT(t.latency_ms),
    COALESCE(SUM(t.latency_ms), 0), MIN(t.latency_ms), MAX(t.latency_ms), MIN(t.at), MAX(t.at), NULL`;
  const columns = `(dim, day, key, count, errors, tokens_in, tokens_out, feedback_sum, feedback_count,
    latency_count, latency_sum, latency_min, latency_max, first_at, last_at, hist)`;
  db.exec(`
    DELETE FROM rollups_day WHERE ${DAY_PAIR_INDEX_TERM};
    INSERT INTO rollups_day ${columns}
      SELECT 'userPersona', t.at - t.at % 86400000 AS d,
        COALESCE(t.user_id, '') || char(1) || COALESCE(t.persona, '') AS k, ${measures}
      FROM turns t GROUP BY d, k;
    INSERT INTO rollups_day ${columns}
      SELECT 'frameworkPersona', t.at - t.at % 86400000 AS d, f.name || char(1) || COALESCE(t.persona, '') AS k,
        ${measures}
      FROM turns t JOIN turn_frameworks f ON f.seq = t.seq GROUP BY d, k;`);
}
