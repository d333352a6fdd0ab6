const NOOP = () => {};

/**
 * Runs tasks one at a time per key, in call order; different keys run concurrently. Used so that
 * writers in one process queue for a context instead of racing each other through
 * compare-and-set. Holds nothing for a key once its queue drains.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key);
    const result = prev ? prev.then(task) : task();
    const tail = result.then(NOOP, NOOP);
    this.#tails.set(key, tail);
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running tasks. */
  get size(): number {
    return this.#tails.size;
  }
}
