/**
 * Pre-aggregates kept in the same transaction as the turns they count, so analytics over a
 * million turns read thousands of rows instead of scanning them:
 *
 * - `rollup_hour` / `rollup_day`: additive totals (counts, sums, min/max, first/last) per
 *   dimension value and UTC hour or day. Any hour-aligned range merges exactly to what a scan of
 *   the turns gives. The `session` dimension is kept per day only (one row per session and day).
 * - `rollup_latency_day`: the core latency histogram's bucket counts per day, so percentiles are
 *   the memory adapter's to the bit.
 * - `rollup_members`: which sessions (`s`) and users (`u`) had a turn per dimension value and
 *   day, so distinct counts over whole days are exact (a DISTINCT over member rows, never a sum).
 *
 * Everything is computed in SQL from a relation of turns (`src`) and their names, for the rows
 * an append just inserted (RETURNING) or for turns already stored (migration, deleteBefore).
 */

export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** The `dim` of the rollup over all turns. */
export const ALL_DIM = '';

/** Dimensions with hourly and daily totals and latency histograms. */
export const ROLLUP_DIMS = ['persona', 'outcome', 'framework', 'tool', 'mcpServer'] as const;

export const ROLLUP_TABLES = ['rollup_hour', 'rollup_day', 'rollup_latency_day', 'rollup_members'] as const;

/** Relations a rollup statement reads: turns (`id, session_id, user_id, at, persona, outcome,
 * latency_ms, latency_bucket, tokens_in, tokens_out, feedback`) and `(turn_id, name)` per list. */
export interface RollupSource {
  turns: string;
  frameworks: string;
  tools: string;
  mcpServers: string;
}

const TURN_COLS =
  'x.at, x.session_id, x.user_id, x.outcome, x.latency_ms, x.latency_bucket, x.tokens_in, x.tokens_out, x.feedback';

/**
 * Each turn once per dimension value it counts under (`dim, key` plus the turn's columns): the
 * body of the `e` CTE every rollup statement reads. `session` feeds the daily totals only,
 * `hourOfDay` the membership rows only.
 */
export function expandedTurns(s: RollupSource): string {
  return [
    `SELECT '' AS dim, '' AS key, ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'persona', coalesce(x.persona, ''), ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'outcome', x.outcome, ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'framework', n.name, ${TURN_COLS} FROM ${s.frameworks} n JOIN ${s.turns} x ON x.id = n.turn_id`,
    `SELECT 'tool', n.name, ${TURN_COLS} FROM ${s.tools} n JOIN ${s.turns} x ON x.id = n.turn_id`,
    `SELECT 'mcpServer', n.name, ${TURN_COLS} FROM ${s.mcpServers} n JOIN ${s.turns} x ON x.id = n.turn_id`,
    `SELECT 'session', x.session_id, ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'hourOfDay', (mod(x.at, ${DAY}) / ${HOUR})::text, ${TURN_COLS} FROM ${s.turns} x`,
  ].join('\n UNION ALL ');
}

/** Adds totals into `table`; rows go in key order so concurrent appends lock in one order. */
function totalsUpsert(S: string, table: string, unit: number, dims: string): string {
  return `INSERT INTO ${S}.${table} AS r (dim, bucket, key, count, errors, tokens_in, tokens_out, feedback_sum,
      feedback_count, latency_count, latency_sum, latency_min, latency_max, first_at, last_at)
    SELECT dim, at - mod(at, ${unit}), key, count(*), count(*) FILTER (WHERE outcome = 'error'),
      coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0), coalesce(sum(feedback), 0), count(feedback),
      count(latency_ms), coalesce(sum(latency_ms), 0), min(latency_ms), max(latency_ms), min(at), max(at)
    FROM e WHERE ${dims}
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (dim, bucket, key) DO UPDATE SET
      count = r.count + excluded.count,
      errors = r.errors + excluded.errors,
      tokens_in = r.tokens_in + excluded.tokens_in,
      tokens_out = r.tokens_out + excluded.tokens_out,
      feedback_sum = r.feedback_sum + excluded.feedback_sum,
      feedback_count = r.feedback_count + excluded.feedback_count,
      latency_count = r.latency_count + excluded.latency_count,
      latency_sum = r.latency_sum + excluded.latency_sum,
      latency_min = least(r.latency_min, excluded.latency_min),
      latency_max = greatest(r.latency_max, excluded.latency_max),
      first_at = least(r.first_at, excluded.first_at),
      last_at = greatest(r.last_at, excluded.last_at)`;
}

