import type { NormalizedTurnFilter, Turn } from '@convokit/core';
import { TurnColumns } from './columns.js';
import { HourRollup } from './rollup.js';
import { compareTimed, insertOne, insertSorted, lowerBound, type Timed, upperBound } from './sorted.js';

/** Filter fields served by a posting list, and the turn field each reads. */
const INDEXED = {
  sessionId: 'sessionId',
  conversationId: 'conversationId',
  userId: 'userId',
  persona: 'persona',
  framework: 'frameworks',
  tool: 'tools',
  mcpServer: 'mcpServers',
} as const;
type IndexedField = keyof typeof INDEXED;
const FIELDS = Object.keys(INDEXED) as IndexedField[];
const MULTI_VALUED: ReadonlySet<IndexedField> = new Set(['framework', 'tool', 'mcpServer']);

/** A run `list[lo..hi)` of a list sorted by (`at`, `id`). */
export interface Slice {
  readonly list: readonly Turn[];
  readonly lo: number;
  readonly hi: number;
}

/** Turns that may match a filter, from the most selective index. */
export interface Candidates {
  slices: Slice[];
  /** No turn is in two slices (false for a union of multi-valued postings). */
  disjoint: boolean;
  /** Every turn in the slices matches the filter; no check needed. */
  exact: boolean;
  /** Turns in the slices, counting a shared one once per slice. */
  size: number;
}

/** Strict keyset bounds, from a cursor. */
export interface KeyBounds {
  after?: Timed;
  before?: Timed;
}

/**
 * Turns by id, in (`at`, `id`) order, and in one sorted posting list per value of each filterable
 * field, so a filter starts from the smallest list that serves it and a time range or a cursor
 * is two binary searches.
 */
export class TurnIndex {
  readonly byId = new Map<string, Turn>();
  readonly sorted: Turn[] = [];
  /** `sorted` as columns, for aggregate scans. */
  readonly columns = new TurnColumns();
  /** Per-hour sums of `sorted`, for aggregates that need no single turn. */
  readonly rollup = new HourRollup(this.columns);
  /**
   * Rows of `sorted` the columns and rollups hold; appends in time order leave the rows after it
   * for `ready()` (the next aggregate), so an append costs what it did without them.
   */
  #ready = 0;
  readonly #postings = new Map<IndexedField, Map<string, Turn[]>>(FIELDS.map((f) => [f, new Map()]));

  /** Adds turns not yet stored; `batch` must be sorted by (`at`, `id`). */
  add(batch: readonly Turn[]): void {
    if (batch.length === 0) return;
    for (const turn of batch) this.byId.set(turn.id, turn);
    const last = this.sorted[this.sorted.length - 1];
    const from =
      last === undefined || compareTimed(last, batch[0]!) < 0
        ? this.sorted.length
        : upperBound(this.sorted, batch[0]!.at, batch[0]!.id);
    // A batch landing among the rows already held rewrites them from its insertion point and
    // adds itself to the rollups now (after catching up with earlier appends).
    const early = from < this.#ready;
    if (early) this.ready();
    insertSorted(this.sorted, batch);
    if (early) {
      this.columns.sync(this.sorted, from);
      this.rollup.add(batch);
      this.#ready = this.sorted.length;
    }
    const sessions = this.#postings.get('sessionId')!;
    const conversations = this.#postings.get('conversationId')!;
    const users = this.#postings.get('userId')!;
    const personas = this.#postings.get('persona')!;
    const frameworks = this.#postings.get('framework')!;
    const tools = this.#postings.get('tool')!;
    const servers = this.#postings.get('mcpServer')!;
    for (const turn of batch) {
      post(sessions, turn.sessionId, turn);
      if (turn.conversationId !== undefined) post(conversations, turn.conversationId, turn);
      if (turn.userId !== undefined) post(users, turn.userId, turn);
      if (turn.persona !== undefined) post(personas, turn.persona, turn);
      for (const name of turn.frameworks) post(frameworks, name, turn);
      for (const name of turn.tools) post(tools, name, turn);
      for (const name of turn.mcpServers) post(servers, name, turn);
    }
  }

