import type { Connection } from './connection.js';
import {
  bucketLow,
  bucketOfClass,
  type DecodedPostings,
  decodeClass,
  decodeLevel0,
  RecentLengths,
  type SegmentClass,
  segmentClasses,
} from './search-codec.js';
import { MAX_LEVEL } from './search-postings.js';

/**
 * Ranks an `all`-mode search without filters from the postings index (search-postings.ts),
 * with FTS5's own bm25 arithmetic (fts5_aux.c `fts5Bm25Function`), so scores, hits and order
 * are those of the FTS5 statements in search.ts bit for bit:
 *
 *   idf(t)  = ln((N - n(t) + 0.5) / (n(t) + 0.5)), 1e-6 when not positive
 *   bm25(d) = -sum over terms in query order of idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl))
 *
 * N and the token total behind avgdl are read from FTS5's own averages record (they still
 * count turns deleted since, as FTS5's do), n(t) is the number of turns holding t, and `ln` is
 * SQLite's (the same C `log` FTS5 calls). Turns the index does not hold (search_irregular) are
 * scored by FTS5 in one statement; past IRREGULAR_MAX of them this path steps aside.
 */

const K1 = 1.2;
const B = 0.75;
const IRREGULAR_MAX = 64;
const ASCII_TERM = /^[a-z0-9]+$/;
const LEVELS = Array.from({ length: MAX_LEVEL }, (_, i) => i).join(', ');

/** Hits before their rows are read: seqs and FTS5 bm25 (lower is better), index for index. */
export interface ScoredHits {
  seqs: Float64Array;
  ranks: Float64Array;
}

const NO_HITS: ScoredHits = { seqs: new Float64Array(0), ranks: new Float64Array(0) };

/** FTS5 varint (SQLite's: big-endian 7-bit groups, a full ninth byte), at `pos`. */
function readVarint(b: Buffer, at: { pos: number }): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const byte = b[at.pos++]!;
    v = v * 0x80 + (byte & 0x7f);
    if (byte < 0x80) return v;
  }
  return v * 0x100 + b[at.pos++]!;
}

/** FTS5's row count and token total (`%_data` id 1: varint rows, then a varint per column). */
function averages(conn: Connection): { rows: number; tokens: number } | undefined {
  const block = conn.prepare('SELECT block FROM turns_fts_data WHERE id = 1').pluck().get() as
    | Buffer
    | undefined;
  if (!block) return undefined;
  const at = { pos: 0 };
  return { rows: readVarint(block, at), tokens: readVarint(block, at) };
}

/**
 * A term as the index holds it: its level-0 postings decoded (the last few appends), and the
 * merged segments' classes, each class's bodies in seq order, not yet decoded.
 */
interface TermIndex {
  recent: DecodedPostings;
  classes: Map<number, SegmentClass[]>;
  docs: number;
}

function termIndex(conn: Connection, term: string, lengths: () => RecentLengths): TermIndex {
  const rows = conn
    .prepare(
      `SELECT level, first_seq, docs, postings FROM search_postings WHERE level IN (${LEVELS}) AND term = ?`,
    )
    .raw()
    .all(term) as Array<[number, number, number, Buffer]>;
  rows.sort((a, b) => a[1] - b[1]);
  const recent: Buffer[] = [];
  let recentDocs = 0;
  let docs = 0;
  const classes = new Map<number, SegmentClass[]>();
  for (const [level, , n, bytes] of rows) {
    docs += n;
    if (level === 0) {
      recent.push(bytes);
      recentDocs += n;
      continue;
    }
    for (const c of segmentClasses(bytes)) {
      const parts = classes.get(c.cls);
      if (parts) parts.push(c);
      else classes.set(c.cls, [c]);
    }
  }
  return { recent: decodeLevel0(recent, recentDocs, recentDocs > 0 ? lengths() : undefined), classes, docs };
}

/** FTS5's bm25 term weight, in its order of operations (also the bound of a class, from its best tf and shortest length). */
function weight(idf: number, tf: number, length: number, avgdl: number): number {
  return idf * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + (B * length) / avgdl)));
}

/**
 * The hits of `terms` (all of them) with their bm25, or undefined when this path does not apply
 * (a non-ASCII term, or too many turns outside the index).
 */
export function scoreFromPostings(
  conn: Connection,
  terms: readonly string[],
  limit: number,
): ScoredHits | undefined {
  if (!terms.every((t) => ASCII_TERM.test(t))) return undefined;
  const irregular = conn
    .prepare(`SELECT seq FROM search_irregular LIMIT ${IRREGULAR_MAX + 1}`)
    .pluck()
    .all() as number[];
  if (irregular.length > IRREGULAR_MAX) return undefined;
  const stats = averages(conn);
  if (!stats || stats.rows === 0) return NO_HITS;
  let recentLengths: RecentLengths | undefined;
  const lengths = () => {
    recentLengths ??= new RecentLengths(
      conn.prepare('SELECT first_seq, lengths FROM search_lengths ORDER BY first_seq').raw().all() as Array<
        [number, Buffer]
      >,
    );
    return recentLengths;
  };
  const index = terms.map((t) => termIndex(conn, t, lengths));
  const dfs = index.map((t) => t.docs);
  if (irregular.length > 0) {
    const inIrregular = conn.prepare(
      'SELECT count(*) FROM turns_fts WHERE turns_fts MATCH ? AND rowid IN (SELECT seq FROM search_irregular)',
    );
    terms.forEach((t, i) => {
      dfs[i]! += inIrregular.pluck().get(`"${t}"`) as number;
    });
  }
  if (dfs.some((n) => n === 0)) return NO_HITS;
  const idf = conn.prepare('SELECT ln((? - ? + 0.5) / (? + 0.5))').pluck();
  const idfs = dfs.map((n) => {
    const v = idf.get(stats.rows, n, n) as number;
    return v <= 0 ? 1e-6 : v;
  });
  const hits = topHits(index, idfs, stats.tokens / stats.rows, limit);
  if (irregular.length > 0) {
    const rows = conn
      .prepare(
        'SELECT rowid, bm25(turns_fts) FROM turns_fts WHERE turns_fts MATCH ? AND rowid IN (SELECT seq FROM search_irregular)',
      )
      .raw()
      .all(terms.map((t) => `"${t}"`).join(' AND ')) as Array<[number, number]>;
    if (rows.length > 0) {
      const seqs = new Float64Array(hits.seqs.length + rows.length);
      const ranks = new Float64Array(seqs.length);
      seqs.set(hits.seqs);
      ranks.set(hits.ranks);
      rows.forEach(([seq, rank], i) => {
        seqs[hits.seqs.length + i] = seq;
        ranks[hits.seqs.length + i] = rank;
      });
      return { seqs, ranks };
    }
  }
  return hits;
}

