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
import { DAY_PAIR_INDEX_TERM } from './rollups.js';
import { COVERED, PARTIAL, preferredOver } from './user-totals.js';

const WHERE = 'turns.personaPreference';

/**
 * `TurnStore.personaPreference`. A filter that is only a time range: a user whose turns all lie
 * in it (user-totals.ts) has its all-time preference, so those users are one GROUP BY over
 * `user_totals`; each other user with turns in the range is summed on its own from its daily
 * `userPersona` rollups over the range's whole days and its turns on the partial days at the
 * ends. Ties go to the first persona in JavaScript string order, chosen in JavaScript rather than
 * by SQLite's byte order. At 1M turns over 90 days queried whole, every user is of the first
 * kind (was a walk of 176k daily pair rows, 25-37 ms). Any other filter groups turns by (user,
 * persona) as `aggregate` does.
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

function rangePreference(conn: Connection, f: NormalizedTurnFilter): PersonaPreference {
  const from = f.from ?? Number.MIN_SAFE_INTEGER;
  const to = f.to ?? Number.MAX_SAFE_INTEGER;
  if (from >= to) return preferenceOfCounts(new Map());
  const users = new Map<string, number>();
  const covered = conn
    .prepare(`
      SELECT persona, COUNT(*) FROM user_totals
      WHERE ${COVERED} AND persona IS NOT NULL GROUP BY persona`)
    .raw(true)
    .all({ from, to }) as Array<[string, number]>;
  for (const [persona, n] of covered) users.set(persona, n);
  const partial = conn
    .prepare(`SELECT user_id FROM user_totals WHERE ${PARTIAL}`)
    .pluck(true)
    .all({ from, to }) as string[];
  if (partial.length > 0) {
    const counts = userCounts(conn, f);
    for (const user of partial) {
      const persona = counts(user);
      if (persona !== undefined) users.set(persona, (users.get(persona) ?? 0) + 1);
    }
  }
  return preferenceOfCounts(users);
}

/**
 * One user's preferred persona over the range, from its pairs' daily rollups over the range's
 * whole days and its turns on the partial days at the ends (one index seek each).
 */
function userCounts(conn: Connection, f: NormalizedTurnFilter): (user: string) => string | undefined {
  const { interior, edges } = splitRange(f, DAY_MS);
  const parts: string[] = [];
  const params: Record<string, number> = {};
  if (interior) {
    params.dayFrom = interior.from ?? Number.MIN_SAFE_INTEGER;
    params.dayTo = interior.to ?? Number.MAX_SAFE_INTEGER;
    parts.push(`
      SELECT substr(key, instr(key, char(1)) + 1), SUM(count) FROM rollups_day INDEXED BY rollups_day_pairs
      WHERE ${DAY_PAIR_INDEX_TERM} AND dim = 'userPersona' AND key > @user || char(1) AND key < @user || char(2)
        AND day >= @dayFrom AND day < @dayTo
      GROUP BY key`);
  }
  edges.forEach((edge, i) => {
    params[`from${i}`] = edge.from ?? Number.MIN_SAFE_INTEGER;
    params[`to${i}`] = edge.to ?? Number.MAX_SAFE_INTEGER;
    parts.push(`
      SELECT persona, COUNT(*) FROM turns INDEXED BY turns_user
      WHERE user_id = @user AND at >= @from${i} AND at < @to${i} AND persona IS NOT NULL GROUP BY persona`);
  });
  const statement = conn.prepare(parts.join(' UNION ALL ')).raw(true);
  return (user) => {
    const sums = new Map<string, number>();
    for (const [p, n] of statement.all({ ...params, user }) as Array<[string, number]>) {
      sums.set(p, (sums.get(p) ?? 0) + n);
    }
    let best: string | null = null;
    let most = 0;
    for (const [p, n] of sums) {
      if (preferredOver(p, n, best, most)) {
        best = p;
        most = n;
      }
    }
    return best ?? undefined;
  };
}
