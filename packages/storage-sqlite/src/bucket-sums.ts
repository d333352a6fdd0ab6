import { bucketValue, ZERO_BUCKET } from '@convokit/core';

const NO_COUNTS = new Float64Array(0);

/** Most buckets kept densely: 32 KiB, a span of latencies of a factor of e^80. */
const MAX_DENSE = 4096;

/**
 * Latency bucket counts summed from many stored histograms (a 90-day query adds up a blob per
 * day and key, each a few hundred buckets). Buckets of real latencies are a few hundred
 * consecutive integers (core `latencyBucket`: about 50 per factor of e), so they are summed in a
 * dense array grown around the buckets seen, not a Map (a Map update per pair was most of the
 * cost). The zero bucket, and any bucket that would stretch the array past MAX_DENSE, go to a Map.
 */
export class BucketSums {
  // A group of an aggregate without percentiles never adds a bucket: nothing is allocated
  // until the first one (990 day x persona groups each made an array and a Map before).
  #counts = NO_COUNTS;
  /** The bucket of `#counts[0]`. */
  #base = 0;
  #sparse: Map<number, number> | undefined;

  add(bucket: number, count: number): void {
    let i = bucket - this.#base;
    if (i < 0 || i >= this.#counts.length) {
      i = this.#grow(bucket);
      if (i < 0) {
        this.#sparse ??= new Map();
        this.#sparse.set(bucket, (this.#sparse.get(bucket) ?? 0) + count);
        return;
      }
    }
    this.#counts[i]! += count;
  }

  /**
   * Adds a stored histogram (rollups.ts `encodeHist`: zigzag varints, buckets as ascending
   * deltas), decoded inline: this runs once per pair of every blob a query reads.
   */
  addBlob(blob: Uint8Array): void {
    let i = 0;
    let bucket = 0;
    let second = false;
    const n = blob.length;
    while (i < n) {
      let z = 0;
      let scale = 1;
      for (;;) {
        const byte = blob[i++]!;
        z += (byte & 127) * scale;
        if (byte < 128) break;
        scale *= 128;
      }
      const value = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      if (second) this.add(bucket, value);
      else bucket += value;
      second = !second;
    }
  }

  /** The non-zero (bucket, count) pairs, ascending. */
  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) out.push([this.#base + i, counts[i]!]);
    if (!this.#sparse) return out;
    // A bucket first kept sparse may since have come inside the dense range: merged here.
    const all = new Map(out);
    for (const [bucket, count] of this.#sparse) all.set(bucket, (all.get(bucket) ?? 0) + count);
    return [...all].filter(([, count]) => count !== 0).sort((a, b) => a[0] - b[0]);
  }

  /**
   * The `q` quantile of the summed buckets with the exact `min` and `max` of the values, as core
   * `new LatencyHistogram().addBuckets(this.entries(), { sum, min, max }).quantile(q)` gives it
   * (nearest rank ceil(q * count), the bucket's `bucketValue` clamped to [min, max]; null when
   * empty), property-tested against it. Built here because filling a LatencyHistogram (a Map
   * entry per bucket) for each of 150 groups of 300 buckets was half of a 90-day week x persona
   * percentile.
   */
  quantile(q: number, min: number, max: number): number | null {
    if (!this.#sparse) return this.#denseQuantile(q, min, max);
    const entries = this.entries();
    let count = 0;
    for (const [, n] of entries) if (n > 0) count += n;
    if (count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * count));
    let seen = 0;
    for (const [bucket, n] of entries) {
      if (n <= 0) continue;
      seen += n;
      if (seen >= rank) return Math.min(max, Math.max(min, bucketValue(bucket)));
    }
    return max;
  }

  /**
   * `quantile` when every bucket is in the dense array: read in place, without the pairs
   * `entries` allocates (a 90-day daily series asks three quantiles of 91 sums).
   */
  #denseQuantile(q: number, min: number, max: number): number | null {
    const counts = this.#counts;
    let count = 0;
    for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) count += counts[i]!;
    if (count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * count));
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      if (n <= 0) continue;
      seen += n;
      if (seen >= rank) return Math.min(max, Math.max(min, bucketValue(this.#base + i)));
    }
    return max;
  }

  /**
   * Room for `bucket` (at least doubling, so a histogram grows a few times at most); returns its
   * index, or -1 when that would take more than MAX_DENSE slots.
   */
  #grow(bucket: number): number {
    const old = this.#counts;
    if (bucket === ZERO_BUCKET) return -1;
    if (old.length === 0) {
      this.#counts = new Float64Array(64);
      this.#base = bucket - 16;
      return 16;
    }
    const lo = Math.min(this.#base, bucket);
    const hi = Math.max(this.#base + old.length, bucket + 1);
    if (hi - lo > MAX_DENSE) return -1;
    const size = Math.min(Math.max(hi - lo, old.length * 2), MAX_DENSE);
    // Spare room on the side that grew: more buckets usually follow there.
    const base = bucket < this.#base ? hi - size : lo;
    const counts = new Float64Array(size);
    counts.set(old, this.#base - base);
    this.#counts = counts;
    this.#base = base;
    return bucket - base;
  }
}
