import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketStart, bucketStarts, dayOfWeek, hourOfDay, nextBucketStart } from '../src/index.js';

const at = (iso: string) => Date.parse(iso);

describe('UTC time buckets', () => {
  it('aligns hours, days, ISO weeks and months in UTC', () => {
    const t = at('2026-03-04T15:42:10.123Z'); // a Wednesday
    expect(bucketStart('hour', t)).toBe(at('2026-03-04T15:00:00Z'));
    expect(bucketStart('day', t)).toBe(at('2026-03-04T00:00:00Z'));
    expect(bucketStart('week', t)).toBe(at('2026-03-02T00:00:00Z')); // Monday
    expect(bucketStart('month', t)).toBe(at('2026-03-01T00:00:00Z'));
    expect(hourOfDay(t)).toBe(15);
    expect(dayOfWeek(t)).toBe(2); // Monday 0, Wednesday 2
  });

  it('puts Sunday at the end of the ISO week', () => {
    const sunday = at('2026-03-08T23:59:59Z');
    expect(dayOfWeek(sunday)).toBe(6);
    expect(bucketStart('week', sunday)).toBe(at('2026-03-02T00:00:00Z'));
    expect(dayOfWeek(at('2026-03-09T00:00:00Z'))).toBe(0);
  });

  it('steps months of different lengths and enumerates buckets over a range', () => {
    expect(nextBucketStart('month', at('2026-01-01T00:00:00Z'))).toBe(at('2026-02-01T00:00:00Z'));
    expect(nextBucketStart('month', at('2026-12-01T00:00:00Z'))).toBe(at('2027-01-01T00:00:00Z'));
    expect(bucketStarts('day', at('2026-03-01T12:00:00Z'), at('2026-03-03T00:00:00Z'))).toEqual([
      at('2026-03-01T00:00:00Z'),
      at('2026-03-02T00:00:00Z'),
    ]);
  });

  it('every instant lies in [start, next start) of its bucket', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: at('2100-01-01T00:00:00Z') }),
        fc.constantFrom('hour', 'day', 'week', 'month') as fc.Arbitrary<'hour' | 'day' | 'week' | 'month'>,
        (t, bucket) => {
          const start = bucketStart(bucket, t);
          expect(start).toBeLessThanOrEqual(t);
          expect(nextBucketStart(bucket, start)).toBeGreaterThan(t);
          expect(bucketStart(bucket, start)).toBe(start);
        },
      ),
    );
  });
});
