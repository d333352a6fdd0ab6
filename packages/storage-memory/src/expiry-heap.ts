export interface ExpiryEntry {
  expiresAt: number;
  id: string;
}

function before(a: ExpiryEntry, b: ExpiryEntry): boolean {
  return a.expiresAt < b.expiresAt || (a.expiresAt === b.expiresAt && a.id < b.id);
}

/**
 * A binary min-heap of (`expiresAt`, `id`). Entries are never removed in place: when a context's
 * expiry changes a new entry is pushed, and the owner drops stale ones as they surface.
 */
export class ExpiryHeap {
  #items: ExpiryEntry[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): ExpiryEntry | undefined {
    return this.#items[0];
  }

  push(entry: ExpiryEntry): void {
    const items = this.#items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): ExpiryEntry | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && before(items[l]!, items[m]!)) m = l;
      if (r < items.length && before(items[r]!, items[m]!)) m = r;
      if (m === i) break;
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
    return top;
  }

  /** Rebuilds from the live entries only (when stale ones pile up). */
  reset(entries: ExpiryEntry[]): void {
    this.#items = [];
    for (const entry of entries) this.push(entry);
  }
}
