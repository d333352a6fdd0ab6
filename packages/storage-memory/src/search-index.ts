import type { Turn } from '@convokit/core';
import { terms as tokenize } from './terms.js';

/**
 * Postings hold document numbers and term frequencies as small integers rather than references to
 * turns: appending then writes no pointers into long-lived arrays, which keeps garbage collection
 * cheap while the index grows by tens of thousands of turns a second.
 */
interface Posting {
  /** One number per document holding the term: `doc * TF_SPAN + tf`, in document order. */
  entries: number[];
  /** Document of the last entry: a repeat of the term in it bumps that entry's tf. */
  lastDoc: number;
}

/**
 * Term frequencies share a number with the document number (one array per term instead of two:
 * about 15% faster appends). The cap is out of reach: two 1,000,000-character fields hold at most
 * about 1,000,000 terms.
 */
const TF_SPAN = 2 ** 20;
const TF_MAX = TF_SPAN - 1;

export interface RankedTurn {
  turn: Turn;
  /** Distinct query terms the turn holds. */
  matched: number;
  /** BM25 over the matched terms. */
  bm25: number;
}

const K1 = 1.2;
const B = 0.75;

/**
 * An inverted index over `userInput` and `assistantResponse` (one document per turn, terms from
 * core `tokenize`). Ranking: turns holding more of the distinct query terms first, then BM25,
 * then newest `at`, then `id` descending. Matching more terms decides first so that, in `any`
 * mode, a turn with every term always ranks above one with only some, whatever their lengths.
 *
 * Turns are tokenized at the next search, not when they are added: appends and replays then cost
 * no text work, and a search first indexes what arrived since the previous one, so it answers
 * exactly as if every turn had been indexed on add (document numbers play no part in the ranking).
 * The work is the same; it moves from the writer to the first reader after a run of writes.
 */
export class SearchIndex {
  readonly #postings = new Map<string, Posting>();
  /** Added turns not tokenized yet, in arrival order. */
  #pending: Turn[] = [];
  /** Turn by document number; `undefined` once removed. */
  #docs: Array<Turn | undefined> = [];
  /** Terms in each document, by document number. */
  #lengths: number[] = [];
  #live = 0;
  #totalLength = 0;
  #bm25 = new Float64Array(0);
  #matched = new Uint32Array(0);

  /** Queues `turn` for indexing (see the class comment). */
  add(turn: Turn): void {
    this.#pending.push(turn);
  }

  /** Turns added and not yet in the postings (indexed at the next search). */
  get pending(): number {
    return this.#pending.length;
  }

  /** Indexes every queued turn. */
  catchUp(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    for (const turn of pending) this.#index(turn);
  }

