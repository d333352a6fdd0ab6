import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addHist, encodeHist, mergeHist, sumBelow } from '../src/rollups.js';

describe('rollup histogram blobs', () => {
  const entries = fc.array(
    fc.tuple(
      fc.oneof(fc.integer({ min: -1, max: 400 }), fc.integer({ min: 0, max: 2 ** 43 })),
      fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -(2 ** 50), max: 2 ** 50 })),
    ),
  );
  const mapOf = (pairs: Array<[number, number]>) => {
    const m = new Map<number, number>();
    for (const [k, v] of pairs) m.set(k, (m.get(k) ?? 0) + v);
    return m;
  };
  const nonZero = (m: Map<number, number>) => new Map([...m].filter(([, v]) => v !== 0));

  it('sumBelow adds the counts of the keys below a limit, as the decoded map does', () => {
    fc.assert(
      fc.property(entries, fc.integer({ min: -2, max: 2 ** 44 }), (pairs, limit) => {
        const m = mapOf(pairs);
        const blob = encodeHist(m);
        let expected = 0;
        // In key order, as the blob holds them (sums past 2^53 round the same way).
        for (const [k, v] of [...m].sort((a, b) => a[0] - b[0])) if (k < limit) expected += v;
        expect(blob ? sumBelow(blob, limit) : 0).toBe(expected);
      }),
    );
  });

  it('round-trips any whole-number map, dropping zero counts', () => {
    fc.assert(
      fc.property(entries, (pairs) => {
        const m = mapOf(pairs);
        const blob = encodeHist(m);
        const back = new Map<number, number>();
        if (blob) addHist(blob, back);
        expect(back).toEqual(nonZero(m));
      }),
    );
  });

  it('merges by adding counts', () => {
    fc.assert(
      fc.property(entries, entries, (a, b) => {
        const merged = mergeHist(encodeHist(mapOf(a)), encodeHist(mapOf(b)));
        const back = new Map<number, number>();
        if (merged) addHist(merged, back);
        const want = mapOf(a);
        for (const [k, v] of mapOf(b)) want.set(k, (want.get(k) ?? 0) + v);
        expect(back).toEqual(nonZero(want));
      }),
    );
  });

  it('encodes a small histogram in a few bytes', () => {
    // Buckets 3 and 5 with counts 1 and 300: deltas 3, 2 and counts 1, 300 as zigzag varints.
    expect([
      ...encodeHist(
        new Map([
          [3, 1],
          [5, 300],
        ]),
      )!,
    ]).toEqual([6, 2, 4, 0xd8, 0x04]);
  });
});
