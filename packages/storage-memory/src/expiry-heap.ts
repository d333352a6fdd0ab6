/**
 * A binary min-heap of (`expiresAt`, `id`). Entries are never removed in place: when a context's
 * expiry changes a new entry is pushed, and the owner drops stale ones as they surface.
 *
 * Kept as two parallel arrays (times unboxed in a double array, ids beside them) rather than an
 * object per entry: an entry then costs two array slots instead of an object and a boxed number,
 * which matters with a heap entry for every expiring context.
 */
export class ExpiryHeap {
  #at: number[] = [];
  #ids: string[] = [];

  get size(): number {
    return this.#at.length;
  }

  /** `expiresAt` of the earliest entry; `undefined` when empty. */
  peekAt(): number | undefined {
    return this.#at[0];
  }

  /** `id` of the earliest entry; `undefined` when empty. */
  peekId(): string | undefined {
    return this.#ids[0];
  }

  push(expiresAt: number, id: string): void {
    const at = this.#at;
    const ids = this.#ids;
    let i = at.length;
    at.push(expiresAt);
    ids.push(id);
    // Sift up: move parents down until the new entry's place is found.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(expiresAt, id, at[parent]!, ids[parent]!)) break;
      at[i] = at[parent]!;
      ids[i] = ids[parent]!;
      i = parent;
    }
    at[i] = expiresAt;
    ids[i] = id;
  }

  /** Removes the earliest entry. */
  pop(): void {
    const at = this.#at;
    const ids = this.#ids;
    const lastAt = at.pop();
    const lastId = ids.pop();
    const n = at.length;
    if (lastAt === undefined || lastId === undefined || n === 0) return;
    // Sift down the last entry from the root.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && before(at[r]!, ids[r]!, at[l]!, ids[l]!) ? r : l;
      if (!before(at[m]!, ids[m]!, lastAt, lastId)) break;
      at[i] = at[m]!;
      ids[i] = ids[m]!;
      i = m;
    }
    at[i] = lastAt;
    ids[i] = lastId;
  }

  /** Rebuilds from the live entries only (when stale ones pile up). */
  reset(entries: Iterable<{ expiresAt: number; id: string }>): void {
    this.#at = [];
    this.#ids = [];
    for (const entry of entries) this.push(entry.expiresAt, entry.id);
  }
}

function before(aAt: number, aId: string, bAt: number, bId: string): boolean {
  return aAt < bAt || (aAt === bAt && aId < bId);
}
