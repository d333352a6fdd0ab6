import {
  type AppendOptions,
  type AppendResult,
  ConvokitError,
  decodeCursor,
  EpochMsSchema,
  encodeCursor,
  fingerprint,
  type ListTurnsOptions,
  latencyBucket,
  type NormalizedTurnFilter,
  normalizeTurnFilter,
  type PageResult,
  PageSchema,
  type Turn,
  type TurnFilter,
  TurnFilterSchema,
  TurnOrderSchema,
  TurnSchema,
  type TurnStore,
  validate,
} from '@convokit/core';
import { aggregateTurns } from './aggregate.js';
import type { Db, PgSql } from './db.js';
import { Params } from './params.js';
import {
  ALL_DIM,
  appendRollupCtes,
  DAY,
  decodeHist,
  encodeHist,
  expandedPairs,
  expandedTurns,
  ROLLUP_TABLES,
  rebuildStatements,
  SESSION_TOTALS_SELECT,
  sessionDaysRebuildStatements,
  TURN_COLUMNS,
  WEEK,
  weekHistRebuildStatements,
  weekStart,
} from './rollups.js';
import { searchTurns } from './search.js';
import { turnVector } from './search-vector.js';
import { NAME_TABLES, turnFilterSql } from './turn-filter.js';

const ListOptionsSchema = PageSchema.extend({ order: TurnOrderSchema.default('desc') }).strict();
const BatchSchema = TurnSchema.array().superRefine((turns, ctx) => {
  const seen = new Set<string>();
  turns.forEach((turn, i) => {
    if (seen.has(turn.id))
      ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'repeats an id of this batch' });
    seen.add(turn.id);
  });
});

function invalid(where: string, path: string, message: string): ConvokitError {
  return new ConvokitError('VALIDATION', `Invalid input to ${where}: ${path}: ${message}`, {
    where,
    issues: [{ path, message }],
  });
}

function appendMode(options: AppendOptions): 'error' | 'skip' {
  if (typeof options !== 'object' || options === null)
    throw invalid('turns.append', 'options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'ifExists') throw invalid('turns.append', key, 'is not an option');
  }
  const mode = options.ifExists ?? 'error';
  if (mode !== 'error' && mode !== 'skip')
    throw invalid('turns.append', 'ifExists', "must be 'error' or 'skip'");
  return mode;
}

function canonical(f: NormalizedTurnFilter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(f)) out[key] = Array.isArray(value) ? [...value].sort() : value;
  return out;
}

/** Turns are stored whole as JSON text (exact round trip) next to the columns queries use. */
export function parseTurn(body: string): Turn {
  return JSON.parse(body) as Turn;
}

/**
 * The append statement: the turns, their name rows, and the totals, session and membership
 * rollups, each fed by the RETURNING of the turn insert, so ids that already existed count
 * nowhere. Latency histograms are merged in JS (see `histDeltas`). It returns a row per turn
 * stored and one more (id null) holding the turns version after it: raised by one when a turn
 * was stored, as read in the same statement otherwise.
 */
