import { type Turn, tokenize } from '@convokit/core';

interface Posting {
  turns: Turn[];
  /** Term frequency in each turn, parallel to `turns`. */
  tfs: number[];
}

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
 */
export class SearchIndex {
  readonly #postings = new Map<string, Posting>();
  readonly #lengths = new Map<Turn, number>();
  #totalLength = 0;

  add(turn: Turn): void {
    const terms = tokenize(`${turn.userInput}\n${turn.assistantResponse}`);
    this.#lengths.set(turn, terms.length);
    this.#totalLength += terms.length;
    const counts = new Map<string, number>();
    for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
    for (const [term, tf] of counts) {
      const posting = this.#postings.get(term);
      if (posting === undefined) this.#postings.set(term, { turns: [turn], tfs: [tf] });
      else {
        posting.turns.push(turn);
        posting.tfs.push(tf);
      }
    }
  }

  /** Forgets `removed`, which are exactly the indexed turns with `at < before`. */
  removeBefore(before: number, removed: readonly Turn[]): void {
    const touched = new Set<string>();
    for (const turn of removed) {
      this.#totalLength -= this.#lengths.get(turn) ?? 0;
      this.#lengths.delete(turn);
      for (const term of tokenize(`${turn.userInput}\n${turn.assistantResponse}`)) touched.add(term);
    }
    for (const term of touched) {
      const posting = this.#postings.get(term);
      if (posting === undefined) continue;
      const turns: Turn[] = [];
      const tfs: number[] = [];
      for (let i = 0; i < posting.turns.length; i++) {
        if (posting.turns[i]!.at >= before) {
          turns.push(posting.turns[i]!);
          tfs.push(posting.tfs[i]!);
        }
      }
      if (turns.length === 0) this.#postings.delete(term);
      else this.#postings.set(term, { turns, tfs });
    }
  }

  clear(): void {
    this.#postings.clear();
    this.#lengths.clear();
    this.#totalLength = 0;
  }

  /** Turns matching `terms` (all or any) that pass `accept`, best first, at most `limit`. */
  search(
    terms: readonly string[],
    mode: 'all' | 'any',
    accept: (t: Turn) => boolean,
    limit: number,
  ): RankedTurn[] {
    const docs = this.#lengths.size;
    if (docs === 0) return [];
    const postings: Posting[] = [];
    for (const term of terms) {
      const posting = this.#postings.get(term);
      if (posting !== undefined) postings.push(posting);
      else if (mode === 'all') return [];
    }
    // Rarest first: in `all` mode the first list bounds the candidates.
    postings.sort((a, b) => a.turns.length - b.turns.length);
    const avgLength = this.#totalLength / docs;
    const scores = new Map<Turn, RankedTurn>();
    postings.forEach((posting, n) => {
      const df = posting.turns.length;
      const idf = Math.log(1 + (docs - df + 0.5) / (df + 0.5));
      for (let i = 0; i < df; i++) {
        const turn = posting.turns[i]!;
        let entry = scores.get(turn);
        if (entry === undefined) {
          if (mode === 'all' && n > 0) continue;
          entry = { turn, matched: 0, bm25: 0 };
          scores.set(turn, entry);
        }
        const tf = posting.tfs[i]!;
        const norm = 1 - B + (B * this.#lengths.get(turn)!) / avgLength;
        entry.matched++;
        entry.bm25 += (idf * tf * (K1 + 1)) / (tf + K1 * norm);
      }
    });
    const ranked: RankedTurn[] = [];
    for (const entry of scores.values()) {
      if (mode === 'all' && entry.matched < postings.length) continue;
      if (accept(entry.turn)) ranked.push(entry);
    }
    ranked.sort(byRank);
    if (ranked.length > limit) ranked.length = limit;
    return ranked;
  }
}

function byRank(a: RankedTurn, b: RankedTurn): number {
  if (a.matched !== b.matched) return b.matched - a.matched;
  if (a.bm25 !== b.bm25) return b.bm25 - a.bm25;
  if (a.turn.at !== b.turn.at) return b.turn.at - a.turn.at;
  return a.turn.id < b.turn.id ? 1 : a.turn.id > b.turn.id ? -1 : 0;
}