/** The rollup dimensions proper (no per-session or hour-of-day rows). */
const PLAIN = `dim NOT IN ('session', 'hourOfDay')`;

/**
 * The statements adding the turns of CTE `e` (see `expandedTurns`) into every rollup. The latency
 * histogram is kept per day only: it has a row per bucket, so hourly rows would outnumber turns.
 */
export function rollupStatements(S: string): string[] {
  return [
    totalsUpsert(S, 'rollup_hour', HOUR, PLAIN),
    totalsUpsert(S, 'rollup_day', DAY, `dim <> 'hourOfDay'`),
    `INSERT INTO ${S}.rollup_latency_day AS r (dim, bucket, key, lb, count)
      SELECT dim, at - mod(at, ${DAY}), key, latency_bucket, count(*)
      FROM e WHERE ${PLAIN} AND latency_bucket IS NOT NULL
      GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
      ON CONFLICT (dim, bucket, key, lb) DO UPDATE SET count = r.count + excluded.count`,
    // Sessions and users per dimension value and day (outcome filters with distinct counts scan).
    `INSERT INTO ${S}.rollup_members (dim, kind, key, member, day)
      SELECT DISTINCT dim, kind, key, member, day FROM (
        SELECT dim, 's'::"char" AS kind, key, session_id AS member, at - mod(at, ${DAY}) AS day
        FROM e WHERE dim NOT IN ('session', 'outcome')
        UNION ALL
        SELECT dim, 'u'::"char", key, user_id, at - mod(at, ${DAY})
        FROM e WHERE dim NOT IN ('session', 'outcome') AND user_id IS NOT NULL
      ) m ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT DO NOTHING`,
  ];
}

/** Stored turns with `at` in [$1, $2), as a rollup source. */
export function storedSource(S: string): { ctes: string; source: RollupSource } {
  const names = (table: string) =>
    `(SELECT n.turn_id, n.name FROM ${S}.${table} n WHERE n.at >= $1::bigint AND n.at < $2::bigint)`;
  return {
    ctes: `src AS (SELECT id, session_id, user_id, at, persona, outcome, latency_ms, latency_bucket, tokens_in,
        tokens_out, feedback FROM ${S}.turns WHERE at >= $1::bigint AND at < $2::bigint)`,
    source: {
      turns: 'src',
      frameworks: names('turn_frameworks'),
      tools: names('turn_tools'),
      mcpServers: names('turn_mcp_servers'),
    },
  };
}

/**
 * Recomputes every rollup row of the UTC days overlapping [from, to) from the stored turns (the
 * rows of those days are deleted first). Used by the migration that introduced rollups and by
 * `deleteBefore` for the day it cuts through. Run inside a transaction that blocks appends.
 */
export function rebuildStatements(S: string): string[] {
  const { ctes, source } = storedSource(S);
  const with_ = `WITH ${ctes}, e AS MATERIALIZED (${expandedTurns(source)})`;
  return [
    ...ROLLUP_TABLES.map((t) =>
      t === 'rollup_members'
        ? `DELETE FROM ${S}.${t} WHERE day >= $1::bigint AND day < $2::bigint`
        : `DELETE FROM ${S}.${t} WHERE bucket >= $1::bigint AND bucket < $2::bigint`,
    ),
    ...rollupStatements(S).map((body) => `${with_} ${body}`),
  ];
}

/** [from, to) widened to whole UTC days. */
export function wholeDays(from: number, to: number): [number, number] {
  const a = from - (((from % DAY) + DAY) % DAY);
  const r = ((to % DAY) + DAY) % DAY;
  return [a, r === 0 ? to : to - r + DAY];
}
