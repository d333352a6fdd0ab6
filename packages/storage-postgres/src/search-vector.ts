import { tokenize } from '@convokit/core';

/** PostgreSQL keeps at most 256 positions per lexeme, each at most 16383. */
const MAX_POSITIONS = 256;
const MAX_POSITION = 16_383;
/** Lexemes longer than this (in bytes) are refused by tsvector; such runs are not searchable. */
const MAX_LEXEME_BYTES = 2_000;

/**
 * The tsvector of a turn, as a tsvector literal built from core `tokenize`, so PostgreSQL's own
 * parser (which splits some scripts and mixed runs differently) never decides what a term is.
 * Positions are kept so ts_rank counts repeated terms.
 */
export function turnVector(userInput: string, assistantResponse: string): string {
  // Per distinct term, in first-seen order: its "'term':p1,p2" text, how many positions it holds
  // and the last one (parallel arrays: this runs for every appended turn).
  const index = new Map<string, number>();
  const items: string[] = [];
  const counts: number[] = [];
  const lasts: number[] = [];
  let position = 0;
  const add = (terms: string[]) => {
    for (const term of terms) {
      position += 1;
      // A UTF-16 unit takes at most 3 UTF-8 bytes: only long runs need counting.
      if (term.length * 3 > MAX_LEXEME_BYTES && Buffer.byteLength(term) > MAX_LEXEME_BYTES) continue;
      // Positions only grow; past the cap they repeat it, and a repeat is dropped.
      const at = Math.min(position, MAX_POSITION);
      const k = index.get(term);
      if (k === undefined) {
        index.set(term, items.length);
        items.push(`${quoteLexeme(term)}:${at}`);
        counts.push(1);
        lasts.push(at);
      } else if (counts[k]! < MAX_POSITIONS && lasts[k] !== at) {
        items[k] += `,${at}`;
        counts[k]! += 1;
        lasts[k] = at;
      }
    }
  };
  add(tokenize(userInput));
  add(tokenize(assistantResponse));
  return items.join(' ');
}

/** A tsquery literal matching every term (`all`) or any (`any`). */
export function termsQuery(terms: readonly string[], mode: 'all' | 'any'): string {
  return terms.map(quoteLexeme).join(mode === 'all' ? ' & ' : ' | ');
}

const NEEDS_ESCAPE = /['\\]/;

function quoteLexeme(term: string): string {
  if (!NEEDS_ESCAPE.test(term)) return `'${term}'`;
  return `'${term.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
