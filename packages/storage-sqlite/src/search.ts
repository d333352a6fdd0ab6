import { makeSnippet, type NormalizedTurnFilter, type Turn, tokenize } from '@convokit/core';
import { TURN_SELECT } from './rows.js';
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

/** One statement of a search; `bounded` ones may answer `undefined` (see `searchPage`). */
export interface SearchStatement {
  sql: string;
  params: unknown[];
  bounded: boolean;
}

/** A row of a search statement: the turn row, its bm25 (lower is better) and terms matched. */
export interface SearchRowBase {
  rank: number;
  matched: number;
  /** Bounded statements: how many best scores were kept, and the worst of them. */
  top_n?: number;
  top_worst?: number;
}

/**
 * The statements of one search, to run in order until one answers (see `searchPage`).
 *
 * `all` mode (or one term): FTS5 scores every match (rowid and bm25 only), the filters see only
 * the narrow turns row, and the texts are read for the page alone. The page is every hit ranked
 * no worse than the limit-th best, so the tie-break on (at, id) among equal scores sees every
 * tied hit. The first statement keeps only the best `limit + TIE_MARGIN` scores (a bounded sort,
 * no copy of every match); it proves its page exact unless more than TIE_MARGIN hits tie with the
 * limit-th best, and then the second statement keeps every match. (No score column is named
 * `rank`: in a query on turns_fts that is FTS5's hidden rank column, which scores again.)
 */
export function searchSql(
  terms: readonly string[],
  mode: 'all' | 'any',
  filter: NormalizedTurnFilter,
  limit: number,
): SearchStatement[] {
  const where = turnFilterSql(filter);
  // TURN_SELECT is `SELECT <columns> FROM turns t JOIN turn_texts x ...`: reuse its column list.
  const columns = TURN_SELECT.slice('SELECT '.length, TURN_SELECT.indexOf(' FROM '));
  const filters = where.clauses.map((c) => ` AND ${c}`).join('');
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
    const page = (extra: string, from: string) => `
        SELECT ${columns}, h.score AS rank, ${terms.length} AS matched${extra}
        FROM ${from} JOIN turns t ON t.seq = h.seq JOIN turn_texts x ON x.seq = t.seq
        WHERE h.score <= ifnull(cut, 1e308)
        ORDER BY h.score, t.at DESC, t.id DESC
        LIMIT ?`;
    const edge = (stats: string) =>
      `,
        edge AS MATERIALIZED (SELECT (SELECT score FROM h ORDER BY score LIMIT 1 OFFSET ?) AS cut${stats})`;
    return [
      {
        sql: `${hits(' ORDER BY score LIMIT ?')}${edge(', (SELECT count(*) FROM h) AS top_n, (SELECT max(score) FROM h) AS top_worst')}${page(', edge.top_n AS top_n, edge.top_worst AS top_worst', 'h JOIN edge')}`,
        params: [match, ...where.params, limit + TIE_MARGIN, limit - 1, limit],
        bounded: true,
      },
      {
        sql: `${hits('')}${edge('')}${page('', 'h JOIN edge')}`,
        params: [match, ...where.params, limit - 1, limit],
        bounded: false,
      },
    ];
  }
  const perTerm = terms.map(() => 'SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?').join(' UNION ALL ');
  return [
    {
      sql: `
      WITH m AS (SELECT rowid AS seq, COUNT(*) AS matched FROM (${perTerm}) GROUP BY rowid)
      SELECT ${columns}, bm25(turns_fts) AS rank, m.matched AS matched
      FROM turns_fts JOIN m ON m.seq = turns_fts.rowid JOIN turns t ON t.seq = turns_fts.rowid
        JOIN turn_texts x ON x.seq = t.seq
      WHERE turns_fts MATCH ?${filters}
      ORDER BY m.matched DESC, rank, t.at DESC, t.id DESC
      LIMIT ?`,
      params: [...terms.map(phrase), ftsQuery(terms, mode), ...where.params, limit],
      bounded: false,
    },
  ];
}

/**
 * A statement's page, or `undefined` when a bounded statement cannot prove it exact: it kept
 * `top_n` best scores, the worst being `top_worst`; if it kept fewer than it asked for, it saw
 * every hit, and otherwise every hit it dropped scores at least `top_worst`, which must be
 * strictly worse than the last score on the page (rows hold at most `limit` hits).
 */
export function searchPage<R extends SearchRowBase>(
  rows: R[],
  limit: number,
  bounded: boolean,
): R[] | undefined {
  if (!bounded || rows.length === 0) return rows;
  const { top_n: kept, top_worst: worst } = rows[0]!;
  if (kept === undefined || worst === undefined || kept < limit + TIE_MARGIN) return rows;
  return rows.length === limit && worst > rows[limit - 1]!.rank ? rows : undefined;
}

/** What the FTS table indexes for a turn: core terms of both texts, space-separated. */
export function searchTerms(turn: Pick<Turn, 'userInput' | 'assistantResponse'>): string {
  return `${tokenize(turn.userInput).join(' ')} ${tokenize(turn.assistantResponse).join(' ')}`;
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
  const source =
    held(turn.assistantResponse) > held(turn.userInput) ? turn.assistantResponse : turn.userInput;
  return makeSnippet(source, terms);
}
