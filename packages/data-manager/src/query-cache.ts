import type { Clock } from '@convokit/core';
import { LRUCache } from 'lru-cache';
import { type ReadSet, type TurnKeys, touches } from './read-set.js';

/** A batch larger than this clears the whole cache instead of being checked entry by entry. */
export const MAX_CHECKED_BATCH = 256;
/** Turns kept in the write log for computations still running; older writes raise the floor. */
const MAX_LOGGED_TURNS = 4096;
/** Store versions of this cache's own writes remembered for revalidation; older ones are forgotten. */
const MAX_OWN_VERSIONS = 4096;

export interface Entry<V> {
  value: V;
  reads: ReadSet;
  /** The store's turns version read before the computation began; undefined without the capability. */
  version: number | undefined;
}

/**
 * Answers keyed by the canonical form of the validated query, each with the filters it read
 * (its read set). A write through the manager removes exactly the answers whose read set one of
 * its turns matches: those, and only those, it can change.
 *
 * A computation that was running while a write happened may have read the store before or after
 * the write. `generation` counts writes; each write is logged with its generation, and `set`
 * refuses an answer when a write since the computation began touches its read set. The log is
 * bounded: when older writes fall out of it, `floor` rises and a computation that began before
 * the floor is not stored at all (conservative, never stale).
 *
 * An answer is served until it is more than `ttlMs` old (lru-cache's rule). When the store keeps
 * a turns version (`TurnStore.version`), an expired answer can be revalidated instead of
 * recomputed: the version rises by exactly one per change, and this cache knows which versions
 * its own writes made (`invalidate` gets the version an append returned). If every version since
 * the answer's was an own write, no other process changed the turns, and the own writes that
 * could change the answer already removed it; so an answer still here is exact.
 */
export class QueryCache<V extends object> {
  readonly #lru: LRUCache<string, Entry<V>>;
  #generation = 0;
  /** Computations that began at or before this generation are not stored. */
  #floor = 0;
  #log: Array<{ generation: number; turns: readonly TurnKeys[] }> = [];
  #loggedTurns = 0;
  /** Store versions made by writes through this cache's owner, oldest first (bounded). */
  readonly #ownVersions = new Set<number>();

  constructor(options: { ttlMs: number; maxEntries: number }, clock: Clock) {
    const origin = clock.now();
    this.#lru = new LRUCache<string, Entry<V>>({
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

  /** Read before a computation begins; hand it back to `set`. */
  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#lru.size;
  }

  get(key: string): V | undefined {
    return this.#lru.get(key)?.value;
  }

  /** An entry even past its TTL (never one a write invalidated). */
  getStale(key: string): V | undefined {
    return this.#lru.get(key, { allowStale: true })?.value;
  }

  /** The entry under `key` when it is past its TTL and carries a store version (revalidation candidate). */
  expired(key: string): Entry<V> | undefined {
    if (this.#lru.getRemainingTTL(key) > 0) return undefined;
    const entry = this.#lru.peek(key, { allowStale: true });
    return entry?.version === undefined ? undefined : entry;
  }

  /**
   * Serves `entry` (from `expired`) for another TTL when the store is at `current` and every
   * version since the entry's was an own write. False when the entry was dropped meanwhile or
   * some change may have come from elsewhere: the caller recomputes.
   */
  revalidate(key: string, entry: Entry<V>, current: number): boolean {
    if (this.#lru.peek(key, { allowStale: true }) !== entry) return false;
    const since = entry.version!;
    if (current < since || current - since > MAX_OWN_VERSIONS) return false;
    for (let v = since + 1; v <= current; v++) if (!this.#ownVersions.has(v)) return false;
    this.#lru.set(key, { ...entry, version: current });
    return true;
  }

  /**
   * Stores `value`, computed from `reads` by a computation that began at `generation` (and, when
   * the store has versions, at store `version`), unless a write since then could have changed it.
   */
  set(key: string, value: V, reads: ReadSet, generation: number, version?: number): void {
    if (generation < this.#floor) return;
    // The log is in generation order: only the writes after this computation began matter.
    for (let i = this.#log.length - 1; i >= 0 && this.#log[i]!.generation > generation; i--) {
      if (touches(reads, this.#log[i]!.turns)) return;
    }
    this.#lru.set(key, { value, reads, version });
  }

  /**
   * A write of `turns` (stored or maybe stored): drops every answer they can change.
   * `version`: the store's turns version right after the write, when it stored turns and the
   * store reported it; it marks that step as this cache's own for `revalidate`.
   */
  invalidate(turns: readonly TurnKeys[], version?: number): void {
    if (version !== undefined) this.#ownWrite(version);
    this.#generation += 1;
    if (turns.length > MAX_CHECKED_BATCH) {
      this.clear();
      return;
    }
    this.#log.push({ generation: this.#generation, turns });
    this.#loggedTurns += turns.length;
    while (this.#loggedTurns > MAX_LOGGED_TURNS) {
      const dropped = this.#log.shift()!;
      this.#loggedTurns -= dropped.turns.length;
      this.#floor = dropped.generation;
    }
    // Expired entries too: they may still be served, degraded, when the store fails.
    const doomed: string[] = [];
    for (const [key, entry] of this.#lru.dump()) {
      if (touches(entry.value.reads, turns)) doomed.push(key);
    }
    for (const key of doomed) this.#lru.delete(key);
  }

  #ownWrite(version: number): void {
    this.#ownVersions.add(version);
    // A Set iterates in insertion order: the first is the oldest.
    if (this.#ownVersions.size > MAX_OWN_VERSIONS) {
      this.#ownVersions.delete(this.#ownVersions.values().next().value!);
    }
  }

  /** Drops every answer; computations running now will not be stored. */
  clear(): void {
    this.#generation += 1;
    this.#floor = this.#generation;
    this.#log = [];
    this.#loggedTurns = 0;
    this.#lru.clear();
  }
}
