/**
 * UTC calendar buckets, shared by every adapter and manager so that "day 2026-03-02" means the
 * same span everywhere. Weeks are ISO weeks, starting Monday 00:00 UTC.
 */
export type TimeBucket = 'hour' | 'day' | 'week' | 'month';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** Start (epoch ms) of the bucket containing `at`. */
export function bucketStart(bucket: TimeBucket, at: number): number {
  switch (bucket) {
    case 'hour':
      return at - mod(at, HOUR_MS);
    case 'day':
      return at - mod(at, DAY_MS);
    case 'week': {
      const day = at - mod(at, DAY_MS);
      return day - dayOfWeek(day) * DAY_MS;
    }
    case 'month': {
      const d = new Date(at);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

/** Start of the bucket after the one starting at `start`. */
export function nextBucketStart(bucket: TimeBucket, start: number): number {
  switch (bucket) {
    case 'hour':
      return start + HOUR_MS;
    case 'day':
      return start + DAY_MS;
    case 'week':
      return start + WEEK_MS;
    case 'month': {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}

/** Every bucket start overlapping [from, to), ascending. */
export function bucketStarts(bucket: TimeBucket, from: number, to: number): number[] {
  const starts: number[] = [];
  for (let s = bucketStart(bucket, from); s < to; s = nextBucketStart(bucket, s)) starts.push(s);
  return starts;
}

/** 0..23, UTC. */
export function hourOfDay(at: number): number {
  return Math.floor(mod(at, DAY_MS) / HOUR_MS);
}

/** 0 = Monday .. 6 = Sunday, UTC (ISO order). */
export function dayOfWeek(at: number): number {
  // 1970-01-01 was a Thursday (ISO day 3 counting Monday as 0).
  return mod(Math.floor(at / DAY_MS) + 3, 7);
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
