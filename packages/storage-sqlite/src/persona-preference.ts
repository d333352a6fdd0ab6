import {
  DAY_MS,
  type NormalizedTurnFilter,
  normalizeTurnFilter,
  type PersonaPreference,
  personaPreferenceOfRows,
  preferenceOfCounts,
  type TurnFilter,
  TurnFilterSchema,
  USER_PERSONA_GROUPS,
  validate,
} from '@convokit/core';
import { aggregateTurns, splitRange } from './aggregate.js';
import type { Connection } from './connection.js';

const WHERE = 'turns.personaPreference';

/**
 * `TurnStore.personaPreference`. A filter that is only a time range is answered in one statement:
 * the (user, persona) turn counts of its whole days from the daily `userPersona` rollups, of its
 * partial days at the ends from the turns, summed per pair, and of each user only the pairs with
 * the user's highest count come back (a row per user, a few more on ties). The tie goes to the
 * first persona in JavaScript string order, chosen here rather than by SQLite's byte order.
 * Reading the 25k pair totals of 1M turns into JavaScript cost about as much as the SQL that
 * sums them; this returns about 2.5k rows. Any other filter groups turns by (user, persona) as
 * `aggregate` does.
 */
export async function personaPreference(
  conn: Connection,
  input: TurnFilter = {},
): Promise<PersonaPreference> {
  const filter = normalizeTurnFilter(validate(TurnFilterSchema, input, WHERE));
  if (!Object.keys(filter).every((k) => k === 'from' || k === 'to')) return groupedPreference(conn, filter);
  return conn.run(WHERE, () => conn.db.transaction(() => rangePreference(conn, filter))());
}

async function groupedPreference(conn: Connection, filter: NormalizedTurnFilter): Promise<PersonaPreference> {
  const { rows } = await aggregateTurns(
    conn,
    { filter, groupBy: [...USER_PERSONA_GROUPS.groupBy], measures: [...USER_PERSONA_GROUPS.measures] },
    WHERE,
  );
  return personaPreferenceOfRows(rows);
}

// '' stands for no user or no persona in rollup keys (`user SOH persona`); neither is ever ''.
const PAIR_USER = 'substr(r.key, 1, instr(r.key, char(1)) - 1)';
const PAIR_PERSONA = 'substr(r.key, instr(r.key, char(1)) + 1)';

function rangePreference(conn: Connection, f: NormalizedTurnFilter): PersonaPreference {
  if (f.from !== undefined && f.to !== undefined && f.from >= f.to) return preferenceOfCounts(new Map());
  const { interior, edges } = splitRange(f, DAY_MS);
  const parts: string[] = [];
  const params: unknown[] = [];
  if (interior) {
    const clauses = ["r.dim IN ('frameworkPersona', 'userPersona')", "r.dim = 'userPersona'"];
    if (interior.from !== undefined) {
      clauses.push('r.day >= ?');
      params.push(interior.from);
    }
    if (interior.to !== undefined) {
      clauses.push('r.day < ?');
      params.push(interior.to);
    }
    // The partial index holds a pair's days together, so the sums stream in key order.
    parts.push(`
      SELECT ${PAIR_USER} AS u, ${PAIR_PERSONA} AS p, SUM(r.count) AS n
      FROM rollups_day r INDEXED BY rollups_day_pairs WHERE ${clauses.join(' AND ')} GROUP BY r.key`);
  }
  for (const edge of edges) {
    const clauses = ['t.user_id IS NOT NULL', 't.persona IS NOT NULL'];
    if (edge.from !== undefined) {
      clauses.push('t.at >= ?');
      params.push(edge.from);
    }
    if (edge.to !== undefined) {
      clauses.push('t.at < ?');
      params.push(edge.to);
    }
    parts.push(`
      SELECT t.user_id AS u, t.persona AS p, COUNT(*) AS n
      FROM turns t INDEXED BY turns_at WHERE ${clauses.join(' AND ')} GROUP BY t.user_id, t.persona`);
  }
  // Whole days alone give one row per pair already; with edges the parts are summed per pair.
  const sums =
    parts.length === 1
      ? parts[0]!
      : `SELECT u, p, SUM(n) AS n FROM (${parts.join(' UNION ALL ')}) GROUP BY u, p`;
  const rows = conn
    .prepare(`
      SELECT u, p FROM (
        SELECT u, p, n, MAX(n) OVER (PARTITION BY u) AS top FROM (${sums}) WHERE u <> '' AND p <> '' AND n > 0
      ) WHERE n = top`)
    .raw(true)
    .all(...params) as Array<[string, string]>;
  const preferred = new Map<string, string>();
  for (const [user, persona] of rows) {
    const held = preferred.get(user);
    if (held === undefined || persona < held) preferred.set(user, persona);
  }
  const users = new Map<string, number>();
  for (const persona of preferred.values()) users.set(persona, (users.get(persona) ?? 0) + 1);
  return preferenceOfCounts(users);
}
