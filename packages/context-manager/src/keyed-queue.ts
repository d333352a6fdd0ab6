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
    // The tail settles once the task has, whatever its outcome, and then lets go of the key
    // unless a later task has queued behind it.
    const release = () => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    const tail: Promise<void> = result.then(release, release);
    this.#tails.set(key, tail);
    return result;
  }

  /** Keys with queued or running tasks. */
  get size(): number {
    return this.#tails.size;
  }
}
