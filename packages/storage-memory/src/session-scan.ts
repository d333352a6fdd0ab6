import {
  nearestRankIndex,
  type PersonaPreference,
  preferenceOfCounts,
  SESSION_LENGTH_BINS,
  SESSION_TURN_BINS,
  type SessionStats,
  type SessionValueStats,
} from '@convokit/core';
import type { TurnColumns } from './columns.js';
import type { Scratch } from './scratch.js';

/**
 * The rows a scan reads: `rows[0..n)` when a filter picked them, else every row of `lo..hi`.
 * Rows ascend, so they are in time order.
 */
export interface RowSet {
  lo: number;
  hi: number;
  rows: Int32Array | null;
}

/**
 * TurnStore.sessionStats over column rows, equal to core `sessionStatsOfRows` of the (session,
 * user) aggregate (property-tested): per session its turns, first and last time in typed arrays
 * indexed by dictionary id, per user the first session seen or a mark for a second one. No group
 * rows, no objects per session.
 */
export function sessionStatsOfColumns(c: TurnColumns, set: RowSet, scratch: Scratch): SessionStats {
  const sessionIds = c.sessions.size;
  const userIds = c.users.size;
  const turns = scratch.int32('session turns', sessionIds).fill(0, 0, sessionIds);
  const firstAt = scratch.float64('session first', sessionIds);
  const lastAt = scratch.float64('session last', sessionIds);
  const seen = scratch.int32('sessions seen', sessionIds);
  // Per user: 0 unseen, s + 1 after turns in session s only, -1 after turns in two sessions.
  const userSession = scratch.int32('user session', userIds).fill(0, 0, userIds);
  const { at, session, user } = c;
  const { rows } = set;
  const m = rows === null ? set.hi - set.lo : rows.length;
  let sessions = 0;
  let active = 0;
  let returning = 0;
  for (let k = 0; k < m; k++) {
    const i = rows === null ? set.lo + k : rows[k]!;
    const s = session[i]!;
    const t = at[i]!;
    // Rows are in time order: a session's first row holds its first time, its last row its last.
    if (turns[s] === 0) {
      firstAt[s] = t;
      seen[sessions++] = s;
    }
    turns[s]!++;
    lastAt[s] = t;
    const u = user[i]!;
    if (u < 0) continue;
    const state = userSession[u]!;
    if (state === 0) {
      userSession[u] = s + 1;
      active++;
    } else if (state > 0 && state !== s + 1) {
      userSession[u] = -1;
      returning++;
    }
  }
  const counts = scratch.float64('session values', sessions);
  let total = 0;
  for (let k = 0; k < sessions; k++) {
    const n = turns[seen[k]!]!;
    counts[k] = n;
    total += n;
  }
  const turnsPerSession = summarizeSorted(counts.subarray(0, sessions).sort(), SESSION_TURN_BINS);
  for (let k = 0; k < sessions; k++) {
    const s = seen[k]!;
    counts[k] = lastAt[s]! - firstAt[s]!;
  }
  const lengthMs = summarizeSorted(counts.subarray(0, sessions).sort(), SESSION_LENGTH_BINS);
  return { turns: total, sessions, turnsPerSession, lengthMs, users: { active, returning } };
}

/**
 * Core `summarizeSessionValues` of ascending values, one per session, with the same arithmetic:
 * the sum adds value x sessions once per distinct value, in ascending order, as it does.
 */
export function summarizeSorted(values: Float64Array, edges: readonly number[]): SessionValueStats {
  const n = values.length;
  const bins = edges.map(() => 0);
  let sum = 0;
  let b = -1;
  for (let k = 0; k < n; ) {
    const value = values[k]!;
    let end = k + 1;
    while (end < n && values[end] === value) end++;
    const sessions = end - k;
    sum += value * sessions;
    while (b + 1 < edges.length && value >= edges[b + 1]!) b++;
    if (b >= 0) bins[b]! += sessions;
    k = end;
  }
  return {
    sum,
    median: n === 0 ? null : values[nearestRankIndex(0.5, n) - 1]!,
    p90: n === 0 ? null : values[nearestRankIndex(0.9, n) - 1]!,
    max: n === 0 ? null : values[n - 1]!,
    bins,
  };
}

/** Cells of the (user, persona) count table above which the generic path serves instead. */
export const PREFERENCE_CELLS = 1 << 22;

/**
 * TurnStore.personaPreference over column rows, equal to core `personaPreferenceOfRows` of the
 * (user, persona) aggregate (property-tested): turns per (user, persona) in one dense table, each
 * user's most-used persona (ties to the name first in string order, by dictionary rank).
 * Undefined when the table would exceed PREFERENCE_CELLS.
 */
export function personaPreferenceOfColumns(
  c: TurnColumns,
  set: RowSet,
  scratch: Scratch,
): PersonaPreference | undefined {
  const personaIds = c.personas.size;
  const userIds = c.users.size;
  const cells = userIds * personaIds;
  if (cells > PREFERENCE_CELLS) return undefined;
  const table = scratch.int32('user persona turns', cells).fill(0, 0, cells);
  const { persona, user } = c;
  const { rows } = set;
  const m = rows === null ? set.hi - set.lo : rows.length;
  for (let k = 0; k < m; k++) {
    const i = rows === null ? set.lo + k : rows[k]!;
    const u = user[i]!;
    const p = persona[i]!;
    if (u >= 0 && p >= 0) table[u * personaIds + p]!++;
  }
  const rank = c.personas.ranks();
  const usersOf = new Array<number>(personaIds).fill(0);
  for (let u = 0; u < userIds; u++) {
    let top = -1;
    let most = 0;
    for (let p = 0, cell = u * personaIds; p < personaIds; p++, cell++) {
      const n = table[cell]!;
      if (n > most || (n === most && n > 0 && rank[p]! < rank[top]!)) {
        top = p;
        most = n;
      }
    }
    if (top >= 0) usersOf[top]!++;
  }
  const byName = new Map<string, number>();
  for (let p = 0; p < personaIds; p++) if (usersOf[p]! > 0) byName.set(c.personas.names[p]!, usersOf[p]!);
  return preferenceOfCounts(byName);
}
