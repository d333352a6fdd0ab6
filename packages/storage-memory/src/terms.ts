import { tokenize } from '@convokit/core';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is 0x00 to 0x7f, controls included
const ASCII = /^[\x00-\x7f]*$/;
const ASCII_TERM = /[a-z0-9]+/g;

/**
 * Exactly core `tokenize`, faster for ASCII text (most chat text): NFKC leaves ASCII unchanged and
 * the only ASCII letters and digits are [a-z0-9] once lower-cased, so the Unicode work is skipped.
 */
export function terms(text: string): string[] {
  if (!ASCII.test(text)) return tokenize(text);
  return text.toLowerCase().match(ASCII_TERM) ?? [];
}
