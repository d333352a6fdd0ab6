import { makeSnippet, type NormalizedTurnFilter, type SearchHit, type Turn, tokenize } from '@convokit/core';
import type { Connection } from './connection.js';
import { TURN_CELLS_SELECT, turnOfCells } from './rows.js';
import { type ScoredHits, scoreFromPostings } from './search-rank.js';
import { turnFilterSql } from './turn-filter-sql.js';

/**
 * Search ranks as the memory adapter does: turns holding more of the distinct query terms first
 * (this only differs between hits in `any` mode), then BM25 (FTS5's, over both columns as one
 * document), then newest `at`, then larger id. The score handed out is
 * `matched + bm25 / (1 + bm25)`, so a hit with more terms always scores higher.
 */

/** A quoted FTS5 string per term: terms are letters and digits only, so none needs escaping or reads as an operator. */
function phrase(term: string): string {
  return `"${term}"`;
}

export function ftsQuery(terms: readonly string[], mode: 'all' | 'any'): string {
  return terms.map(phrase).join(mode === 'all' ? ' AND ' : ' OR ');
}

/**
 * How many scores past the limit the first statement keeps: the page is exact when the worst of
 * them is strictly worse than the limit-th best, i.e. when fewer than this many hits tie with it.
 * (At 1M generated turns, 11 to 15 hits tie with the 20th best.)
 */
export const TIE_MARGIN = 64;

/**
 * A ranked hit before its row is read: turn seq, FTS5 bm25 (lower is better) and how many of the
 * distinct terms it holds.
 */
export interface RankedHit {
  seq: number;
  rank: number;
  matched: number;
}

/**
 * One statement that ranks hits. `all` mode statements return `[seq, bm25]` rows in page order;
 * `keep` says how many best scores a bounded one kept (see `pickPage`), undefined when it saw
 * every hit. The `any` statement returns `[seq, bm25, matched]` rows, already the page.
 */
export interface RankStatement {
  sql: string;
  params: unknown[];
  keep?: number;
}

/**
 * The statements of one search, to run in order until one answers (see `pickPage`).
 *
 * `all` mode (or one term): FTS5 scores every match (rowid and bm25 only), the filters see only
 * the narrow turns row, and only `[seq, bm25]` pairs come back; the texts are read for the page
 * alone (`pageTurns`). The page is every hit ranked no worse than the limit-th best, so the
 * tie-break on (at, id) among equal scores sees every tied hit. The first statement keeps only
 * the best `limit + TIE_MARGIN` scores (a bounded sort, no copy of every match) and orders just
 * those; it proves its page exact unless more than TIE_MARGIN hits tie with the limit-th best,
 * and then the second statement keeps every match and cuts at the limit-th best score. (No score
 * column is named `rank`: in a query on turns_fts that is FTS5's hidden rank column, which
 * scores again.)
 */
export function searchSql(
  terms: readonly string[],
  mode: 'all' | 'any',
  filter: NormalizedTurnFilter,
  limit: number,
): RankStatement[] {
  const where = turnFilterSql(filter);
  if (mode === 'all' || terms.length === 1) {
    const match = ftsQuery(terms, mode);
    const scored = 'SELECT rowid AS seq, bm25(turns_fts) AS score FROM turns_fts WHERE turns_fts MATCH ?';
    // With filters every match is kept once (`m`) and filtered on the narrow turns row, so FTS5
    // is not re-run per candidate; without them the hits are the FTS5 scan itself.
    const hits = (keep: string) =>
      where.clauses.length
        ? `WITH m AS MATERIALIZED (${scored}),
        h AS MATERIALIZED (
          SELECT m.seq, m.score FROM m JOIN turns t ON t.seq = m.seq
          WHERE ${where.clauses.join(' AND ')}${keep})`
        : `WITH h AS MATERIALIZED (${scored}${keep})`;
    const order = (cut: string) => `
        SELECT h.seq, h.score FROM h JOIN turns t ON t.seq = h.seq${cut}
        ORDER BY h.score, t.at DESC, t.id DESC`;
    const keep = limit + TIE_MARGIN;
    return [
      { sql: `${hits(' ORDER BY score LIMIT ?')}${order('')}`, params: [match, ...where.params, keep], keep },
      {
        sql: `${hits('')}
        ${order(' WHERE h.score <= ifnull((SELECT score FROM h ORDER BY score LIMIT 1 OFFSET ?), 1e308)')}
        LIMIT ?`,
        params: [match, ...where.params, limit - 1, limit],
      },
    ];
  }
  const filters = where.clauses.map((c) => ` AND ${c}`).join('');
  const perTerm = terms.map(() => 'SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?').join(' UNION ALL ');
  return [
    {
      sql: `
      WITH m AS (SELECT rowid AS seq, COUNT(*) AS matched FROM (${perTerm}) GROUP BY rowid)
      SELECT t.seq, bm25(turns_fts) AS score, m.matched
      FROM turns_fts JOIN m ON m.seq = turns_fts.rowid JOIN turns t ON t.seq = turns_fts.rowid
      WHERE turns_fts MATCH ?${filters}
      ORDER BY m.matched DESC, score, t.at DESC, t.id DESC
      LIMIT ?`,
      params: [...terms.map(phrase), ftsQuery(terms, mode), ...where.params, limit],
    },
  ];
}

