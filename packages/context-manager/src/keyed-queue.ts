/**
 * Runs tasks one at a time per key, in call order; different keys run concurrently. Used so that
 * writers in one process queue for a context instead of racing each other through
 * compare-and-set. Holds nothing for a key once its queue drains.
 *
 * A lock per key rather than a chain of promises: taking a free key is synchronous and costs one
 * map entry, with no promise made, which is the case of almost every write.
 */
export class KeyedQueue {
  /** Held keys; the value lists the callers waiting for the key, in order (`null`: none yet). */
  readonly #held = new Map<string, Array<() => void> | null>();

  /**
   * Takes `key`: `undefined` when it was free (it is now held), else a promise that resolves
   * once it is handed over. Every take must be followed by exactly one `release(key)`.
   */
  acquire(key: string): Promise<void> | undefined {
    const waiting = this.#held.get(key);
    if (waiting === undefined) {
      this.#held.set(key, null);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      if (waiting === null) this.#held.set(key, [resolve]);
      else waiting.push(resolve);
    });
  }

  /** Hands `key` to the next waiting caller, or frees it. */
  release(key: string): void {
    const waiting = this.#held.get(key);
    const next = waiting?.shift();
    if (next === undefined) {
      this.#held.delete(key);
      return;
    }
    if (waiting!.length === 0) this.#held.set(key, null);
    next();
  }

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const wait = this.acquire(key);
    if (wait) await wait;
    try {
      return await task();
    } finally {
      this.release(key);
    }
  }

  /** Keys with queued or running tasks. */
  get size(): number {
    return this.#held.size;
  }
}
