import {
  type AggregateResult,
  type AggregateSpecInput,
  AggregateSpecSchema,
  type AppendOptions,
  type AppendResult,
  ConvokitError,
  decodeCursor,
  distinctTerms,
  encodeCursor,
  fingerprint,
  type ListTurnsOptions,
  makeSnippet,
  matchesTurnFilter,
  type NormalizedTurnFilter,
  normalizeTurnFilter,
  type PageResult,
  PageSchema,
  type PersonaPreference,
  personaPreferenceOfRows,
  SESSION_USER_GROUPS,
  type SearchHit,
  type SearchOptionsInput,
  SearchOptionsSchema,
  SearchTextSchema,
  type SessionStats,
  sessionStatsOfRows,
  type Turn,
  type TurnFilter,
  TurnFilterSchema,
  TurnOrderSchema,
  type TurnStore,
  USER_PERSONA_GROUPS,
  validate,
} from '@convokit/core';
import { aggregateTurns } from './aggregate.js';
import { checkEpochMs, checkKey, checkObject, invalid, underPath } from './checks.js';
import type { Host } from './host.js';
import { aggregateColumns, DEFAULT_LIMITS, filterRows } from './scan.js';
import { Scratch } from './scratch.js';
import { SearchIndex } from './search-index.js';
import { personaPreferenceOfColumns, sessionStatsOfColumns } from './session-scan.js';
import { compareTimed } from './sorted.js';
import { terms as tokenizeFast } from './terms.js';
import { checkTurn } from './turn-check.js';
import { type Candidates, forEachMatch, type KeyBounds, TurnIndex } from './turn-index.js';

/** The aggregates whose rows core summarizes into session stats and persona preferences. */
const SESSION_USER_SPEC = validate(AggregateSpecSchema, SESSION_USER_GROUPS, 'turns.sessionStats');
const USER_PERSONA_SPEC = validate(AggregateSpecSchema, USER_PERSONA_GROUPS, 'turns.personaPreference');

/** How many rows of the column scan cost about as much as one candidate turn read as an object. */
const SCAN_RATIO = 16;

export class MemoryTurnStore implements TurnStore {
  readonly index = new TurnIndex();
  readonly #text = new SearchIndex();
  /** Working arrays of the column scans, kept between queries (see Scratch). */
  readonly #scratch = new Scratch();
  /** The turns version (TurnStore.version): this process is the only writer, so a counter. */
  #version = 0;

  constructor(private readonly host: Host) {}

