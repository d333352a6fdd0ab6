import { LatencyHistogram, latencyBucket, ZERO_BUCKET } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BucketSums } from '../src/bucket-sums.js';
import { GroupTable } from '../src/group-table.js';
import { addHist, encodeHist } from '../src/rollups.js';

describe('BucketSums', () => {
  const bucket = fc.oneof(
    fc.integer({ min: -400, max: 1200 }),
    fc.constant(ZERO_BUCKET),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  );
  const pairs = fc.array(fc.tuple(bucket, fc.integer({ min: 1, max: 2 ** 40 })), { maxLength: 80 });

  it('sums (bucket, count) pairs and blobs as a Map does, in bucket order', () => {
    fc.assert(
      fc.property(fc.array(pairs, { maxLength: 6 }), pairs, (blobs, loose) => {
        const want = new Map<number, number>();
        const sums = new BucketSums();
        for (const p of blobs) {
          const m = new Map<number, number>();
          for (const [b, n] of p) m.set(b, (m.get(b) ?? 0) + n);
          const blob = encodeHist(m);
          if (!blob) continue;
          addHist(blob, want);
          sums.addBlob(blob);
        }
        for (const [b, n] of loose) {
          want.set(b, (want.get(b) ?? 0) + n);
          sums.add(b, n);
        }
        expect(sums.entries()).toEqual([...want].sort((a, b) => a[0] - b[0]));
      }),
    );
  });

  it('gives the quantile core LatencyHistogram gives for the same buckets, min and max', () => {
    const latency = fc.oneof(fc.constant(0), fc.double({ min: 0.0005, max: 1e6, noNaN: true }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(latency, fc.integer({ min: 1, max: 3 })), { maxLength: 30 }),
        fc.oneof(fc.constantFrom(0, 0.5, 0.95, 0.99, 1), fc.double({ min: 0, max: 1, noNaN: true })),
        (values, q) => {
          const sums = new BucketSums();
          const histogram = new LatencyHistogram();
          for (const [ms, times] of values) {
            sums.add(latencyBucket(ms), times);
            histogram.add(ms, times);
          }
          const min = histogram.min ?? 0;
          const max = histogram.max ?? 0;
          const fromBuckets = new LatencyHistogram().addBuckets(sums.entries(), { sum: 0, min, max });
          expect(sums.quantile(q, min, max)).toBe(fromBuckets.quantile(q));
          expect(sums.quantile(q, min, max)).toBe(histogram.quantile(q));
        },
      ),
    );
    expect(new BucketSums().quantile(0.5, 0, 0)).toBeNull();
    // Ten values a bucket apart, once each: every rank is its own bucket, so each q tells.
    const sums = new BucketSums();
    const histogram = new LatencyHistogram();
    for (let ms = 100; ms <= 1000; ms += 100) {
      sums.add(latencyBucket(ms), 1);
      histogram.add(ms);
    }
    for (let k = 0; k <= 100; k++) {
      expect(sums.quantile(k / 100, 100, 1000), `q ${k / 100}`).toBe(histogram.quantile(k / 100));
    }
  });

  it('keeps real latencies densely and the zero bucket apart', () => {
    const sums = new BucketSums();
    for (const ms of [2000, 0, 150, 30_000, 2000]) sums.add(latencyBucket(ms), 1);
    expect(sums.entries()).toEqual([
      [ZERO_BUCKET, 1],
      [latencyBucket(150), 1],
      [latencyBucket(2000), 2],
      [latencyBucket(30_000), 1],
    ]);
  });
});

describe('GroupTable', () => {
  it('finds a group by its key values, telling 1 from "1" and null from a value', () => {
    const table = new GroupTable<{ keys: unknown[] }>(2);
    const make = (keys: unknown[]) => ({ keys });
    const a = table.getOrCreate([1, 'x', 'extra cell'], make);
    const b = table.getOrCreate(['1', 'x'], make);
    const c = table.getOrCreate([null, 'x'], make);
    const d = table.getOrCreate([undefined, 'x'], make);
    expect(a.keys).toEqual([1, 'x']);
    expect(b).not.toBe(a);
    expect(d).toBe(c);
    expect(table.get([1, 'x'])).toBe(a);
    expect(table.get([1, 'y'])).toBeUndefined();
    expect(table.get([2, 'x'])).toBeUndefined();
    expect(table.values()).toEqual([a, b, c]);
  });

  it('has one group without keys', () => {
    const table = new GroupTable<{ n: number }>(0);
    expect(table.get([])).toBeUndefined();
    const g = table.getOrCreate(['ignored'], () => ({ n: 1 }));
    expect(table.getOrCreate([], () => ({ n: 2 }))).toBe(g);
    expect(table.get([])).toBe(g);
  });
});
