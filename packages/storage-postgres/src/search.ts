import {
  distinctTerms,
  makeSnippet,
  normalizeTurnFilter,
  type SearchHit,
  type SearchOptionsInput,
  SearchOptionsSchema,
  SearchTextSchema,
  type Turn,
  tokenize,
  validate,
} from '@convokit/core';
import type { Db } from './db.js';
import { Params } from './params.js';
import { termsQuery } from './search-vector.js';
import { turnFilterSql } from './turn-filter.js';
import { parseTurn } from './turns.js';

/**
 * Matching and ranking run in PostgreSQL (GIN index on the tsvector, ts_rank), ties by newest
 * `at` then `id`. The snippet is cut in JS with core `makeSnippet`, so its terms are exactly the
 * core tokenizer's (ts_headline would re-parse the text with PostgreSQL's parser).
 */
export async function searchTurns(
  db: Db,
  text: string,
  options: SearchOptionsInput = {},
): Promise<SearchHit[]> {
  db.assertOpen();
  const query = validate(SearchTextSchema, text, 'turns.search');
  const opts = validate(SearchOptionsSchema, options, 'turns.search options');
  const terms = distinctTerms(query);
  const p = new Params();
  const q = p.add(termsQuery(terms, opts.mode), 'tsquery');
  // Distinct query terms held, as the reference adapter ranks first; ts_rank (term frequency) next.
  const matched = terms
    .map((t) => `(t.search @@ ${p.add(termsQuery([t], 'all'), 'tsquery')})::int`)
    .join(' + ');
  const where = turnFilterSql(normalizeTurnFilter(opts.filter), p, db.S);
  return db.read('turns.search', async (sql) => {
    const rows = await sql.unsafe<{ body: string; score: number }[]>(
      `SELECT body, (matched + rank / (1 + rank))::float8 AS score FROM (
         SELECT t.body, t.at, t.id, (${matched})::float8 AS matched, ts_rank(t.search, ${q})::float8 AS rank
         FROM ${db.S}.turns t
         WHERE t.search @@ ${q} AND ${where.join(' AND ')}) hits
       ORDER BY matched DESC, rank DESC, at DESC, id DESC
       LIMIT ${opts.limit}`,
      p.values as never[],
      { prepare: true },
    );
    const termSet = new Set(terms);
    return rows.map((row) => {
      const turn = parseTurn(row.body);
      return { turn, score: row.score, snippet: makeSnippet(snippetSource(turn, termSet), termSet) };
    });
  });
}

/** The field holding more distinct query terms (user input on a tie), as the reference adapter picks. */
function snippetSource(turn: Turn, terms: ReadonlySet<string>): string {
  const held = (text: string) => {
    const seen = new Set<string>();
    for (const term of tokenize(text)) if (terms.has(term)) seen.add(term);
    return seen.size;
  };
  return held(turn.assistantResponse) > held(turn.userInput) ? turn.assistantResponse : turn.userInput;
}