function appendStatement(S: string): string {
  // Name rows of the turns inserted, carrying the turn's columns so the rollups need no second join.
  const nameRows = (a: number, b: number) =>
    `SELECT n.turn_id, n.name, ${TURN_COLUMNS.map((c) => `i.${c}`).join(', ')}
      FROM unnest($${a}::text[], $${b}::text[]) AS n(turn_id, name) JOIN ins i ON i.id = n.turn_id`;
  const source = { turns: 'ins', frameworks: 'nf', tools: 'nt', mcpServers: 'nm', namesCarryTurn: true };
  // The pair rows apart: only the daily totals read them, the other rollups need not skip them.
  const expanded = expandedTurns(source, false);
  const pairs = expandedPairs(source).join(' UNION ALL ');
  return `WITH ins AS (
      INSERT INTO ${S}.turns (id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms,
        latency_bucket, tokens_in, tokens_out, feedback, body, search)
      SELECT id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms,
        latency_bucket, tokens_in, tokens_out, feedback, body, search::tsvector
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
        $8::float8[], $9::int[], $10::bigint[], $11::bigint[], $12::float8[],
        (string_to_array($13::text, chr(1)))[2:], (string_to_array($14::text, chr(1)))[2:])
        AS u(id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms, latency_bucket,
             tokens_in, tokens_out, feedback, body, search)
      ON CONFLICT (id) DO NOTHING
      RETURNING id, session_id, user_id, at, persona, outcome, latency_ms, latency_bucket, tokens_in,
        tokens_out, feedback),
    nf AS (${nameRows(15, 16)}),
    nt AS (${nameRows(17, 18)}),
    nm AS (${nameRows(19, 20)}),
    wf AS (INSERT INTO ${S}.${NAME_TABLES.framework} (turn_id, name, at) SELECT turn_id, name, at FROM nf),
    wt AS (INSERT INTO ${S}.${NAME_TABLES.tool} (turn_id, name, at) SELECT turn_id, name, at FROM nt),
    wm AS (INSERT INTO ${S}.${NAME_TABLES.mcpServer} (turn_id, name, at) SELECT turn_id, name, at FROM nm),
    e AS MATERIALIZED (${expanded}),
    ep AS (${pairs}),
    ${appendRollupCtes(S)
      .map(([name, body]) => `${name} AS (${body})`)
      .join(',\n    ')},
    ver AS (UPDATE ${S}.turns_version SET value = value + 1 WHERE id = 0 AND EXISTS (SELECT 1 FROM ins)
      RETURNING value)
    SELECT id, NULL::bigint AS version FROM ins
    UNION ALL
    SELECT NULL, coalesce((SELECT value FROM ver), (SELECT value FROM ${S}.turns_version WHERE id = 0))`;
}

/**
 * Brings `distinct_days` up to date after `deleteBefore` removed every member row before
 * `cutDay` (and recomputed the cut day's when `rebuilt`; `convokit_cut_members` then holds the
 * rows it had before). Nothing is active before the cut day any more, so: the cut day's members
 * all appear first there; a later day's members last seen before the cut day now appear first;
 * and a member whose cut-day row went now appears first on its next day.
 */
function distinctAfterCut(S: string, cutDay: number, rebuilt: boolean): string[] {
  const D = `${cutDay}::bigint`;
  const statements = [
    `DELETE FROM ${S}.distinct_days WHERE day <= ${D}`,
    `INSERT INTO ${S}.distinct_days (dim, kind, day, key, prev, n)
      SELECT dim, kind, ${D}, key, -1, count(*) FROM ${S}.rollup_members WHERE day = ${D} GROUP BY 1, 2, 4`,
    `WITH moved AS (
        DELETE FROM ${S}.distinct_days WHERE day > ${D} AND prev >= 0 AND prev < ${D}
        RETURNING dim, kind, day, key, n)
      INSERT INTO ${S}.distinct_days AS r (dim, kind, day, key, prev, n)
      SELECT dim, kind, day, key, -1, sum(n) FROM moved GROUP BY 1, 2, 3, 4
      ON CONFLICT (dim, kind, day, key, prev) DO UPDATE SET n = r.n + excluded.n`,
  ];
  if (rebuilt) {
    statements.push(
      `WITH lost AS (
          SELECT dim, kind, key, member FROM convokit_cut_members
          EXCEPT SELECT dim, kind, key, member FROM ${S}.rollup_members WHERE day = ${D}),
        nxt AS (
          SELECT l.dim, l.kind, l.key, (SELECT min(m.day) FROM ${S}.rollup_members m
            WHERE m.dim = l.dim AND m.kind = l.kind AND m.key = l.key AND m.member = l.member AND m.day > ${D}) AS day
          FROM lost l),
        delta AS (
          SELECT dim, kind, day, key, ${D} AS prev, -count(*) AS n FROM nxt WHERE day IS NOT NULL GROUP BY 1, 2, 3, 4
          UNION ALL
          SELECT dim, kind, day, key, -1, count(*) FROM nxt WHERE day IS NOT NULL GROUP BY 1, 2, 3, 4)
      INSERT INTO ${S}.distinct_days AS r (dim, kind, day, key, prev, n)
      SELECT dim, kind, day, key, prev, n FROM delta ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (dim, kind, day, key, prev) DO UPDATE SET n = r.n + excluded.n`,
    );
  }
  return statements;
}

