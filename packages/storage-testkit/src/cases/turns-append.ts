import { ConvokitError } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects, expectValidation } from '../expect-error.js';
import { ids, makeTurn } from '../fixtures/builders.js';
import { fixtureTurns } from '../fixtures/turns.js';
import { defineCases, tryMutate } from './define.js';

export const turnsAppendCases = defineCases('turns', 'turns-append', {
  'append stores every turn of a batch and get returns each as given': async ({ turns }) => {
    const result = await turns.append(fixtureTurns);
    // `version` is an optional capability, checked in turns-version.
    expect({ ...result, version: undefined }).toEqual({ appended: fixtureTurns.length, skippedIds: [] });
    for (const turn of fixtureTurns) expect(await turns.get(turn.id)).toEqual(turn);
    expect(await turns.count()).toBe(fixtureTurns.length);
  },

  'a turn with only the required fields round-trips without gaining fields': async ({ turns }) => {
    const bare = makeTurn({ id: 'bare', userInput: '', assistantResponse: '' });
    await turns.append([bare]);
    const stored = await turns.get('bare');
    expect(stored).toEqual(bare);
    expect(Object.keys(stored ?? {}).sort()).toEqual(Object.keys(bare).sort());
  },

  'optional fields and JSON metadata round-trip exactly': async ({ turns }) => {
    const full = makeTurn({
      id: 'full',
      conversationId: 'conv',
      userId: 'user',
      persona: 'analyst',
      frameworks: ['b-framework', 'a-framework'],
      tools: ['t2', 't1'],
      mcpServers: ['m1'],
      latencyMs: 12.5,
      tokens: { input: 0, output: 7 },
      outcome: 'error',
      errorCode: 'E_X',
      feedback: -0.25,
      metadata: { a: 1, nested: { list: [1, 'two', null, true], empty: {} }, text: 'ü ✓' },
      userInput: 'Unicode: naïve café 日本語',
      assistantResponse: 'Line one\nline two',
    });
    await turns.append([full]);
    expect(await turns.get('full')).toEqual(full);
  },

  'get of an unknown id is undefined': async ({ turns }) => {
    expect(await turns.get('missing')).toBeUndefined();
    await turns.append([makeTurn({ id: 'present' })]);
    expect(await turns.get('missing')).toBeUndefined();
  },

  'an empty batch appends nothing': async ({ turns }) => {
    expect({ ...(await turns.append([])), version: undefined }).toEqual({ appended: 0, skippedIds: [] });
    expect(await turns.count()).toBe(0);
  },

  'successive batches add up and reads see them at once': async ({ turns }) => {
    await turns.append(fixtureTurns.slice(0, 5));
    expect(await turns.count()).toBe(5);
    await turns.append(fixtureTurns.slice(5));
    expect(await turns.count()).toBe(fixtureTurns.length);
    expect((await turns.aggregate({ measures: ['count'] })).rows[0]?.values.count).toBe(fixtureTurns.length);
  },

  'a batch with an already stored id is CONFLICT and writes nothing': async ({ turns }) => {
    await turns.append([makeTurn({ id: 'a', userInput: 'original' })]);
    await expectRejects(
      () =>
        turns.append([
          makeTurn({ id: 'b' }),
          makeTurn({ id: 'a', userInput: 'replacement' }),
          makeTurn({ id: 'c' }),
        ]),
      'CONFLICT',
    );
    expect(await turns.get('b')).toBeUndefined();
    expect(await turns.get('c')).toBeUndefined();
    expect((await turns.get('a'))?.userInput).toBe('original');
    expect(await turns.count()).toBe(1);
  },

  'a batch with one invalid turn is VALIDATION and writes nothing': async ({ turns }) => {
    const bad = { ...makeTurn({ id: 'bad' }), sessionId: '' };
    await expectValidation(
      () => turns.append([makeTurn({ id: 'good-1' }), bad, makeTurn({ id: 'good-2' })]),
      'sessionId',
    );
    expect(await turns.count()).toBe(0);
    expect(await turns.get('good-1')).toBeUndefined();
    const search = await turns.search('hello', { mode: 'any' });
    expect(search).toEqual([]);
  },

  'duplicate ids within one batch are VALIDATION and write nothing': async ({ turns }) => {
    await expectRejects(
      () =>
        turns.append([
          makeTurn({ id: 'x' }),
          makeTurn({ id: 'y' }),
          makeTurn({ id: 'x', userInput: 'again' }),
        ]),
      'VALIDATION',
    );
    expect(await turns.count()).toBe(0);
    // Also with ifExists: 'skip': skipping is about stored turns, not a malformed batch.
    await expectRejects(
      () => turns.append([makeTurn({ id: 'x' }), makeTurn({ id: 'x' })], { ifExists: 'skip' }),
      'VALIDATION',
    );
    expect(await turns.count()).toBe(0);
  },

  "ifExists 'skip' keeps stored turns, writes the rest and reports the skipped ids": async ({ turns }) => {
    await turns.append([
      makeTurn({ id: 'a', userInput: 'original a' }),
      makeTurn({ id: 'c', userInput: 'original c' }),
    ]);
    const result = await turns.append(
      [
        makeTurn({ id: 'a', userInput: 'new a' }),
        makeTurn({ id: 'b', userInput: 'new b' }),
        makeTurn({ id: 'c', userInput: 'new c' }),
        makeTurn({ id: 'd', userInput: 'new d' }),
      ],
      { ifExists: 'skip' },
    );
    expect(result.appended).toBe(2);
    expect([...result.skippedIds].sort()).toEqual(['a', 'c']);
    expect((await turns.get('a'))?.userInput).toBe('original a');
    expect((await turns.get('b'))?.userInput).toBe('new b');
    expect((await turns.get('c'))?.userInput).toBe('original c');
    expect(await turns.count()).toBe(4);
    // Skipped turns must not be counted twice by any read.
    const agg = await turns.aggregate({ measures: ['count'] });
    expect(agg.rows[0]?.values.count).toBe(4);
  },

  "ifExists 'error' (explicit) behaves like the default": async ({ turns }) => {
    await turns.append([makeTurn({ id: 'a' })]);
    await expectRejects(() => turns.append([makeTurn({ id: 'a' })], { ifExists: 'error' }), 'CONFLICT');
    expect(await turns.count()).toBe(1);
  },

  'concurrent batches sharing an id: exactly one batch is stored': async ({ turns }) => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        turns.append([makeTurn({ id: `own-${i}` }), makeTurn({ id: 'shared', userInput: `from ${i}` })]),
      ),
    );
    for (const r of results) {
      if (r.status === 'rejected' && !ConvokitError.is(r.reason, 'CONFLICT')) throw r.reason;
    }
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(await turns.count()).toBe(2);
    expect(await turns.get(`own-${winners[0]}`)).toBeDefined();
    expect((await turns.get('shared'))?.userInput).toBe(`from ${winners[0]}`);
  },

  "concurrent batches with ifExists 'skip' store a shared id once": async ({ turns }) => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        turns.append([makeTurn({ id: `own-${i}` }), makeTurn({ id: 'shared' })], { ifExists: 'skip' }),
      ),
    );
    expect(results.reduce((sum, r) => sum + r.appended, 0)).toBe(11);
    expect(results.flatMap((r) => r.skippedIds)).toEqual(Array(9).fill('shared'));
    expect(await turns.count()).toBe(11);
    expect((await turns.aggregate({ measures: ['count'] })).rows[0]?.values.count).toBe(11);
  },

  'token counts and sums beyond 32 bits are exact': async ({ turns }) => {
    const big = makeTurn({
      id: 'big',
      tokens: { input: 5_000_000_000, output: 2_147_483_648 },
      latencyMs: 999_999_999.5,
    });
    await turns.append([
      big,
      makeTurn({ id: 'big2', tokens: { input: 2_000_000_000, output: 2_147_483_648 } }),
    ]);
    expect(await turns.get('big')).toEqual(big);
    const result = await turns.aggregate({ measures: ['tokensIn', 'tokensOut', 'latencyAvg'] });
    expect(result.rows[0]?.values).toEqual({
      tokensIn: 7_000_000_000,
      tokensOut: 4_294_967_296,
      latencyAvg: 999_999_999.5,
    });
  },

  'mutating the input after append does not change the store': async ({ turns }) => {
    const input = makeTurn({
      id: 'm',
      frameworks: ['swot'],
      metadata: { nested: { n: 1 } },
      tokens: { input: 1, output: 2 },
    });
    const snapshot = structuredClone(input);
    await turns.append([input]);
    input.userInput = 'changed';
    input.frameworks.push('okr');
    (input.metadata!.nested as { n: number }).n = 2;
    input.tokens!.input = 99;
    expect(await turns.get('m')).toEqual(snapshot);
    expect(ids((await turns.list({ framework: 'okr' })).items)).toEqual([]);
  },

  'mutating a turn handed out (get, list, search) does not change the store': async ({ turns }) => {
    const original = makeTurn({
      id: 'm',
      userInput: 'pricing question',
      frameworks: ['swot'],
      metadata: { nested: { n: 1 } },
      tokens: { input: 1, output: 2 },
    });
    await turns.append([original]);
    const handedOut = [
      await turns.get('m'),
      (await turns.list()).items[0],
      (await turns.search('pricing'))[0]?.turn,
    ];
    for (const turn of handedOut) {
      expect(turn).toBeDefined();
      tryMutate(() => {
        turn!.userInput = 'changed';
      });
      tryMutate(() => {
        turn!.frameworks.push('okr');
      });
      tryMutate(() => {
        (turn!.metadata!.nested as { n: number }).n = 2;
      });
      tryMutate(() => {
        turn!.tokens!.input = 99;
      });
      expect(await turns.get('m')).toEqual(original);
    }
  },
});