/**
 * A statement's page, or `undefined` when a bounded statement cannot prove it exact. Rows are
 * `[seq, bm25, matched?]` in rank order. A bounded statement kept the `keep` best scores: if it
 * returned fewer, it saw every hit; otherwise every hit it dropped scores at least as badly as
 * the worst it kept (its last row, rows being ordered by score first), which must be strictly
 * worse than the last score on the page, or a dropped hit could tie with it.
 */
export function pickPage(
  rows: unknown[][],
  limit: number,
  keep: number | undefined,
  terms: number,
): RankedHit[] | undefined {
  // keep > limit, so a full bounded result always has a limit-th row.
  if (
    keep !== undefined &&
    rows.length >= keep &&
    !((rows.at(-1)![1] as number) > (rows[limit - 1]![1] as number))
  ) {
    return undefined;
  }
  return rows.slice(0, limit).map((r) => ({
    seq: r[0] as number,
    rank: r[1] as number,
    matched: r.length > 2 ? (r[2] as number) : terms,
  }));
}

/**
 * `seq IN (...)` over a list of seqs: up to SEQ_LIST_MAX as bound parameters (one cached
 * statement per length), longer as one JSON array.
 */
const SEQ_LIST_MAX = 64;

export function seqsIn(seqs: readonly number[]): { sql: string; params: unknown[] } {
  if (seqs.length <= SEQ_LIST_MAX) return { sql: `(${seqs.map(() => '?').join(', ')})`, params: [...seqs] };
  return { sql: '(SELECT value FROM json_each(?))', params: [JSON.stringify(seqs)] };
}

const CELLS_WITH_SEQ = TURN_CELLS_SELECT.replace('SELECT ', 'SELECT t.seq, ');

/**
 * The page's turns in rank order, read by seq in one statement as arrays of cells (the seq,
 * then `TURN_CELLS_SELECT`'s): a page of 20 at 1M turns took 91 us this way against 222 us as row
 * objects keyed by a JSON array of seqs (better-sqlite3 builds an object per row).
 */
export function pageTurns(conn: Connection, hits: readonly RankedHit[]): Turn[] {
  const list = seqsIn(hits.map((h) => h.seq));
  const rows = conn
    .prepare(`${CELLS_WITH_SEQ} WHERE t.seq IN ${list.sql}`)
    .raw(true)
    .all(...list.params) as unknown[][];
  const bySeq = new Map(rows.map((r) => [r[0] as number, r]));
  return hits.map((h) => turnOfCells(bySeq.get(h.seq)!.slice(1)));
}

/** A search of distinct, non-empty terms: rank, read the page's rows, cut the snippets. */
export function searchTurns(
  conn: Connection,
  terms: readonly string[],
  mode: 'all' | 'any',
  filter: NormalizedTurnFilter,
  limit: number,
): SearchHit[] {
  // One read transaction: the ranking's several statements and the page's rows see one snapshot
  // (a write from another process between them could otherwise remove a ranked hit's row).
  return conn.db.transaction(() => searchInSnapshot(conn, terms, mode, filter, limit))();
}

