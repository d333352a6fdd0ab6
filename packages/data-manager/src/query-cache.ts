import type { Clock } from '@convokit/core';
import { LRUCache } from 'lru-cache';

/**
 * Answers keyed by the canonical form of the validated query. A write through the manager clears
 * it and bumps `generation`; an answer computed while a write happened is not stored, so no
 * query that starts after a write can see an answer from before it. An answer is served until it
 * is more than `ttlMs` old (lru-cache's rule).
 */
export class QueryCache<V extends object> {
  readonly #lru: LRUCache<string, V>;
  #generation = 0;

  constructor(options: { ttlMs: number; maxEntries: number }, clock: Clock) {
    const origin = clock.now();
    this.#lru = new LRUCache<string, V>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Expiry follows the injected clock; no timer (ttlResolution 0 reads the clock on each get).
      // lru-cache treats a start time of 0 as "never set", so time is counted from 1.
      perf: { now: () => clock.now() - origin + 1 },
      ttlResolution: 0,
      ttlAutopurge: false,
      // Expired answers stay until evicted so they can be served, marked degraded, if the store fails.
      noDeleteOnStaleGet: true,
    });
  }

  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#lru.size;
  }

  get(key: string): V | undefined {
    return this.#lru.get(key);
  }

  /** An entry even past its TTL (never one a write invalidated). */
  getStale(key: string): V | undefined {
    return this.#lru.get(key, { allowStale: true });
  }

  /** Stores `value` unless a write happened since `generation` was read. */
  set(key: string, value: V, generation: number): void {
    if (generation === this.#generation) this.#lru.set(key, value);
  }

  invalidate(): void {
    this.#generation += 1;
    this.#lru.clear();
  }
}
