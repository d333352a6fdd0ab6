import { SNIPPET_CLOSE, SNIPPET_OPEN } from './schemas/search.js';

const TERM = /[\p{L}\p{N}]+/gu;

/** Search terms of a text: runs of letters and digits, lower-cased (NFKC). */
export function tokenize(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(TERM) ?? [];
}

/** Distinct terms, in first-seen order. */
export function distinctTerms(text: string): string[] {
  return [...new Set(tokenize(text))];
}

/**
 * An excerpt of `text` of about `width` characters around the first matched term, every
 * whole-word match of `terms` wrapped in SNIPPET_OPEN/CLOSE, with `…` where text was cut.
 */
export function makeSnippet(text: string, terms: ReadonlySet<string>, width = 120): string {
  const matches: Array<{ start: number; end: number }> = [];
  for (const m of text.matchAll(TERM)) {
    if (terms.has(m[0].normalize('NFKC').toLowerCase())) {
      matches.push({ start: m.index, end: m.index + m[0].length });
    }
  }
  const first = matches[0];
  const center = first ? first.start : 0;
  let from = Math.max(0, center - Math.floor(width / 3));
  const to = Math.min(text.length, from + width);
  from = Math.max(0, Math.min(from, to - width));
  let out = from > 0 ? '…' : '';
  let cursor = from;
  for (const m of matches) {
    if (m.start < from || m.end > to) continue;
    out += text.slice(cursor, m.start) + SNIPPET_OPEN + text.slice(m.start, m.end) + SNIPPET_CLOSE;
    cursor = m.end;
  }
  out += text.slice(cursor, to);
  if (to < text.length) out += '…';
  return out;
}