  async append(turns: readonly Turn[], options?: AppendOptions): Promise<AppendResult> {
    this.host.open();
    const where = 'turns.append';
    const { ifExists = 'error', ...rest } = checkObject(options, where, 'options') as AppendOptions;
    if (ifExists !== 'error' && ifExists !== 'skip')
      throw invalid(where, 'options.ifExists', "must be 'error' or 'skip'");
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw invalid(where, `options.${unknown}`, 'is not a known option');
    if (!Array.isArray(turns)) throw invalid(where, 'turns', 'must be an array of turns');

    const batch: Turn[] = new Array(turns.length);
    const ids = new Set<string>();
    for (let i = 0; i < turns.length; i++) {
      const turn = checkTurn(turns[i], i, this.host.frozen);
      if (ids.has(turn.id)) throw invalid(where, `${i}.id`, 'repeats an id earlier in the batch');
      ids.add(turn.id);
      batch[i] = turn;
    }
    const skippedIds: string[] = [];
    let fresh = batch;
    if (batch.some((t) => this.index.byId.has(t.id))) {
      if (ifExists === 'error') {
        const existing = batch.filter((t) => this.index.byId.has(t.id)).map((t) => t.id);
        throw new ConvokitError('CONFLICT', `Turns already stored: ${existing.slice(0, 5).join(', ')}`, {
          where,
          ids: existing,
        });
      }
      fresh = batch.filter((t) => {
        if (!this.index.byId.has(t.id)) return true;
        skippedIds.push(t.id);
        return false;
      });
    }
    if (fresh.length > 0) {
      this.host.record({ type: 'turns.append', turns: fresh });
      this.applyAppend(fresh);
      this.#version++;
    }
    return { appended: fresh.length, skippedIds, version: this.#version };
  }

  async version(): Promise<number> {
    this.host.open();
    return this.#version;
  }

  /** Adds frozen turns that are not stored yet; no validation, no journal. */
  applyAppend(turns: readonly Turn[]): void {
    let sorted = true;
    for (let i = 1; i < turns.length && sorted; i++) sorted = compareTimed(turns[i - 1]!, turns[i]!) < 0;
    const batch = sorted ? turns : turns.slice().sort(compareTimed);
    this.index.add(batch);
    for (const turn of batch) this.#text.add(turn);
  }

  applyDeleteBefore(before: number): number {
    const removed = this.index.removeBefore(before);
    if (removed.length > 0) this.#text.removeBefore(before);
    return removed.length;
  }

  clear(): void {
    this.index.clear();
    this.#text.clear();
    this.#scratch.clear();
  }

  async get(id: string): Promise<Turn | undefined> {
    this.host.open();
    // Only valid ids are stored, so a hit needs no check of `id`; a miss does.
    const turn = this.index.byId.get(id);
    if (turn === undefined) checkKey(id, 'turns.get', 'id');
    return turn;
  }

  async list(filter?: TurnFilter, options?: ListTurnsOptions): Promise<PageResult<Turn>> {
    this.host.open();
    const where = 'turns.list';
    const f = this.#filter(filter, where);
    const { order: orderInput, ...pageInput } = checkObject(options, where, 'options');
    const order = underPath(() => validate(TurnOrderSchema, orderInput ?? 'desc', where), 'order');
    const page = validate(PageSchema, pageInput, where);
    const print = fingerprint({ filter: canonical(f), order });
    const bounds: KeyBounds = {};
    if (page.cursor !== undefined) {
      const key = cursorKey(decodeCursor(page.cursor, print, where), where);
      if (order === 'asc') bounds.after = key;
      else bounds.before = key;
    }
    const candidates = this.index.candidates(f, bounds);
    const items: Turn[] = [];
    const want = page.limit + 1;
    for (const turn of inOrder(candidates, order)) {
      if (!candidates.exact && !matchesTurnFilter(turn, f)) continue;
      items.push(turn);
      if (items.length === want) break;
    }
    let nextCursor: string | null = null;
    if (items.length > page.limit) {
      items.length = page.limit;
      const last = items[items.length - 1]!;
      nextCursor = encodeCursor([last.at, last.id], print);
    }
    return { items, nextCursor };
  }

  async search(text: string, options?: SearchOptionsInput): Promise<SearchHit[]> {
    this.host.open();
    const where = 'turns.search';
    const query = underPath(() => validate(SearchTextSchema, text, where), 'text');
    const o = underPath(() => validate(SearchOptionsSchema, options ?? {}, where), 'options');
    const f = normalizeTurnFilter(o.filter);
    const terms = distinctTerms(query);
    const accept = isEmpty(f) ? () => true : (t: Turn) => matchesTurnFilter(t, f);
    const termSet = new Set(terms);
    return this.#text.search(terms, o.mode, accept, o.limit).map(({ turn, matched, bm25 }) => ({
      turn,
      // Distinct terms matched first, BM25 (squashed below 1) breaking ties: see SearchIndex.
      score: matched + bm25 / (1 + bm25),
      snippet: makeSnippet(snippetSource(turn, termSet), termSet),
    }));
  }

  async aggregate(spec: AggregateSpecInput): Promise<AggregateResult> {
    this.host.open();
    const s = validate(AggregateSpecSchema, spec, 'turns.aggregate');
    const f = normalizeTurnFilter(s.filter);
    this.index.ready();
    const rolled = this.index.rollup.answer(s, f, this.#scratch);
    if (rolled !== undefined) return rolled;
    const { lo, hi } = this.index.timeRange(f);
    if (this.#scans(f, lo, hi)) {
      const result = aggregateColumns(this.index.columns, lo, hi, f, s, DEFAULT_LIMITS, this.#scratch);
      if (result !== undefined) return result;
    }
    return aggregateTurns(this.#matching(f), s);
  }

  /**
   * TurnStore.sessionStats: one pass over the column rows of the filter's time range, or, when a
   * posting list yields far fewer turns, the (session, user) groups of those turns summarized by
   * core. Both give core `sessionStatsOfRows` of the grouped rows.
   */
  async sessionStats(filter?: TurnFilter): Promise<SessionStats> {
    this.host.open();
    const f = normalizeTurnFilter(validate(TurnFilterSchema, filter ?? {}, 'turns.sessionStats'));
    this.index.ready();
    const { lo, hi } = this.index.timeRange(f);
    if (this.#scans(f, lo, hi)) {
      const rows = filterRows(this.index.columns, lo, hi, f, this.#scratch);
      return sessionStatsOfColumns(this.index.columns, { lo, hi, rows }, this.#scratch);
    }
    const { rows } = aggregateTurns(this.#matching(f), SESSION_USER_SPEC);
    return sessionStatsOfRows(rows);
  }

  /**
   * TurnStore.personaPreference: a (user, persona) count table over the column rows, or the
   * (user, persona) groups of the matching turns summarized by core when a posting list yields
   * far fewer turns or the table would be too large.
   */
  async personaPreference(filter?: TurnFilter): Promise<PersonaPreference> {
    this.host.open();
    const f = normalizeTurnFilter(validate(TurnFilterSchema, filter ?? {}, 'turns.personaPreference'));
    this.index.ready();
    const { lo, hi } = this.index.timeRange(f);
    if (this.#scans(f, lo, hi)) {
      const rows = filterRows(this.index.columns, lo, hi, f, this.#scratch);
      const answer = personaPreferenceOfColumns(this.index.columns, { lo, hi, rows }, this.#scratch);
      if (answer !== undefined) return answer;
    }
    const { rows } = aggregateTurns(this.#matching(f), USER_PERSONA_SPEC);
    return personaPreferenceOfRows(rows);
  }

  /** Whether a column scan of rows `lo..hi` beats reading the turns the best posting list yields. */
  #scans(f: NormalizedTurnFilter, lo: number, hi: number): boolean {
    return this.index.candidates(f).size * SCAN_RATIO >= hi - lo;
  }

  /** The stored turns matching `f`, read through the best posting list. */
  #matching(f: NormalizedTurnFilter): Turn[] {
    const matching: Turn[] = [];
    forEachMatch(
      this.index.candidates(f),
      (t) => matchesTurnFilter(t, f),
      (t) => matching.push(t),
    );
    return matching;
  }

  async count(filter?: TurnFilter): Promise<number> {
    this.host.open();
    const f = this.#filter(filter, 'turns.count');
    const candidates = this.index.candidates(f);
    if (candidates.exact && candidates.disjoint) return candidates.size;
    let n = 0;
    forEachMatch(
      candidates,
      (t) => matchesTurnFilter(t, f),
      () => n++,
    );
    return n;
  }

  async deleteBefore(before: number): Promise<number> {
    this.host.open();
    const at = checkEpochMs(before, 'turns.deleteBefore', 'before');
    const first = this.index.sorted[0];
    if (first === undefined || first.at >= at) return 0;
    this.host.record({ type: 'turns.deleteBefore', before: at });
    const deleted = this.applyDeleteBefore(at);
    if (deleted > 0) this.#version++;
    return deleted;
  }

  #filter(filter: TurnFilter | undefined, where: string): NormalizedTurnFilter {
    return normalizeTurnFilter(underPath(() => validate(TurnFilterSchema, filter ?? {}, where), 'filter'));
  }
}

function isEmpty(f: NormalizedTurnFilter): boolean {
  for (const _ in f) return false;
  return true;
}

/** The filter with each list sorted, so equal filters give equal cursor fingerprints. */
function canonical(f: NormalizedTurnFilter): NormalizedTurnFilter {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(f)) out[key] = Array.isArray(value) ? [...value].sort() : value;
  return out as NormalizedTurnFilter;
}

function cursorKey(key: (string | number)[], where: string): { at: number; id: string } {
  const [at, id] = key;
  if (key.length !== 2 || typeof at !== 'number' || typeof id !== 'string') {
    throw invalid(where, 'cursor', 'not a cursor this store issued');
  }
  return { at, id };
}

/** Candidate turns in (`at`, `id`) order, ascending or descending, each once. */
function* inOrder(c: Candidates, order: 'asc' | 'desc'): Generator<Turn> {
  if (c.slices.length === 1) {
    const { list, lo, hi } = c.slices[0]!;
    if (order === 'asc') for (let i = lo; i < hi; i++) yield list[i]!;
    else for (let i = hi - 1; i >= lo; i--) yield list[i]!;
    return;
  }
  const merged: Turn[] = [];
  for (const { list, lo, hi } of c.slices) for (let i = lo; i < hi; i++) merged.push(list[i]!);
  merged.sort(compareTimed);
  if (order === 'asc') {
    for (let i = 0; i < merged.length; i++) if (i === 0 || merged[i] !== merged[i - 1]) yield merged[i]!;
  } else {
    for (let i = merged.length - 1; i >= 0; i--)
      if (i === merged.length - 1 || merged[i] !== merged[i + 1]) yield merged[i]!;
  }
}

/** The text the snippet comes from: the field holding more of the query terms (user input on a tie). */
function snippetSource(turn: Turn, terms: ReadonlySet<string>): string {
  const held = (text: string) => {
    const seen = new Set<string>();
    for (const term of tokenizeFast(text)) if (terms.has(term)) seen.add(term);
    return seen.size;
  };
  return held(turn.assistantResponse) > held(turn.userInput) ? turn.assistantResponse : turn.userInput;
}
