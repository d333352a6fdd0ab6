import { tokenize } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { turnVector } from '../src/search-vector.js';

/** The first, plain implementation: every position kept (capped), deduplicated at the end. */
function plainVector(userInput: string, assistantResponse: string): string {
  const positions = new Map<string, number[]>();
  let position = 0;
  for (const text of [userInput, assistantResponse]) {
    for (const term of tokenize(text)) {
      position += 1;
      if (Buffer.byteLength(term) > 2_000) continue;
      let list = positions.get(term);
      if (!list) {
        list = [];
        positions.set(term, list);
      }
      if (list.length < 256) list.push(Math.min(position, 16_383));
    }
  }
  const quote = (t: string) => `'${t.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  const parts: string[] = [];
  for (const [term, list] of positions) parts.push(`${quote(term)}:${[...new Set(list)].join(',')}`);
  return parts.join(' ');
}

describe('turnVector', () => {
  test('by hand: positions across both fields, quotes doubled', () => {
    expect(turnVector("It's a b", 'A b')).toBe("'it':1 's':2 'a':3,5 'b':4,6");
    expect(turnVector('', '')).toBe('');
  });

  test('the position cap: past 16383 a term keeps one capped position', () => {
    const text = `${'x '.repeat(16_400)}y y`;
    const vector = turnVector(text, '');
    expect(vector.endsWith("'y':16383")).toBe(true);
    expect(vector.startsWith(`'x':${Array.from({ length: 256 }, (_, i) => i + 1).join(',')} `)).toBe(true);
  });

  test('equals the plain implementation on random text', () => {
    const word = fc.oneof(
      fc.constantFrom(
        'a',
        'B',
        "o'k",
        'back\\slash',
        'é',
        'ﬁ',
        'x'.repeat(700),
        'ü'.repeat(700),
        'ü'.repeat(1_100),
        'x'.repeat(2_100),
      ),
      fc.string({ maxLength: 6 }),
    );
    const text = fc.array(word, { maxLength: 40 }).map((w) => w.join(' '));
    fc.assert(fc.property(text, text, (a, b) => turnVector(a, b) === plainVector(a, b)));
  });
});