  #index(turn: Turn): void {
    const doc = this.#docs.length;
    const terms = tokenize(`${turn.userInput}\n${turn.assistantResponse}`);
    this.#docs.push(turn);
    this.#lengths.push(terms.length);
    this.#live++;
    this.#totalLength += terms.length;
    const first = doc * TF_SPAN + 1;
    for (const term of terms) {
      const posting = this.#postings.get(term);
      if (posting === undefined) {
        this.#postings.set(term, { entries: [first], lastDoc: doc });
      } else if (posting.lastDoc !== doc) {
        posting.entries.push(first);
        posting.lastDoc = doc;
      } else {
        // Terms of one document arrive together, so a repeat is always the last entry.
        const entries = posting.entries;
        const last = entries.length - 1;
        if (entries[last]! % TF_SPAN < TF_MAX) entries[last]!++;
      }
    }
  }

  /** Forgets every turn with `at < before`. */
  removeBefore(before: number): void {
    // Queued turns were never tokenized: dropping them from the queue is all they need.
    if (this.#pending.length > 0) this.#pending = this.#pending.filter((turn) => turn.at >= before);
    const touched = new Set<string>();
    const docs = this.#docs;
    for (let doc = 0; doc < docs.length; doc++) {
      const turn = docs[doc];
      if (turn === undefined || turn.at >= before) continue;
      docs[doc] = undefined;
      this.#live--;
      this.#totalLength -= this.#lengths[doc]!;
      for (const term of tokenize(`${turn.userInput}\n${turn.assistantResponse}`)) touched.add(term);
    }
    if (this.#live * 2 < docs.length) {
      this.#renumber();
      return;
    }
    for (const term of touched) {
      const posting = this.#postings.get(term);
      if (posting === undefined) continue;
      const entries = posting.entries.filter((entry) => docs[Math.floor(entry / TF_SPAN)] !== undefined);
      if (entries.length === 0) this.#postings.delete(term);
      else this.#postings.set(term, { entries, lastDoc: Math.floor(entries.at(-1)! / TF_SPAN) });
    }
  }

  /** Drops the holes left by removed documents, so the index does not grow with retention. */
  #renumber(): void {
    const remap = new Int32Array(this.#docs.length).fill(-1);
    const docs: Turn[] = [];
    const lengths: number[] = [];
    this.#docs.forEach((turn, doc) => {
      if (turn === undefined) return;
      remap[doc] = docs.length;
      docs.push(turn);
      lengths.push(this.#lengths[doc]!);
    });
    for (const [term, posting] of this.#postings) {
      const entries: number[] = [];
      for (const entry of posting.entries) {
        const doc = remap[Math.floor(entry / TF_SPAN)]!;
        if (doc >= 0) entries.push(doc * TF_SPAN + (entry % TF_SPAN));
      }
      if (entries.length === 0) this.#postings.delete(term);
      else this.#postings.set(term, { entries, lastDoc: Math.floor(entries.at(-1)! / TF_SPAN) });
    }
    this.#docs = docs;
    this.#lengths = lengths;
  }

  clear(): void {
    this.#pending = [];
    this.#postings.clear();
    this.#docs = [];
    this.#lengths = [];
    this.#live = 0;
    this.#totalLength = 0;
  }

  /** Turns matching `terms` (all or any) that pass `accept`, best first, at most `limit`. */
  search(
    terms: readonly string[],
    mode: 'all' | 'any',
    accept: (t: Turn) => boolean,
    limit: number,
  ): RankedTurn[] {
    this.catchUp();
    const n = this.#live;
    if (n === 0) return [];
    const postings: Posting[] = [];
    for (const term of terms) {
      const posting = this.#postings.get(term);
      if (posting !== undefined) postings.push(posting);
      else if (mode === 'all') return [];
    }
    // Rarest first: in `all` mode the first list bounds the candidates.
    postings.sort((a, b) => a.entries.length - b.entries.length);
    const avgLength = this.#totalLength / n;
    const { bm25, matched } = this.#scratch();
    const touched: number[] = [];
    try {
      postings.forEach((posting, p) => {
        const df = posting.entries.length;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        for (let i = 0; i < df; i++) {
          const entry = posting.entries[i]!;
          const tf = entry % TF_SPAN;
          const doc = (entry - tf) / TF_SPAN;
          if (matched[doc] === 0) {
            if (mode === 'all' && p > 0) continue;
            touched.push(doc);
          }
          const norm = 1 - B + (B * this.#lengths[doc]!) / avgLength;
          matched[doc]!++;
          bm25[doc]! += (idf * tf * (K1 + 1)) / (tf + K1 * norm);
        }
      });
      const best = new TopK(limit);
      for (const doc of touched) {
        if (mode === 'all' && matched[doc]! < postings.length) continue;
        const turn = this.#docs[doc]!;
        if (accept(turn)) best.offer({ turn, matched: matched[doc]!, bm25: bm25[doc]! });
      }
      return best.sorted();
    } finally {
      for (const doc of touched) {
        matched[doc] = 0;
        bm25[doc] = 0;
      }
    }
  }

  /** Per-document accumulators reused across searches (reset after each), grown with the index. */
  #scratch(): { bm25: Float64Array; matched: Uint32Array } {
    const size = this.#docs.length;
    if (this.#bm25.length < size) {
      const capacity = Math.max(1024, Math.ceil(size * 1.25));
      this.#bm25 = new Float64Array(capacity);
      this.#matched = new Uint32Array(capacity);
    }
    return { bm25: this.#bm25, matched: this.#matched };
  }
}

/** The best `k` of what it is offered (a binary heap with the worst at the top). */
class TopK {
  readonly #heap: RankedTurn[] = [];

  constructor(private readonly k: number) {}

  offer(item: RankedTurn): void {
    const heap = this.#heap;
    if (heap.length < this.k) {
      heap.push(item);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (byRank(heap[i]!, heap[parent]!) <= 0) break; // not worse than its parent
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
      return;
    }
    if (byRank(item, heap[0]!) >= 0) return; // no better than the worst kept
    heap[0] = item;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && byRank(heap[l]!, heap[worst]!) > 0) worst = l;
      if (r < heap.length && byRank(heap[r]!, heap[worst]!) > 0) worst = r;
      if (worst === i) break;
      [heap[i], heap[worst]] = [heap[worst]!, heap[i]!];
      i = worst;
    }
  }

  sorted(): RankedTurn[] {
    return this.#heap.slice().sort(byRank);
  }
}

function byRank(a: RankedTurn, b: RankedTurn): number {
  if (a.matched !== b.matched) return b.matched - a.matched;
  if (a.bm25 !== b.bm25) return b.bm25 - a.bm25;
  if (a.turn.at !== b.turn.at) return b.turn.at - a.turn.at;
  return a.turn.id < b.turn.id ? 1 : a.turn.id > b.turn.id ? -1 : 0;
}