/** Histogram rows an append adds to: `dim, unit, bucket, key` and bucket index -> count. */
interface HistDelta {
  dim: string;
  unit: 'd' | 'w';
  bucket: number;
  key: string;
  counts: Map<number, number>;
}

/** The latency histogram additions of `turns`, per dimension value and UTC day and ISO week. */
function histDeltas(turns: readonly Turn[]): Map<string, HistDelta> {
  const out = new Map<string, HistDelta>();
  // `tag` is "\0unit\0bucket\0", built once per turn: the map key is dim + tag + key.
  const add = (dim: string, key: string, unit: 'd' | 'w', bucket: number, tag: string, lb: number) => {
    const id = dim + tag + key;
    let delta = out.get(id);
    if (!delta) {
      delta = { dim, unit, bucket, key, counts: new Map() };
      out.set(id, delta);
    }
    delta.counts.set(lb, (delta.counts.get(lb) ?? 0) + 1);
  };
  for (const t of turns) {
    if (t.latencyMs === undefined) continue;
    const lb = latencyBucket(t.latencyMs);
    const day = t.at - (t.at % DAY);
    const week = weekStart(t.at);
    const dayTag = `\u0000d\u0000${day}\u0000`;
    const weekTag = `\u0000w\u0000${week}\u0000`;
    const both = (dim: string, key: string) => {
      add(dim, key, 'd', day, dayTag, lb);
      add(dim, key, 'w', week, weekTag, lb);
    };
    both(ALL_DIM, '');
    both('persona', t.persona ?? '');
    both('outcome', t.outcome);
    for (const name of t.frameworks) both('framework', name);
    for (const name of t.tools) both('tool', name);
    for (const name of t.mcpServers) both('mcpServer', name);
  }
  return out;
}

/** Columns of histogram keys for `unnest`. */
function histKeyColumns(deltas: Iterable<HistDelta>): [string[], string[], number[], string[]] {
  const cols: [string[], string[], number[], string[]] = [[], [], [], []];
  for (const d of deltas) {
    cols[0].push(d.dim);
    cols[1].push(d.unit);
    cols[2].push(d.bucket);
    cols[3].push(d.key);
  }
  return cols;
}

/** Batches up to this many turns run the append statement's generic plan (see `append`). */
const GENERIC_PLAN_MAX = 10;

