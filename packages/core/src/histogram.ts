/**
 * A mergeable latency histogram with log-scaled buckets (the DDSketch layout).
 *
 * Bucket `i` holds values in (γ^(i-1), γ^i] with γ = (1+α)/(1-α), α = 0.01, and reports the value
 * 2γ^i/(γ+1); every value in the bucket is within α = 1% of that, so every quantile has a
 * relative error of at most 1%. Values below 0.001 (sub-microsecond, in ms) share one zero bucket
 * reported as 0. Quantiles are clamped to the exact min and max seen, so a histogram of one
 * distinct value reports that value exactly.
 *
 * Every adapter computes percentiles with this class, from per-turn bucket indexes
 * (`latencyBucket`) or from stored histograms, so rollups and scans agree exactly.
 */
export const HISTOGRAM_RELATIVE_ERROR = 0.01;
const GAMMA = (1 + HISTOGRAM_RELATIVE_ERROR) / (1 - HISTOGRAM_RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);
const MIN_TRACKED = 0.001;
/** The bucket index of values below 0.001. */
export const ZERO_BUCKET = -100_000;

/** The bucket index of a non-negative value. */
export function latencyBucket(value: number): number {
  if (!(value >= MIN_TRACKED)) return ZERO_BUCKET;
  return Math.ceil(Math.log(value) / LOG_GAMMA);
}

/** The value a bucket reports. */
export function bucketValue(index: number): number {
  if (index === ZERO_BUCKET) return 0;
  return (2 * GAMMA ** index) / (GAMMA + 1);
}

export interface HistogramJSON {
  /** bucket index -> count */
  buckets: Record<string, number>;
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
}

export class LatencyHistogram {
  readonly #counts = new Map<number, number>();
  /** Occupied bucket indexes, ascending; rebuilt lazily after a new bucket appears. */
  #sorted: number[] | null = [];
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  static fromJSON(json: HistogramJSON): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [index, count] of Object.entries(json.buckets)) h.#addToBucket(Number(index), count);
    h.#count = json.count;
    h.#sum = json.sum;
    if (json.min !== null) h.#min = json.min;
    if (json.max !== null) h.#max = json.max;
    return h;
  }

  get count(): number {
    return this.#count;
  }

  get sum(): number {
    return this.#sum;
  }

  get min(): number | null {
    return this.#count === 0 ? null : this.#min;
  }

  get max(): number | null {
    return this.#count === 0 ? null : this.#max;
  }

  /** Mean of the recorded values (exact, not bucketed); null when empty. */
  get mean(): number | null {
    return this.#count === 0 ? null : this.#sum / this.#count;
  }

  add(value: number, times = 1): this {
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new RangeError(`latency must be a finite non-negative number, got ${value}`);
    }
    this.#addToBucket(latencyBucket(value), times);
    this.#count += times;
    this.#sum += value * times;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
    return this;
  }

  /**
   * Adds pre-bucketed counts (as SQL adapters read them back), with the exact sum, min and max
   * of the values they stand for.
   */
  addBuckets(
    buckets: Iterable<readonly [index: number, count: number]>,
    stats: { sum: number; min: number; max: number },
  ): this {
    let added = 0;
    for (const [index, count] of buckets) {
      this.#addToBucket(index, count);
      added += count;
    }
    if (added === 0) return this;
    this.#count += added;
    this.#sum += stats.sum;
    if (stats.min < this.#min) this.#min = stats.min;
    if (stats.max > this.#max) this.#max = stats.max;
    return this;
  }

  merge(other: LatencyHistogram): this {
    for (const [index, count] of other.#counts) this.#addToBucket(index, count);
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
    return this;
  }

  /**
   * The value at nearest rank ceil(q * count) (q in [0, 1]), within 1% relative error, clamped
   * to [min, max]. Null when empty.
   */
  quantile(q: number): number | null {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (const index of this.#indexes()) {
      seen += this.#counts.get(index)!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, bucketValue(index)));
    }
    return this.#max;
  }

  /** Occupied bucket indexes, ascending. */
  bucketIndexes(): number[] {
    return [...this.#indexes()];
  }

  #indexes(): readonly number[] {
    this.#sorted ??= [...this.#counts.keys()].sort((a, b) => a - b);
    return this.#sorted;
  }

  entries(): Array<[index: number, count: number]> {
    return this.#indexes().map((index) => [index, this.#counts.get(index)!]);
  }

  toJSON(): HistogramJSON {
    const buckets: Record<string, number> = {};
    for (const [index, count] of this.entries()) buckets[String(index)] = count;
    return { buckets, count: this.#count, sum: this.#sum, min: this.min, max: this.max };
  }

  #addToBucket(index: number, count: number): void {
    if (count <= 0) return;
    const current = this.#counts.get(index);
    if (current === undefined) this.#sorted = null;
    this.#counts.set(index, (current ?? 0) + count);
  }
}
