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

export function searchSql(
  terms: readonly string[],
  mode: 'all' | 'any',
  filter: NormalizedTurnFilter,
  limit: number,
): { sql: string; params: unknown[] } {
  const where = turnFilterSql(filter);
  // TURN_SELECT is `SELECT <columns> FROM turns t JOIN turn_texts x ...`: reuse its column list.
  const columns = TURN_SELECT.slice('SELECT '.length, TURN_SELECT.indexOf(' FROM '));
  const filters = where.clauses.map((c) => ` AND ${c}`).join('');
  if (mode === 'all' || terms.length === 1) {
    // Rank first, join last: FTS5 scores every match (rowid and bm25 only, kept once in `m`),
    // the filters see only the narrow turns row, and the texts are read for the page alone. The
    // page is every hit ranked no worse than the limit-th best (`c`), so the tie-break on
    // (at, id) among equal scores still sees every tied hit; that cut is one sort with a limit
    // and one pass over `m`. (The score column is not named `rank`: in a query on turns_fts that
    // is FTS5's hidden rank column, which would score every match a second time.)
    // Without filters the cut reads `m` itself rather than a copy of it.
    const filtered = where.clauses.length
      ? `,
        f AS MATERIALIZED (
          SELECT m.seq, m.score FROM m JOIN turns t ON t.seq = m.seq WHERE ${where.clauses.join(' AND ')})`
      : '';
    const hits = where.clauses.length ? 'f' : 'm';
    return {
      sql: `
        WITH m AS MATERIALIZED (
          SELECT rowid AS seq, bm25(turns_fts) AS score FROM turns_fts WHERE turns_fts MATCH ?)${filtered},
        c AS MATERIALIZED (
          SELECT seq, score FROM ${hits}
          WHERE score <= ifnull((SELECT score FROM ${hits} ORDER BY score LIMIT 1 OFFSET ?), 1e308))
        SELECT ${columns}, c.score AS rank, ${terms.length} AS matched
        FROM c JOIN turns t ON t.seq = c.seq JOIN turn_texts x ON x.seq = t.seq
        ORDER BY c.score, t.at DESC, t.id DESC
        LIMIT ?`,
      params: [ftsQuery(terms, mode), ...where.params, limit - 1, limit],
    };
  }
  const perTerm = terms.map(() => 'SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?').join(' UNION ALL ');
  return {
    sql: `
      WITH m AS (SELECT rowid AS seq, COUNT(*) AS matched FROM (${perTerm}) GROUP BY rowid)
      SELECT ${columns}, bm25(turns_fts) AS rank, m.matched AS matched
      FROM turns_fts JOIN m ON m.seq = turns_fts.rowid JOIN turns t ON t.seq = turns_fts.rowid
        JOIN turn_texts x ON x.seq = t.seq
      WHERE turns_fts MATCH ?${filters}
      ORDER BY m.matched DESC, rank, t.at DESC, t.id DESC
      LIMIT ?`,
    params: [...terms.map(phrase), ftsQuery(terms, mode), ...where.params, limit],
  };
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
