import {
  matchesTurnFilter,
  type NormalizedTurnFilter,
  normalizeTurnFilter,
  type Turn,
  type TurnFilter,
  type TurnStore,
} from '@convokit/core';

/**
 * What a cached answer was computed from: the filters of every storage read it made, or `'all'`
 * when it depends on turns no filter describes (search ranking reads corpus-wide statistics).
 *
 * Every read of the storage contract (`aggregate`, `list`, `count`, the optional `sessionStats` and `personaPreference`)
 * answers from the turns its filter matches and nothing else, so a turn that matches none of an
 * answer's filters cannot change that answer. Reads whose filter depends on an earlier result (a page of session ids)
 * only ever narrow an earlier filter, so they add nothing a turn could match that the first did
 * not; they are recorded anyway.
 */
export type ReadSet = readonly NormalizedTurnFilter[] | 'all';

/** The fields of a turn that filters look at; what the write log keeps instead of whole turns. */
export type TurnKeys = Pick<
  Turn,
  | 'id'
  | 'at'
  | 'sessionId'
  | 'conversationId'
  | 'userId'
  | 'persona'
  | 'frameworks'
  | 'tools'
  | 'mcpServers'
  | 'outcome'
>;

export function turnKeys(turn: Turn): TurnKeys {
  const keys: TurnKeys = {
    id: turn.id,
    at: turn.at,
    sessionId: turn.sessionId,
    frameworks: turn.frameworks,
    tools: turn.tools,
    mcpServers: turn.mcpServers,
    outcome: turn.outcome,
  };
  if (turn.conversationId !== undefined) keys.conversationId = turn.conversationId;
  if (turn.userId !== undefined) keys.userId = turn.userId;
  if (turn.persona !== undefined) keys.persona = turn.persona;
  return keys;
}

/** Whether any of `turns` could change an answer that read `reads`. */
export function touches(reads: ReadSet, turns: readonly TurnKeys[]): boolean {
  if (reads === 'all') return true;
  for (const filter of reads) {
    for (const turn of turns) if (matchesTurnFilter(turn as Turn, filter)) return true;
  }
  return false;
}

export interface ReadRecorder {
  /** The store to compute with: the real one, noting the filter of every read. */
  store: TurnStore;
  /**
   * The reads made so far. `openEnd`: the period ends at "now", so a later computation of the
   * same query reads later turns; the end bound is dropped. `movingStart`: the period's length
   * grows with "now" (an explicit `from` without `to`), so a previous-period read reaches further
   * back next time; the start bound is dropped too. Dropping a bound only widens a filter.
   */
  reads(period: { openEnd: boolean; movingStart: boolean }): ReadSet;
}

/** Wraps `turns` so every read's filter is noted. `get` and `search` make the answer depend on everything. */
export function recordReads(turns: TurnStore): ReadRecorder {
  const filters = new Map<string, NormalizedTurnFilter>();
  let all = false;
  const note = (filter: TurnFilter | undefined) => {
    const normalized = normalizeTurnFilter(filter ?? {});
    // Several reads of one query share a filter: keep one copy so invalidation checks it once.
    filters.set(JSON.stringify(normalized), normalized);
  };
  const store: TurnStore = {
    append: (batch, options) => turns.append(batch, options),
    deleteBefore: (before) => turns.deleteBefore(before),
    get: (id) => {
      all = true;
      return turns.get(id);
    },
    search: (text, options) => {
      all = true;
      return turns.search(text, options);
    },
    aggregate: (spec) => {
      note(spec.filter);
      return turns.aggregate(spec);
    },
    list: (filter, options) => {
      note(filter);
      return turns.list(filter, options);
    },
    count: (filter) => {
      note(filter);
      return turns.count(filter);
    },
  };
  // Optional (core TurnStore.sessionStats, personaPreference): forwarded only when the store has it, filter noted like a read.
  if (turns.sessionStats) {
    const sessionStats = turns.sessionStats.bind(turns);
    store.sessionStats = (filter) => {
      note(filter);
      return sessionStats(filter);
    };
  }
  if (turns.personaPreference) {
    const personaPreference = turns.personaPreference.bind(turns);
    store.personaPreference = (filter) => {
      note(filter);
      return personaPreference(filter);
    };
  }
  return {
    store,
    reads({ openEnd, movingStart }) {
      if (all) return 'all';
      return [...filters.values()].map((f) => {
        const widened = { ...f };
        if (openEnd) delete widened.to;
        if (openEnd && movingStart) delete widened.from;
        return widened;
      });
    },
  };
}