/** Hits found so far, and the limit best scores among them (descending). */
class Collector {
  seqs: number[] = [];
  ranks: number[] = [];
  readonly best: number[] = [];

  constructor(readonly limit: number) {}

  add(seq: number, score: number): void {
    this.seqs.push(seq);
    this.ranks.push(-1.0 * score);
    const best = this.best;
    if (best.length === this.limit && score <= best[this.limit - 1]!) return;
    let i = best.length === this.limit ? this.limit - 1 : best.length;
    while (i > 0 && best[i - 1]! < score) {
      best[i] = best[i - 1]!;
      i--;
    }
    best[i] = score;
  }

  /** Whether a group of turns scoring at most `bound` may still reach the page (ties included). */
  wants(bound: number): boolean {
    return this.best.length < this.limit || bound >= this.best[this.limit - 1]!;
  }
}

/**
 * Every hit that can reach the page: all of the recent (level-0) postings, then the merged
 * classes in groups of one length bucket and one tf class per term, best bound first, until a
 * group's bound is below the limit-th best score found. A turn has the same length in every
 * term's postings, so a group is the intersection of one class per term in one bucket.
 */
function topHits(
  index: readonly TermIndex[],
  idfs: readonly number[],
  avgdl: number,
  limit: number,
): ScoredHits {
  const found = new Collector(limit);
  intersectAndScore(
    index.map((t) => t.recent),
    idfs,
    avgdl,
    found,
  );
  const groups: Array<{ bound: number; classes: number[] }> = [];
  const byBucket = index.map((t) => {
    const m = new Map<number, number[]>();
    for (const cls of t.classes.keys()) {
      const b = bucketOfClass(cls);
      const list = m.get(b);
      if (list) list.push(cls);
      else m.set(b, [cls]);
    }
    return m;
  });
  for (const [bucket, first] of byBucket[0]!) {
    let combos: number[][] = first.map((c) => [c]);
    for (let i = 1; i < index.length && combos.length > 0; i++) {
      const theirs = byBucket[i]!.get(bucket) ?? [];
      combos = combos.flatMap((combo) => theirs.map((c) => [...combo, c]));
    }
    const low = bucketLow(bucket);
    for (const classes of combos) {
      let bound = 0;
      classes.forEach((cls, i) => {
        const maxTf = Math.max(...index[i]!.classes.get(cls)!.map((p) => p.maxTf));
        bound += weight(idfs[i]!, maxTf, low, avgdl);
      });
      groups.push({ bound, classes });
    }
  }
  groups.sort((a, b) => b.bound - a.bound);
  const decoded = index.map(() => new Map<number, DecodedPostings>());
  for (const { bound, classes } of groups) {
    if (!found.wants(bound)) break;
    const lists = classes.map((cls, i) => {
      let d = decoded[i]!.get(cls);
      if (!d) {
        d = decodeClass(index[i]!.classes.get(cls)!);
        decoded[i]!.set(cls, d);
      }
      return d;
    });
    intersectAndScore(lists, idfs, avgdl, found);
  }
  return { seqs: Float64Array.from(found.seqs), ranks: Float64Array.from(found.ranks) };
}

/**
 * Turns holding every list's term, scored as FTS5's bm25 does (terms summed in query order):
 * the shortest list is walked and each of its seqs looked up in the others (all ascending).
 */
function intersectAndScore(
  lists: readonly DecodedPostings[],
  idfs: readonly number[],
  avgdl: number,
  found: Collector,
): void {
  let lead = 0;
  for (let i = 1; i < lists.length; i++) if (lists[i]!.seqs.length < lists[lead]!.seqs.length) lead = i;
  const leader = lists[lead]!;
  const size = leader.seqs.length;
  const at = new Int32Array(lists.length);
  const cursors = new Int32Array(lists.length);
  for (let k = 0; k < size; k++) {
    const seq = leader.seqs[k]!;
    let held = true;
    for (let i = 0; i < lists.length && held; i++) {
      if (i === lead) {
        at[i] = k;
        continue;
      }
      const other = lists[i]!.seqs;
      let c = cursors[i]!;
      while (c < other.length && other[c]! < seq) c++;
      cursors[i] = c;
      held = c < other.length && other[c] === seq;
      at[i] = c;
    }
    if (!held) continue;
    const length = leader.lengths[k]!;
    let score = 0;
    for (let i = 0; i < lists.length; i++) score += weight(idfs[i]!, lists[i]!.tfs[at[i]!]!, length, avgdl);
    found.add(seq, score);
  }
}
