import { tokenize } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { terms } from '../src/terms.js';

describe('terms', () => {
  it('equals core tokenize on any text, ASCII or not', () => {
    const ascii = fc.string({ unit: fc.constantFrom(...'aZ09 ,.-_\n\t!é'.split('')), maxLength: 60 });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), ascii, fc.string()), (text) => {
        expect(terms(text)).toEqual(tokenize(text));
      }),
      { numRuns: 2000 },
    );
    expect(terms('Hello, WORLD 42x_y')).toEqual(['hello', 'world', '42x', 'y']);
    expect(terms('Ｆｕｌｌ width ﬁ')).toEqual(tokenize('Ｆｕｌｌ width ﬁ'));
  });
});