export function createTurnStore(db: Db): TurnStore {
  const { S } = db;
  const appendSql = appendStatement(S);
  const readVersion = async (sql: PgSql) => {
    const rows = await sql.unsafe<{ value: number }[]>(
      `SELECT value FROM ${S}.turns_version WHERE id = 0`,
      [],
      {
        prepare: true,
      },
    );
    return rows[0]!.value;
  };

  async function append(turns: readonly Turn[], options: AppendOptions = {}): Promise<AppendResult> {
    db.assertOpen();
    const batch = validate(BatchSchema, turns, 'turns.append');
    const ifExists = appendMode(options);
    if (batch.length === 0) {
      return db.run('turns.append', async (sql) => ({
        appended: 0,
        skippedIds: [],
        version: await readVersion(sql),
      }));
    }
    const cols = {
      id: [] as string[],
      session: [] as string[],
      conversation: [] as (string | null)[],
      user: [] as (string | null)[],
      persona: [] as (string | null)[],
      at: [] as number[],
      outcome: [] as string[],
      latency: [] as (number | null)[],
      bucket: [] as (number | null)[],
      tokensIn: [] as (number | null)[],
      tokensOut: [] as (number | null)[],
      feedback: [] as (number | null)[],
      // Bodies and vectors each go as one text, every item after a U+0001: neither JSON text nor a
      // vector of core terms holds that character raw, and the driver need not escape them.
      body: '',
      search: '',
    };
    for (const t of batch) {
      cols.id.push(t.id);
      cols.session.push(t.sessionId);
      cols.conversation.push(t.conversationId ?? null);
      cols.user.push(t.userId ?? null);
      cols.persona.push(t.persona ?? null);
      cols.at.push(t.at);
      cols.outcome.push(t.outcome);
      cols.latency.push(t.latencyMs ?? null);
      cols.bucket.push(t.latencyMs === undefined ? null : latencyBucket(t.latencyMs));
      cols.tokensIn.push(t.tokens?.input ?? null);
      cols.tokensOut.push(t.tokens?.output ?? null);
      cols.feedback.push(t.feedback ?? null);
      cols.body += `\u0001${JSON.stringify(t)}`;
      cols.search += `\u0001${turnVector(t.userInput, t.assistantResponse)}`;
    }
    const names = { frameworks: [[], []], tools: [[], []], mcpServers: [[], []] } as Record<
      'frameworks' | 'tools' | 'mcpServers',
      [string[], string[]]
    >;
    for (const t of batch) {
      for (const field of ['frameworks', 'tools', 'mcpServers'] as const) {
        for (const name of t[field]) {
          names[field][0].push(t.id);
          names[field][1].push(name);
        }
      }
    }
    const deltas = histDeltas(batch);
    return db.tx('turns.append', async (sql) => {
      // Appends one at a time per schema: the distinct rollups read the member rows stored
      // before them, and histograms are merged here. Statements are pipelined (one flush).
      const lock = sql.unsafe(
        'SELECT pg_advisory_xact_lock(hashtext($1::text))',
        [`convokit:append:${db.schema}`],
        {
          prepare: true,
        },
      );
      // Planning the append statement costs more than running it for a few turns, and a plan
      // made without the arrays' lengths (generic) is ~10% slower for a thousand: a small batch
      // reuses the generic plan, a large one is planned for its size (left to itself, the
      // server switches to the generic plan after five executions whatever the size).
      const planMode = sql.unsafe(
        `SET LOCAL plan_cache_mode = ${batch.length <= GENERIC_PLAN_MAX ? 'force_generic_plan' : 'force_custom_plan'}`,
      );
      const insert = sql.unsafe<{ id: string | null; version: number | null }[]>(
        appendSql,
        [
          cols.id,
          cols.session,
          cols.conversation,
          cols.user,
          cols.persona,
          cols.at,
          cols.outcome,
          cols.latency,
          cols.bucket,
          cols.tokensIn,
          cols.tokensOut,
          cols.feedback,
          cols.body,
          cols.search,
          ...names.frameworks,
          ...names.tools,
          ...names.mcpServers,
        ] as never[],
        { prepare: true },
      );
      const stored = sql.unsafe<
        { dim: string; unit: string; bucket: number; key: string; hist: Uint8Array }[]
      >(
        `SELECT h.dim, h.unit::text AS unit, h.bucket, h.key, h.hist FROM ${S}.rollup_hist h
         JOIN unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS k(dim, unit, bucket, key)
           ON h.dim = k.dim AND h.unit = k.unit::"char" AND h.bucket = k.bucket AND h.key = k.key`,
        histKeyColumns(deltas.values()) as unknown as never[],
        { prepare: true },
      );
      const [, , inserted, before] = await Promise.all([lock, planMode, insert, stored]);
      const written = new Set<string>();
      let version = 0;
      for (const r of inserted) {
        if (r.id === null) version = r.version!;
        else written.add(r.id);
      }
      const skippedIds = batch.filter((t) => !written.has(t.id)).map((t) => t.id);
      if (skippedIds.length > 0 && ifExists === 'error') {
        // Thrown inside the transaction: the turns and rollups written above roll back.
        throw new ConvokitError('CONFLICT', `turns.append: ${skippedIds.length} turn id(s) already stored`, {
          where: 'turns.append',
          ids: skippedIds.slice(0, 100),
        });
      }
      // Only what was written counts (ids skipped under ifExists: 'skip' are not added).
      const added = skippedIds.length === 0 ? deltas : histDeltas(batch.filter((t) => written.has(t.id)));
      if (added.size > 0) {
        for (const row of before) {
          const delta = added.get(`${row.dim}\u0000${row.unit}\u0000${row.bucket}\u0000${row.key}`);
          if (delta) decodeHist(row.hist, delta.counts);
        }
        const [dims, units, buckets, keys] = histKeyColumns(added.values());
        const hists = [...added.values()].map((d) => encodeHist(d.counts).toString('hex'));
        await sql.unsafe(
          `INSERT INTO ${S}.rollup_hist (dim, unit, bucket, key, hist)
           SELECT dim, unit::"char", bucket, key, decode(hist, 'hex')
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) AS u(dim, unit, bucket, key, hist)
           ORDER BY 1, 2, 3, 4
           ON CONFLICT (dim, unit, bucket, key) DO UPDATE SET hist = excluded.hist`,
          [dims, units, buckets, keys, hists] as never[],
          { prepare: true },
        );
      }
      return { appended: written.size, skippedIds, version };
    });
  }

  async function get(id: string): Promise<Turn | undefined> {
    db.assertOpen();
    if (typeof id !== 'string') throw invalid('turns.get', 'id', 'must be a string');
    return db.read('turns.get', async (sql) => {
      const rows = await sql.unsafe<{ body: string }[]>(
        `SELECT body FROM ${S}.turns WHERE id = $1::text`,
        [id],
        { prepare: true },
      );
      return rows[0] ? parseTurn(rows[0].body) : undefined;
    });
  }

  async function list(filter: TurnFilter = {}, options: ListTurnsOptions = {}): Promise<PageResult<Turn>> {
    db.assertOpen();
    const f = normalizeTurnFilter(validate(TurnFilterSchema, filter, 'turns.list'));
    const { limit, cursor, order } = validate(ListOptionsSchema, options, 'turns.list options');
    // Lists sorted: the same filter written in another order accepts the same cursor.
    const print = fingerprint({ f: canonical(f), order });
    const p = new Params();
    const where = turnFilterSql(f, p, S);
    if (cursor !== undefined) {
      const [at, id] = decodeCursor(cursor, print, 'turns.list');
      if (typeof at !== 'number' || typeof id !== 'string') {
        throw new ConvokitError('VALIDATION', 'Invalid cursor for turns.list', { where: 'turns.list' });
      }
      where.push(
        `(t.at, t.id) ${order === 'asc' ? '>' : '<'} (${p.add(at, 'bigint')}, ${p.add(id, 'text')})`,
      );
    }
    const dir = order === 'asc' ? 'ASC' : 'DESC';
    return db.read('turns.list', async (sql) => {
      const rows = await sql.unsafe<{ body: string }[]>(
        `SELECT t.body FROM ${S}.turns t WHERE ${where.join(' AND ')}
         ORDER BY t.at ${dir}, t.id ${dir} LIMIT ${limit + 1}`,
        p.values as never[],
        { prepare: true },
      );
      const items = rows.slice(0, limit).map((r) => parseTurn(r.body));
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor([last.at, last.id], print) : null,
      };
    });
  }

  async function count(filter: TurnFilter = {}): Promise<number> {
    db.assertOpen();
    const f = normalizeTurnFilter(validate(TurnFilterSchema, filter, 'turns.count'));
    const p = new Params();
    const where = turnFilterSql(f, p, S);
    return db.read('turns.count', async (sql) => {
      const rows = await sql.unsafe<{ n: number }[]>(
        `SELECT count(*)::float8 AS n FROM ${S}.turns t WHERE ${where.join(' AND ')}`,
        p.values as never[],
        { prepare: true },
      );
      return rows[0]!.n;
    });
  }

  async function deleteBefore(before: number): Promise<number> {
    db.assertOpen();
    validate(EpochMsSchema, before, 'turns.deleteBefore');
    return db.tx('turns.deleteBefore', async (sql) => {
      // Appends wait until the rollups agree with the turns again (they take ROW EXCLUSIVE).
      await sql.unsafe(`LOCK TABLE ${S}.turns IN SHARE ROW EXCLUSIVE MODE`);
      for (const table of Object.values(NAME_TABLES)) {
        await sql.unsafe(`DELETE FROM ${S}.${table} WHERE at < $1::bigint`, [before], { prepare: true });
      }
      // The deleted turns come off the (user, persona) totals in the same statement.
      const [deleted] = await sql.unsafe<{ n: number }[]>(
        `WITH d AS (DELETE FROM ${S}.turns WHERE at < $1::bigint RETURNING user_id, persona),
          g AS (SELECT coalesce(user_id, '') AS u, coalesce(persona, '') AS p, count(*) AS n FROM d GROUP BY 1, 2),
          up AS (UPDATE ${S}.user_persona_totals r SET count = r.count - g.n FROM g
            WHERE r.user_key = g.u AND r.persona_key = g.p)
        SELECT count(*)::float8 AS n FROM d`,
        [before],
        { prepare: true },
      );
      const result = { count: deleted!.n };
      if (result.count > 0) await sql.unsafe(`DELETE FROM ${S}.user_persona_totals WHERE count <= 0`);
      // Whole days before the cut go; the day it cuts through is recomputed from what is left.
      const cutDay = before - (before % DAY);
      if (before !== cutDay) {
        // Who was active on the cut day before it is recomputed (see distinctAfterCut).
        await sql.unsafe(
          `CREATE TEMP TABLE convokit_cut_members ON COMMIT DROP AS
           SELECT dim, kind, key, member FROM ${S}.rollup_members WHERE day = ${cutDay}`,
        );
      }
      for (const table of ROLLUP_TABLES) {
        const column = table === 'rollup_members' ? 'day' : 'bucket';
        await sql.unsafe(`DELETE FROM ${S}.${table} WHERE ${column} < $1::bigint`, [cutDay], {
          prepare: true,
        });
      }
      if (before !== cutDay) {
        for (const statement of rebuildStatements(S)) {
          await sql.unsafe(statement, [cutDay, cutDay + DAY], { prepare: true });
        }
      }
      // So is the week it cuts through (its row went if it started before the cut day).
      const cutWeek = weekStart(before);
      if (before !== cutWeek) {
        for (const statement of weekHistRebuildStatements(S)) {
          await sql.unsafe(statement, [cutWeek, cutWeek + WEEK], { prepare: true });
        }
      }
      // Sessions that had turns before the cut are recounted from what is left.
      await sql.unsafe(
        `WITH gone AS (DELETE FROM ${S}.session_totals WHERE first_at < $1::bigint RETURNING session_id)
         INSERT INTO ${S}.session_totals (session_id, count, errors, first_at, last_at, user_id, users_mixed)
         SELECT * FROM (SELECT session_id, ${SESSION_TOTALS_SELECT} FROM ${S}.turns
           WHERE session_id IN (SELECT session_id FROM gone) GROUP BY 1) x`,
        [before],
        { prepare: true },
      );
      for (const statement of sessionDaysRebuildStatements(S)) await sql.unsafe(statement);
      for (const statement of distinctAfterCut(S, cutDay, before !== cutDay)) await sql.unsafe(statement);
      if (result.count > 0) await sql.unsafe(`UPDATE ${S}.turns_version SET value = value + 1 WHERE id = 0`);
      return result.count;
    });
  }

  /** See core's TurnStore.version: raised in the transaction of every change to the turns. */
  async function version(): Promise<number> {
    db.assertOpen();
    return db.read('turns.version', readVersion);
  }

  return {
    append,
    get,
    list,
    search: (text, options) => searchTurns(db, text, options),
    aggregate: (spec) => aggregateTurns(db, spec),
    count,
    deleteBefore,
    version,
  };
}
