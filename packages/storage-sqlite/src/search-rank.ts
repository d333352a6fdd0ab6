import type { Connection } from './connection.js';
import { type DecodedPostings, decodeSegments, MAX_LEVEL } from './search-postings.js';

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
  const block = conn.prepare('SELECT block FROM turns_fts_data WHERE id = 1').pluck().get() as Buffer | undefined;
  if (!block) return undefined;
  const at = { pos: 0 };
  return { rows: readVarint(block, at), tokens: readVarint(block, at) };
}

/** A term's postings, its segments read in seq order. */
function termPostings(conn: Connection, term: string): DecodedPostings {
  const rows = conn
    .prepare(`SELECT first_seq, docs, postings FROM search_postings WHERE level IN (${LEVELS}) AND term = ?`)
    .raw()
    .all(term) as Array<[number, number, Buffer]>;
  rows.sort((a, b) => a[0] - b[0]);
  let docs = 0;
  for (const r of rows) docs += r[1];
  return decodeSegments(
    rows.map((r) => r[2]),
    docs,
  );
}

/**
 * The hits of `terms` (all of them) with their bm25, or undefined when this path does not apply
 * (a non-ASCII term, or too many turns outside the index).
 */
export function scoreFromPostings(conn: Connection, terms: readonly string[]): ScoredHits | undefined {
  if (!terms.every((t) => ASCII_TERM.test(t))) return undefined;
  const irregular = conn
    .prepare(`SELECT seq FROM search_irregular LIMIT ${IRREGULAR_MAX + 1}`)
    .pluck()
    .all() as number[];
  if (irregular.length > IRREGULAR_MAX) return undefined;
  const stats = averages(conn);
  if (!stats || stats.rows === 0) return NO_HITS;
  const lists = terms.map((t) => termPostings(conn, t));
  const dfs = lists.map((l) => l.seqs.length);
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
  const avgdl = stats.tokens / stats.rows;
  const hits = intersectAndScore(lists, idfs, avgdl);
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

/**
 * Turns holding every list's term, scored as FTS5's bm25 does (terms summed in query order):
 * the shortest list is walked and each of its seqs looked up in the others (all ascending).
 */
function intersectAndScore(lists: readonly DecodedPostings[], idfs: readonly number[], avgdl: number): ScoredHits {
  let lead = 0;
  for (let i = 1; i < lists.length; i++) if (lists[i]!.seqs.length < lists[lead]!.seqs.length) lead = i;
  const leader = lists[lead]!;
  const size = leader.seqs.length;
  const seqs = new Float64Array(size);
  const ranks = new Float64Array(size);
  const at = new Int32Array(lists.length);
  const cursors = new Int32Array(lists.length);
  let n = 0;
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
    for (let i = 0; i < lists.length; i++) {
      const tf = lists[i]!.tfs[at[i]!]!;
      score += idfs[i]! * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + (B * length) / avgdl)));
    }
    seqs[n] = seq;
    ranks[n] = -1.0 * score;
    n++;
  }
  return { seqs: seqs.subarray(0, n), ranks: ranks.subarray(0, n) };
}
