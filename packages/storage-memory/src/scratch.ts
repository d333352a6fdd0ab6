/**
 * Typed arrays a scan borrows and hands back, kept from one query to the next. At a million
 * turns a scan's working arrays run to megabytes; allocated afresh by every query they pile up
 * as external memory, and V8 answers that with full collections, each of which marks the whole
 * store (seconds on a 1M-turn heap). Borrowed arrays hold stale values: a borrower zeroes what
 * it reads before writing it, or keeps track of what it touched.
 */
export class Scratch {
  readonly #int32 = new Map<string, Int32Array>();
  readonly #float64 = new Map<string, Float64Array>();

  /**
   * An Int32Array of at least `n` items for `purpose`; its first `keep` items are those of the
   * array last handed out for it, the rest undefined.
   */
  int32(purpose: string, n: number, keep = 0): Int32Array {
    return borrow(this.#int32, purpose, n, keep, (size) => new Int32Array(size));
  }

  /** As `int32`, for a Float64Array. */
  float64(purpose: string, n: number, keep = 0): Float64Array {
    return borrow(this.#float64, purpose, n, keep, (size) => new Float64Array(size));
  }

  /** Lets go of every array (the store was cleared or closed). */
  clear(): void {
    this.#int32.clear();
    this.#float64.clear();
  }
}

function borrow<T extends Int32Array | Float64Array>(
  held: Map<string, T>,
  purpose: string,
  n: number,
  keep: number,
  make: (size: number) => T,
): T {
  const array = held.get(purpose);
  if (array !== undefined && array.length >= n) return array;
  const bigger = make(capacity(n));
  if (array !== undefined && keep > 0) bigger.set(array.subarray(0, keep));
  held.set(purpose, bigger);
  return bigger;
}

/** Room for `n` with a quarter to spare, so a store that grows does not reallocate every query. */
function capacity(n: number): number {
  return Math.max(64, n + (n >> 2));
}
