import type { AggregateRow } from './schemas/aggregate.js';

/**
 * Users per preferred persona over the turns matching a filter: the optional
 * `TurnStore.personaPreference`. A user's preferred persona is the one with most of their
 * matching turns, ties by persona name (JavaScript string order); turns without a user or without
 * a persona are left out, so a user whose matching turns have no persona has no preference.
 */
export interface PersonaPreference {
  /** Users with a preference (the sum of `personas[].users`). */
  users: number;
  /** Every persona preferred by at least one user: most users first, ties by persona ascending. */
  personas: Array<{ persona: string; users: number }>;
}

/** The aggregate spec whose rows `personaPreferenceOfRows` takes (with the caller's filter). */
export const USER_PERSONA_GROUPS = Object.freeze({
  groupBy: Object.freeze(['user', 'persona'] as const),
  measures: Object.freeze(['count'] as const),
});

/**
 * PersonaPreference from (user, persona, turns) triples in any order, a user's personas possibly
 * split over several triples (summed). The reference every adapter's `personaPreference` equals.
 */
export function personaPreferenceOf(
  counts: Iterable<readonly [user: string, persona: string, turns: number]>,
): PersonaPreference {
  const perUser = new Map<string, Map<string, number>>();
  for (const [user, persona, turns] of counts) {
    let personas = perUser.get(user);
    if (!personas) {
      personas = new Map();
      perUser.set(user, personas);
    }
    personas.set(persona, (personas.get(persona) ?? 0) + turns);
  }
  const best = new Map<string, number>();
  for (const personas of perUser.values()) {
    let top: string | undefined;
    let most = 0;
    for (const [persona, turns] of personas) {
      if (turns <= 0) continue;
      if (top === undefined || turns > most || (turns === most && persona < top)) {
        top = persona;
        most = turns;
      }
    }
    if (top !== undefined) best.set(top, (best.get(top) ?? 0) + 1);
  }
  return preferenceOfCounts(best);
}

/** PersonaPreference from users per persona: sums them and puts them in the contract's order. */
export function preferenceOfCounts(usersPerPersona: ReadonlyMap<string, number>): PersonaPreference {
  let users = 0;
  for (const n of usersPerPersona.values()) users += n;
  const personas = [...usersPerPersona]
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([persona, n]) => ({ persona, users: n }));
  return { users, personas };
}

/**
 * PersonaPreference from the rows of an aggregate grouped by (user, persona) with `count`: the
 * path of stores (and callers) that group turns instead. Rows with a null user or persona are
 * left out.
 */
export function personaPreferenceOfRows(rows: readonly AggregateRow[]): PersonaPreference {
  const triples: Array<[string, string, number]> = [];
  for (const row of rows) {
    const [user, persona] = row.keys;
    if (user === null || user === undefined || persona === null || persona === undefined) continue;
    triples.push([String(user), String(persona), row.values.count ?? 0]);
  }
  return personaPreferenceOf(triples);
}
