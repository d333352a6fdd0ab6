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
  const positions = new Map<string, number[]>();
  let position = 0;
  for (const text of [userInput, assistantResponse]) {
    for (const term of tokenize(text)) {
      position += 1;
      // A UTF-16 unit takes at most 3 UTF-8 bytes: only long runs need counting.
      if (term.length * 3 > MAX_LEXEME_BYTES && Buffer.byteLength(term) > MAX_LEXEME_BYTES) continue;
      let list = positions.get(term);
      if (!list) {
        list = [];
        positions.set(term, list);
      }
      if (list.length >= MAX_POSITIONS) continue;
      // Positions only grow; past the cap they repeat it, and a repeat is dropped.
      const at = Math.min(position, MAX_POSITION);
      if (list[list.length - 1] !== at) list.push(at);
    }
  }
  let out = '';
  for (const [term, list] of positions) {
    if (out !== '') out += ' ';
    out += `${quoteLexeme(term)}:${list.join(',')}`;
  }
  return out;
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
