import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketValue,
  HISTOGRAM_RELATIVE_ERROR,
  LatencyHistogram,
  latencyBucket,
  ZERO_BUCKET,
} from '../src/index.js';

function exactNearestRank(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('LatencyHistogram', () => {
  it('reports a single value exactly and is empty-safe', () => {
    const h = new LatencyHistogram();
    expect(h.quantile(0.5)).toBeNull();
    expect(h.mean).toBeNull();
    h.add(250);
    expect(h.quantile(0)).toBe(250);
    expect(h.quantile(0.99)).toBe(250);
    expect(h.mean).toBe(250);
  });

  it('uses nearest rank: p50 of 1..10 is the 5th value, p95 the 10th', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 10; v++) h.add(v * 100);
    // rank ceil(0.5 * 10) = 5 -> 500; ceil(0.95 * 10) = 10 -> 1000 (clamped to max).
    expect(h.quantile(0.5)!).toBeCloseTo(500, -1);
    expect(Math.abs(h.quantile(0.5)! - 500) / 500).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR);
    expect(h.quantile(0.95)).toBe(1000);
    expect(h.count).toBe(10);
    expect(h.sum).toBe(5500);
  });

  it('puts zero and sub-microsecond values in the zero bucket, reported as 0', () => {
    expect(latencyBucket(0)).toBe(ZERO_BUCKET);
    expect(latencyBucket(0.0005)).toBe(ZERO_BUCKET);
    expect(bucketValue(ZERO_BUCKET)).toBe(0);
    const h = new LatencyHistogram().add(0).add(0).add(10);
    expect(h.quantile(0.5)).toBe(0);
  });

  it('rejects negative and non-finite values', () => {
    expect(() => new LatencyHistogram().add(-1)).toThrow(RangeError);
    expect(() => new LatencyHistogram().add(Number.NaN)).toThrow(RangeError);
    expect(() => new LatencyHistogram().quantile(1.5)).toThrow(RangeError);
  });

  it('every quantile is within 1% of the exact nearest-rank value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 1e7, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const h = new LatencyHistogram();
          for (const v of values) h.add(v);
          const exact = exactNearestRank(values, q);
          const estimate = h.quantile(q)!;
          expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(exact * HISTOGRAM_RELATIVE_ERROR + 1e-9);
        },
      ),
    );
  });

  it('merging histograms equals one histogram of all values (what rollups rely on)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 120_000 }), { maxLength: 50 }), { maxLength: 6 }),
        (parts) => {
          const whole = new LatencyHistogram();
          const merged = new LatencyHistogram();
          for (const part of parts) {
            const h = new LatencyHistogram();
            for (const v of part) {
              h.add(v);
              whole.add(v);
            }
            merged.merge(h);
          }
          expect(merged.toJSON()).toEqual(whole.toJSON());
          for (const q of [0.5, 0.95, 0.99]) expect(merged.quantile(q)).toBe(whole.quantile(q));
        },
      ),
    );
  });

  it('round-trips through JSON and through pre-bucketed counts identically', () => {
    const values = [3, 3, 17, 250, 251, 1200, 40_000];
    const h = new LatencyHistogram();
    for (const v of values) h.add(v);
    const back = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())));
    const fromBuckets = new LatencyHistogram().addBuckets(h.entries(), { sum: h.sum, min: 3, max: 40_000 });
    for (const q of [0, 0.25, 0.5, 0.9, 0.99, 1]) {
      expect(back.quantile(q)).toBe(h.quantile(q));
      expect(fromBuckets.quantile(q)).toBe(h.quantile(q));
    }
  });
});
