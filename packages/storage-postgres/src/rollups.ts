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

/** Tables holding one row per dimension value and time bucket (migration 4 replaced the latency rows). */
export const ROLLUP_TABLES = ['rollup_hour', 'rollup_day', 'rollup_hist', 'rollup_members'] as const;

/** Start of the ISO week (Monday, UTC) of an epoch-ms bigint expression; 1970-01-01 was a Thursday. */
export function weekStartSql(x: string): string {
  return `(${x} - mod(${x}, ${DAY}) - mod(${x} / ${DAY} + 3, 7) * ${DAY})`;
}

/** Start of the ISO week (Monday, UTC) of an epoch-ms time. */
export function weekStart(at: number): number {
  const day = at - (at % DAY);
  return day - ((day / DAY + 3) % 7) * DAY;
}

export const WEEK = 7 * DAY;

/** Relations a rollup statement reads: turns (`id, session_id, user_id, at, persona, outcome,
 * latency_ms, latency_bucket, tokens_in, tokens_out, feedback`) and `(turn_id, name)` per list. */
export interface RollupSource {
  turns: string;
  frameworks: string;
  tools: string;
  mcpServers: string;
  /** The name relations already carry the turn's columns (`TURN_COLUMNS`): no join back to the turns. */
  namesCarryTurn?: boolean;
}

/** The turn columns every rollup reads, as a name relation carrying them selects them. */
export const TURN_COLUMNS = [
  'at',
  'session_id',
  'user_id',
  'outcome',
  'latency_ms',
  'latency_bucket',
  'tokens_in',
  'tokens_out',
  'feedback',
  'persona',
] as const;

const TURN_COLS = TURN_COLUMNS.map((c) => `x.${c}`).join(', ');

/**
 * Two-key dimensions kept in the daily totals only (schema 7; no hourly rows, histograms or
 * member rows), keyed `first U+0001 second` (names and personas hold no control character):
 * (framework, persona) with '' for a turn without a persona, and framework pairs, the smaller
 * name (byte order) first, as grouping by framework twice pairs them.
 */
export const PAIR_DIMS = {
  frameworkPersona: ['framework', 'persona'],
  frameworkPair: ['framework', 'framework'],
} as const;
const PAIR_DIM_LIST = Object.keys(PAIR_DIMS)
  .map((d) => `'${d}'`)
  .join(', ');

/** The pair rows of each turn of `s` (see PAIR_DIMS), as `expandedTurns` rows (`dim, key`, the turn's columns). */
export function expandedPairs(s: RollupSource): string[] {
  if (s.namesCarryTurn) {
    return [
      `SELECT 'frameworkPersona' AS dim, x.name || chr(1) || coalesce(x.persona, '') AS key, ${TURN_COLS} FROM ${s.frameworks} x`,
      `SELECT 'frameworkPair', x.name || chr(1) || y.name, ${TURN_COLS}
        FROM ${s.frameworks} x JOIN ${s.frameworks} y ON y.turn_id = x.turn_id AND y.name > x.name COLLATE "C"`,
    ];
  }
  return [
    `SELECT 'frameworkPersona' AS dim, n.name || chr(1) || coalesce(x.persona, '') AS key, ${TURN_COLS}
      FROM ${s.frameworks} n JOIN ${s.turns} x ON x.id = n.turn_id`,
    `SELECT 'frameworkPair', n.name || chr(1) || m.name, ${TURN_COLS}
      FROM ${s.frameworks} n JOIN ${s.frameworks} m ON m.turn_id = n.turn_id AND m.name > n.name COLLATE "C"
      JOIN ${s.turns} x ON x.id = n.turn_id`,
  ];
}

/**
 * Each turn once per dimension value it counts under (`dim, key` plus the turn's columns): the
 * body of the `e` CTE every rollup statement reads. `session` feeds the daily totals only,
 * `hourOfDay` the membership rows only.
 */