  /** Removes every turn with `at < before` and returns them. */
  removeBefore(before: number): Turn[] {
    const cut = lowerBound(this.sorted, before, '');
    if (cut === 0) return [];
    this.ready();
    const removed = this.sorted.splice(0, cut);
    this.columns.dropFront(removed.length);
    this.#ready -= removed.length;
    this.rollup.removeBefore(before, this.sorted);
    for (const turn of removed) this.byId.delete(turn.id);
    for (const postings of this.#postings.values()) {
      for (const [key, list] of postings) {
        const n = lowerBound(list, before, '');
        if (n === list.length) postings.delete(key);
        else if (n > 0) list.splice(0, n);
      }
    }
    return removed;
  }

  clear(): void {
    this.byId.clear();
    this.sorted.length = 0;
    this.columns.clear();
    this.rollup.clear();
    this.#ready = 0;
    for (const postings of this.#postings.values()) postings.clear();
  }

  /** Brings the columns and rollups up to `sorted` (the rows appended since the last call). */
  ready(): void {
    const n = this.sorted.length;
    if (this.#ready === n) return;
    this.columns.sync(this.sorted, this.#ready);
    this.rollup.addRows(this.#ready, n);
    this.#ready = n;
  }

  /** Rows `lo..hi` of `sorted` (and of `columns`) inside the filter's time range. */
  timeRange(f: NormalizedTurnFilter): { lo: number; hi: number } {
    const { lo, hi } = slice(this.sorted, f, {});
    return { lo, hi };
  }

  /** The smallest set of sorted runs holding every turn that can match `f` within `bounds`. */
  candidates(f: NormalizedTurnFilter, bounds: KeyBounds = {}): Candidates {
    const all = slice(this.sorted, f, bounds);
    let best: Candidates = { slices: [all], disjoint: true, exact: false, size: all.hi - all.lo };
    let bestField: IndexedField | undefined;
    for (const field of FIELDS) {
      const values = f[field];
      if (values === undefined) continue;
      const postings = this.#postings.get(field)!;
      const slices: Slice[] = [];
      let size = 0;
      for (const value of values) {
        const list = postings.get(value);
        if (list === undefined) continue;
        const s = slice(list, f, bounds);
        if (s.hi > s.lo) {
          slices.push(s);
          size += s.hi - s.lo;
        }
      }
      if (size < best.size || bestField === undefined) {
        best = { slices, disjoint: !MULTI_VALUED.has(field) || slices.length <= 1, exact: false, size };
        bestField = field;
      }
    }
    best.exact =
      f.outcome === undefined && FIELDS.every((field) => field === bestField || f[field] === undefined);
    return best;
  }
}

function post(postings: Map<string, Turn[]>, key: string, turn: Turn): void {
  const list = postings.get(key);
  if (list === undefined) postings.set(key, [turn]);
  else insertOne(list, turn);
}

function slice(list: readonly Turn[], f: NormalizedTurnFilter, bounds: KeyBounds): Slice {
  let lo = f.from === undefined ? 0 : lowerBound(list, f.from, '');
  let hi = f.to === undefined ? list.length : lowerBound(list, f.to, '');
  if (bounds.after) lo = Math.max(lo, upperBound(list, bounds.after.at, bounds.after.id));
  if (bounds.before) hi = Math.min(hi, lowerBound(list, bounds.before.at, bounds.before.id));
  return { list, lo, hi: Math.max(lo, hi) };
}

/** Calls `visit` once for each candidate turn that matches `f` (in no particular order). */
export function forEachMatch(c: Candidates, matches: (t: Turn) => boolean, visit: (t: Turn) => void): void {
  const seen = c.disjoint ? undefined : new Set<Turn>();
  for (const { list, lo, hi } of c.slices) {
    for (let i = lo; i < hi; i++) {
      const turn = list[i]!;
      if (seen) {
        if (seen.has(turn)) continue;
        seen.add(turn);
      }
      if (c.exact || matches(turn)) visit(turn);
    }
  }
}