function searchInSnapshot(
  conn: Connection,
  terms: readonly string[],
  mode: 'all' | 'any',
  filter: NormalizedTurnFilter,
  limit: number,
): SearchHit[] {
  let hits: RankedHit[] | undefined;
  if (mode === 'all' || terms.length === 1) {
    const scored = noFilter(filter) ? scoreFromPostings(conn, terms, limit) : undefined;
    if (scored) hits = pageOfScored(conn, scored, limit, terms.length);
  }
  hits ??= ftsPage(conn, terms, mode, filter, limit);
  return hits?.length ? searchHitsOf(conn, hits, terms) : [];
}

/** The page as the FTS5 statements rank it (`any` mode, filters, and what the postings must equal). */
export function ftsPage(
  conn: Connection,
  terms: readonly string[],
  mode: 'all' | 'any',
  filter: NormalizedTurnFilter,
  limit: number,
): RankedHit[] | undefined {
  for (const { sql, params, keep } of searchSql(terms, mode, filter, limit)) {
    const hits = pickPage(
      conn
        .prepare(sql)
        .raw()
        .all(...params) as unknown[][],
      limit,
      keep,
      terms.length,
    );
    if (hits) return hits;
  }
  return undefined;
}

/** The page's turns with their scores and snippets. */
export function searchHitsOf(conn: Connection, hits: RankedHit[], terms: readonly string[]): SearchHit[] {
  const termSet = new Set(terms);
  return pageTurns(conn, hits).map((turn, i) => ({
    turn,
    score: searchScore(hits[i]!.matched, hits[i]!.rank),
    snippet: snippetOf(turn, termSet),
  }));
}

function noFilter(filter: NormalizedTurnFilter): boolean {
  return turnFilterSql(filter).clauses.length === 0;
}

/**
 * The page of scored hits, as the FTS5 statements order it: bm25, then newest `at`, then larger
 * id. Every hit scoring no worse than the limit-th best is a candidate (ties included); SQLite
 * orders the candidates by (at, id) (its collation, not JavaScript's) and the scores decide first.
 */
export function pageOfScored(conn: Connection, hits: ScoredHits, limit: number, terms: number): RankedHit[] {
  const { seqs, ranks } = hits;
  if (seqs.length === 0) return [];
  // The limit best ranks, ascending (a short insertion-sorted list: most hits fail one compare).
  const best: number[] = [];
  for (let k = 0; k < ranks.length; k++) {
    const rank = ranks[k]!;
    if (best.length === limit && rank >= best[limit - 1]!) continue;
    let i = best.length === limit ? limit - 1 : best.length;
    while (i > 0 && best[i - 1]! > rank) {
      best[i] = best[i - 1]!;
      i--;
    }
    best[i] = rank;
  }
  const cutoff = best[best.length - 1]!;
  const candidates: RankedHit[] = [];
  for (let k = 0; k < ranks.length; k++) {
    if (ranks[k]! <= cutoff) candidates.push({ seq: seqs[k]!, rank: ranks[k]!, matched: terms });
  }
  const list = seqsIn(candidates.map((h) => h.seq));
  const order = conn
    .prepare(`SELECT seq FROM turns t WHERE t.seq IN ${list.sql} ORDER BY t.at DESC, t.id DESC`)
    .pluck()
    .all(...list.params) as number[];
  const position = new Map(order.map((seq, i) => [seq, i]));
  return candidates
    .sort((a, b) => a.rank - b.rank || position.get(a.seq)! - position.get(b.seq)!)
    .slice(0, limit);
}

export function searchScore(matched: number, rank: number): number {
  const bm25 = Math.max(0, -rank);
  return matched + bm25 / (1 + bm25);
}

/** The snippet comes from the field holding more of the query terms (user input on a tie), as in core's reference adapter. */
export function snippetOf(turn: Turn, terms: ReadonlySet<string>): string {
  const held = (text: string) => {
    const seen = new Set<string>();
    for (const term of tokenize(text)) if (terms.has(term)) seen.add(term);
    return seen.size;
  };
  // The response can hold more terms only if the user input lacks one: skip tokenizing it otherwise.
  const inUser = held(turn.userInput);
  const source =
    inUser < terms.size && held(turn.assistantResponse) > inUser ? turn.assistantResponse : turn.userInput;
  return makeSnippet(source, terms);
}