export function expandedTurns(s: RollupSource, pairs = true): string {
  const names = (dim: string, relation: string) =>
    s.namesCarryTurn
      ? `SELECT '${dim}', x.name, ${TURN_COLS} FROM ${relation} x`
      : `SELECT '${dim}', n.name, ${TURN_COLS} FROM ${relation} n JOIN ${s.turns} x ON x.id = n.turn_id`;
  return [
    `SELECT '' AS dim, '' AS key, ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'persona', coalesce(x.persona, ''), ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'outcome', x.outcome, ${TURN_COLS} FROM ${s.turns} x`,
    names('framework', s.frameworks),
    names('tool', s.tools),
    names('mcpServer', s.mcpServers),
    `SELECT 'session', x.session_id, ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'hourOfDay', (mod(x.at, ${DAY}) / ${HOUR})::text, ${TURN_COLS} FROM ${s.turns} x`,
    ...(pairs ? expandedPairs(s) : []),
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
const PLAIN = `dim NOT IN ('session', 'hourOfDay', ${PAIR_DIM_LIST})`;

/**
 * The statements adding the turns of CTE `e` (see `expandedTurns`) into every rollup. The latency
 * histogram is kept per day only: it has a row per bucket, so hourly rows would outnumber turns.
 */
export function rollupStatements(S: string, schema: 3 | 4 = 4): string[] {
  return [
    totalsUpsert(S, 'rollup_hour', HOUR, PLAIN),
    totalsUpsert(S, 'rollup_day', DAY, `dim <> 'hourOfDay'`),
    // Schema 3 kept a row per latency bucket; its migration still builds them (schema 4 converts).
    ...(schema === 3
      ? [
          `INSERT INTO ${S}.rollup_latency_day AS r (dim, bucket, key, lb, count)
      SELECT dim, at - mod(at, ${DAY}), key, latency_bucket, count(*)
      FROM e WHERE ${PLAIN} AND latency_bucket IS NOT NULL
      GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
      ON CONFLICT (dim, bucket, key, lb) DO UPDATE SET count = r.count + excluded.count`,
        ]
      : [histInsert(S, 'd')]),
    `INSERT INTO ${S}.rollup_members (dim, kind, key, member, day) ${MEMBERS_SELECT} ON CONFLICT DO NOTHING`,
  ];
}

/**
 * The CTEs (name, body) an append adds after `e`: the hourly and daily totals, the session totals
 * (from `ins`), the member rows, and the distinct_days changes of the member rows that are new.
 * Appends are serialized (an advisory lock), so reading the member rows stored before this
 * statement (its snapshot) tells each new row's neighbours. One index probe per candidate member
 * row finds the latest stored day on or before it: that day itself means the row is stored already
 * (it is left out), an earlier one is the new row's stored predecessor. For a new row on day d of
 * a member: prev = the latest earlier day, stored or new; the stored row right after it (if no new
 * row comes between) now has d as its prev instead of the stored one before d.
 */
export function appendRollupCtes(S: string): Array<[string, string]> {
  const same = `o.dim = m.dim AND o.kind = m.kind AND o.key = m.key AND o.member = m.member`;
  const moved = `old_next IS NOT NULL AND (new_next IS NULL OR new_next > old_next)`;
  return [
    ['r_hour', totalsUpsert(S, 'rollup_hour', HOUR, PLAIN)],
    ['r_day', totalsUpsert(S, 'rollup_day', DAY, `dim <> 'hourOfDay'`)],
    // The pair rows come from CTE `ep` (see expandedPairs), which only this reads.
    ['r_pairs', totalsUpsert(S, 'rollup_day', DAY, 'TRUE').replace('FROM e WHERE', 'FROM ep WHERE')],
    ['s_batch', `SELECT session_id, ${SESSION_TOTALS_SELECT} FROM ins GROUP BY 1`],
    // A session's user (schema 9): its turns' one user id (null for none), or users_mixed when
    // they hold two or more values (no user counting as one).
    [
      'r_sessions',
      `INSERT INTO ${S}.session_totals AS r (session_id, count, errors, first_at, last_at, user_id, users_mixed)
        SELECT session_id, n, errors, first_at, last_at, user_id, users_mixed FROM s_batch ORDER BY 1
        ON CONFLICT (session_id) DO UPDATE SET count = r.count + excluded.count,
          errors = r.errors + excluded.errors,
          first_at = least(r.first_at, excluded.first_at), last_at = greatest(r.last_at, excluded.last_at),
          users_mixed = r.users_mixed OR excluded.users_mixed OR r.user_id IS DISTINCT FROM excluded.user_id`,
    ],
    ['r_user_persona', userPersonaUpsert(S, 'ins')],
    // Reads session_totals as it was before this statement (one snapshot for every CTE): a new
    // session counts on its first day; one whose first turn moved to an earlier day moves there.
    [
      'r_session_days',
      `INSERT INTO ${S}.session_first_days AS r (day, n)
        SELECT day, sum(n) FROM (
          SELECT b.first_at - mod(b.first_at, ${DAY}) AS day, 1 AS n
          FROM s_batch b LEFT JOIN ${S}.session_totals o ON o.session_id = b.session_id
          WHERE o.session_id IS NULL OR b.first_at - mod(b.first_at, ${DAY}) < o.first_at - mod(o.first_at, ${DAY})
          UNION ALL
          SELECT o.first_at - mod(o.first_at, ${DAY}), -1
          FROM s_batch b JOIN ${S}.session_totals o ON o.session_id = b.session_id
          WHERE b.first_at - mod(b.first_at, ${DAY}) < o.first_at - mod(o.first_at, ${DAY})
        ) d GROUP BY 1 HAVING sum(n) <> 0 ORDER BY 1
        ON CONFLICT (day) DO UPDATE SET n = r.n + excluded.n`,
    ],
    // The new member rows (candidates found stored are left out) with their stored predecessor
    // and their new neighbours; the insert needs no conflict check (appends are serialized).
    // OFFSET 0 keeps the subquery whole: pulled up, its probe would run twice per row.
    [
      'r_new',
      `SELECT dim, kind, key, member, day, before AS old_prev,
          lag(day) OVER w AS new_prev, lead(day) OVER w AS new_next
        FROM (SELECT m.dim, m.kind, m.key, m.member, m.day,
            (SELECT max(o.day) FROM ${S}.rollup_members o WHERE ${same} AND o.day <= m.day) AS before
          FROM (${MEMBERS_SELECT}) m OFFSET 0) c
        WHERE before IS DISTINCT FROM day
        WINDOW w AS (PARTITION BY dim, kind, key, member ORDER BY day)`,
    ],
    [
      'r_members',
      `INSERT INTO ${S}.rollup_members (dim, kind, key, member, day) SELECT dim, kind, key, member, day FROM r_new`,
    ],
    // The last day holding stored turns (member rows lie on or before it): a new row on or after
    // it has no stored row after it, so appends in time order (and every append to an empty store)
    // skip that index probe.
    ['r_bounds', `SELECT max(bucket) AS hi FROM ${S}.rollup_day WHERE dim = ''`],
    [
      'r_near',
      `SELECT m.dim, m.kind, m.key, m.day, m.new_prev, m.new_next, m.old_prev,
          CASE WHEN m.day < b.hi THEN
            (SELECT min(o.day) FROM ${S}.rollup_members o WHERE ${same} AND o.day > m.day) END AS old_next
        FROM r_new m, r_bounds b`,
    ],
    [
      'r_distinct',
      `INSERT INTO ${S}.distinct_days AS r (dim, kind, day, key, prev, n)
        SELECT dim, kind, day, key, prev, sum(n) FROM (
          SELECT dim, kind, day, key, greatest(coalesce(old_prev, -1), coalesce(new_prev, -1)) AS prev, 1 AS n
          FROM r_near
          UNION ALL SELECT dim, kind, old_next, key, coalesce(old_prev, -1), -1 FROM r_near WHERE ${moved}
          UNION ALL SELECT dim, kind, old_next, key, day, 1 FROM r_near WHERE ${moved}
        ) d GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (dim, kind, day, key, prev) DO UPDATE SET n = r.n + excluded.n`,
    ],
  ];
}

/**
 * A session's columns of `session_totals` from its turns (grouped by session_id): `n, errors,
 * first_at, last_at, user_id, users_mixed` (no user is '' here: user ids are never empty).
 */
export const SESSION_TOTALS_SELECT = `count(*) AS n, count(*) FILTER (WHERE outcome = 'error') AS errors,
  min(at) AS first_at, max(at) AS last_at, NULLIF(max(coalesce(user_id, '')), '') AS user_id,
  min(coalesce(user_id, '')) <> max(coalesce(user_id, '')) AS users_mixed`;

/**
 * Adds the turns of `src` to `user_persona_totals` (schema 9): turns per (user, persona) over all
 * time, '' for none (keys are never empty). Grouping by user and persona over a window that holds
 * most turns reads them and takes off the turns outside it (see user-persona-plan.ts).
 */
export function userPersonaUpsert(S: string, src: string): string {
  return `INSERT INTO ${S}.user_persona_totals AS r (user_key, persona_key, count)
    SELECT coalesce(user_id, ''), coalesce(persona, ''), count(*) FROM ${src} GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (user_key, persona_key) DO UPDATE SET count = r.count + excluded.count`;
}

/**
 * `session_first_days` recomputed from `session_totals`: how many sessions have their first turn
 * on each UTC day, so counting the sessions of a window sums a row per day (see session-plan.ts).
 */
export function sessionDaysRebuildStatements(S: string): string[] {
  return [
    `DELETE FROM ${S}.session_first_days`,
    `INSERT INTO ${S}.session_first_days (day, n)
      SELECT first_at - mod(first_at, ${DAY}), count(*) FROM ${S}.session_totals GROUP BY 1`,
  ];
}

/**
 * Dimensions with session membership rows but no user ones (schema 6): a third of the member rows
 * an append wrote, for a measure (distinct users per framework, tool or MCP server) nothing in
 * convokit asks for; such a spec is answered by the scan of the turns instead.
 */
export const USERLESS_DIMS = ['framework', 'tool', 'mcpServer'] as const;

/** Sessions and users per dimension value and day (outcome filters with distinct counts scan). */
export const MEMBERS_SELECT = `SELECT DISTINCT dim, kind, key, member, day FROM (
        SELECT dim, 's'::"char" AS kind, key, session_id AS member, at - mod(at, ${DAY}) AS day
        FROM e WHERE dim NOT IN ('session', 'outcome', ${PAIR_DIM_LIST})
        UNION ALL
        SELECT dim, 'u'::"char", key, user_id, at - mod(at, ${DAY})
        FROM e WHERE dim NOT IN ('session', 'outcome', ${PAIR_DIM_LIST}, ${USERLESS_DIMS.map((d) => `'${d}'`).join(', ')})
          AND user_id IS NOT NULL
      ) m ORDER BY 1, 2, 3, 4, 5`;

/**
 * A latency histogram as bytea: (int4 bucket index, int4 count) pairs, big-endian, ascending by
 * index, built from `(lb, c)` rows. Decoded by `decodeHist`.
 */
export const HIST_AGG = (lb: string, c: string) =>
  `string_agg(int4send(${lb}) || int4send(${c}::int), ''::bytea ORDER BY ${lb})`;

/** Histogram rows (`unit` 'd' per UTC day, 'w' per ISO week) for the turns of `e`, into empty buckets. */
function histInsert(S: string, unit: 'd' | 'w'): string {
  const bucket = unit === 'd' ? `at - mod(at, ${DAY})` : weekStartSql('at');
  return `INSERT INTO ${S}.rollup_hist (dim, unit, bucket, key, hist)
    SELECT dim, '${unit}', bucket, key, ${HIST_AGG('lb', 'c')} FROM (
      SELECT dim, ${bucket} AS bucket, key, latency_bucket AS lb, count(*) AS c
      FROM e WHERE ${PLAIN} AND latency_bucket IS NOT NULL GROUP BY 1, 2, 3, 4) h
    GROUP BY 1, 3, 4`;
}

/** Bucket index -> count pairs of a stored histogram. */
export function decodeHist(hist: Uint8Array, into: Map<number, number>): void {
  const view = new DataView(hist.buffer, hist.byteOffset, hist.byteLength);
  for (let o = 0; o + 8 <= hist.byteLength; o += 8) {
    const b = view.getInt32(o);
    into.set(b, (into.get(b) ?? 0) + view.getInt32(o + 4));
  }
}

/** The stored form of a histogram (see `HIST_AGG`). */
export function encodeHist(counts: Map<number, number>): Buffer {
  const keys = [...counts.keys()].sort((a, b) => a - b);
  const out = Buffer.allocUnsafe(keys.length * 8);
  keys.forEach((b, i) => {
    out.writeInt32BE(b, i * 8);
    out.writeInt32BE(counts.get(b)!, i * 8 + 4);
  });
  return out;
}

/**
 * Distinct counts by first appearance (as the sqlite adapter): `distinct_days` holds, per
 * dimension value, kind and day, how many members active that day were last active before it on
 * `prev` (-1 for never). Over whole days [D1, D2) each member is counted once, on its first
 * active day in the range, the one row whose `prev` is before D1. Rebuilt from the member rows.
 */
export function distinctRebuildStatements(S: string): string[] {
  return [
    `DELETE FROM ${S}.distinct_days`,
    `INSERT INTO ${S}.distinct_days (dim, kind, day, key, prev, n)
      SELECT dim, kind, day, key, prev, count(*) FROM (
        SELECT dim, kind, key, day,
          coalesce(lag(day) OVER (PARTITION BY dim, kind, key, member ORDER BY day), -1) AS prev
        FROM ${S}.rollup_members) m
      GROUP BY 1, 2, 3, 4, 5`,
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
export function rebuildStatements(S: string, schema: 3 | 4 = 4): string[] {
  const { ctes, source } = storedSource(S);
  const with_ = `WITH ${ctes}, e AS MATERIALIZED (${expandedTurns(source)})`;
  const tables =
    schema === 3 ? ['rollup_hour', 'rollup_day', 'rollup_latency_day', 'rollup_members'] : ROLLUP_TABLES;
  return [
    ...tables.map((t) =>
      t === 'rollup_members'
        ? `DELETE FROM ${S}.${t} WHERE day >= $1::bigint AND day < $2::bigint`
        : `DELETE FROM ${S}.${t} WHERE bucket >= $1::bigint AND bucket < $2::bigint${t === 'rollup_hist' ? ` AND unit = 'd'` : ''}`,
    ),
    ...rollupStatements(S, schema).map((body) => `${with_} ${body}`),
  ];
}

/** Recomputes the pair rows of the daily totals (PAIR_DIMS) for the stored turns with `at` in [$1, $2). */
export function pairRebuildStatements(S: string): string[] {
  const { ctes, source } = storedSource(S);
  return [
    `DELETE FROM ${S}.rollup_day WHERE dim IN (${PAIR_DIM_LIST}) AND bucket >= $1::bigint AND bucket < $2::bigint`,
    `WITH ${ctes}, e AS MATERIALIZED (${expandedPairs(source).join(' UNION ALL ')})
      ${totalsUpsert(S, 'rollup_day', DAY, 'TRUE')}`,
  ];
}

/** Recomputes the weekly histograms of the ISO weeks in [$1, $2) (week-aligned) from the stored turns. */
export function weekHistRebuildStatements(S: string): string[] {
  const { ctes, source } = storedSource(S);
  return [
    `DELETE FROM ${S}.rollup_hist WHERE unit = 'w' AND bucket >= $1::bigint AND bucket < $2::bigint`,
    `WITH ${ctes}, e AS MATERIALIZED (${expandedTurns(source)}) ${histInsert(S, 'w')}`,
  ];
}

/** [from, to) widened to whole UTC days. */
export function wholeDays(from: number, to: number): [number, number] {
  const a = from - (((from % DAY) + DAY) % DAY);
  const r = ((to % DAY) + DAY) % DAY;
  return [a, r === 0 ? to : to - r + DAY];
}
