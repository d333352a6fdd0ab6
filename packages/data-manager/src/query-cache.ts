import type { Clock, Turn } from '@convokit/core';
import { LRUCache } from 'lru-cache';
import { type ReadSet, type TurnKeys, touches, turnKeys } from './read-set.js';

/** A batch larger than this clears the whole cache instead of being checked entry by entry. */
export const MAX_CHECKED_BATCH = 256;
/** Turns kept in the write log for computations still running; older writes raise the floor. */
const MAX_LOGGED_TURNS = 4096;
/** Store versions of this cache's own writes remembered for revalidation; older ones are forgotten. */
const MAX_OWN_VERSIONS = 4096;
/** Written turns an entry waits to fold; more and it is dropped instead. */
export const MAX_PENDING_TURNS = 256;
/**
 * Rows of fold state (recorded aggregate results) all entries together may keep; an answer whose
 * state would pass it is stored without (a write then drops it). Bounds the cache's memory.
 */
export const MAX_FOLD_STATE_ROWS = 50_000;

export interface Entry<V> {
  value: V;
  reads: ReadSet;
  /** The store's turns version read before the computation began; undefined without the capability. */
  version: number | undefined;
  /** Present when the answer can be folded (see fold.ts): what folding needs, opaque here. */
  fold?: unknown;
  /** Rows `fold` holds, counted against MAX_FOLD_STATE_ROWS. */
  foldRows?: number;
  /**
   * Turns written through the owner since the answer was computed that can change it, oldest
   * first. An entry with pending turns is never served as it is: it is folded first (or recomputed).
   */
  pending?: readonly Turn[];
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
  /** Rows of fold state held by the entries now stored. */
  #foldRows = 0;

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
      // Evicted, replaced, deleted or cleared: its fold state no longer counts.
      dispose: (entry) => {
        if (entry.fold !== undefined) this.#foldRows -= entry.foldRows ?? 0;
      },
    });
  }

  /** Read before a computation begins; hand it back to `set`. */
  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#lru.size;
  }

  /** Rows of fold state the stored entries hold. */
  get foldRows(): number {
    return this.#foldRows;
  }

  /** Stores `entry`, without its fold state when keeping it would pass the bound. */
  #put(key: string, entry: Entry<V>): void {
    if (entry.fold !== undefined) {
      const old = this.#lru.peek(key, { allowStale: true });
      const freed = old?.fold !== undefined ? (old.foldRows ?? 0) : 0;
      const rows = entry.foldRows ?? 0;
      if (this.#foldRows - freed + rows > MAX_FOLD_STATE_ROWS) {
        entry = { ...entry };
        delete entry.fold;
        delete entry.foldRows;
      } else this.#foldRows += rows;
    }
    this.#lru.set(key, entry);
  }

  /** A fresh answer with nothing to fold. */
  get(key: string): V | undefined {
    const entry = this.#lru.get(key);
    return entry && !entry.pending ? entry.value : undefined;
  }

  /** An entry within its TTL that waits to fold written turns. */
  toFold(key: string): Entry<V> | undefined {
    if (!(this.#lru.getRemainingTTL(key) > 0)) return undefined;
    const entry = this.#lru.peek(key);
    return entry?.pending ? entry : undefined;
  }

  /** An entry even past its TTL (never one a write invalidated, nor one waiting to fold). */
  getStale(key: string): V | undefined {
    const entry = this.#lru.get(key, { allowStale: true });
    return entry && !entry.pending ? entry.value : undefined;
  }

  /**
   * The entry under `key` when it is past its TTL and carries a store version (a candidate for
   * revalidation, or for folding when it has pending turns).
   */
  expired(key: string): Entry<V> | undefined {
    if (this.#lru.getRemainingTTL(key) > 0) return undefined;
    const entry = this.#lru.peek(key, { allowStale: true });
    return entry?.version === undefined ? undefined : entry;
  }

  /** Whether every store version after `since` up to `current` was made by the owner's writes. */
  ownSince(since: number, current: number): boolean {
    if (current < since || current - since > MAX_OWN_VERSIONS) return false;
    for (let v = since + 1; v <= current; v++) if (!this.#ownVersions.has(v)) return false;
    return true;
  }

  /**
   * Puts `next` (a folded answer, read at store `version`) in place of `entry` when `entry` is
   * still the one stored and no write happened since `generation` (a later write may have added
   * pending turns the fold did not see). Served for another TTL, as a revalidated answer is.
   */
  replace(key: string, entry: Entry<V>, next: Entry<V>, generation: number): boolean {
    if (generation !== this.#generation) return false;
    if (this.#lru.peek(key, { allowStale: true }) !== entry) return false;
    this.#put(key, next);
    return true;
  }

  /**
   * Serves `entry` (from `expired`) for another TTL when the store is at `current` and every
   * version since the entry's was an own write. False when the entry was dropped meanwhile or
   * some change may have come from elsewhere: the caller recomputes.
   */
  revalidate(key: string, entry: Entry<V>, current: number): boolean {
    if (this.#lru.peek(key, { allowStale: true }) !== entry || entry.pending) return false;
    if (!this.ownSince(entry.version!, current)) return false;
    this.#put(key, { ...entry, version: current });
    return true;
  }

  /**
   * Stores `value`, computed from `reads` by a computation that began at `generation` (and, when
   * the store has versions, at store `version`), unless a write since then could have changed it.
   */
  set(
    key: string,
    value: V,
    reads: ReadSet,
    generation: number,
    version?: number,
    fold?: { state: unknown; rows: number },
  ): void {
    if (generation < this.#floor) return;
    // The log is in generation order: only the writes after this computation began matter.
    for (let i = this.#log.length - 1; i >= 0 && this.#log[i]!.generation > generation; i--) {
      if (touches(reads, this.#log[i]!.turns)) return;
    }
    const entry: Entry<V> = { value, reads, version };
    if (fold !== undefined && version !== undefined) {
      entry.fold = fold.state;
      entry.foldRows = fold.rows;
    }
    this.#put(key, entry);
  }

  /**
   * A write of `turns` (stored or maybe stored): every answer they can change is dropped, or,
   * when the write is known stored (`version` given) and the answer is foldable, keeps them as
   * pending turns to fold before it is served again.
   * `version`: the store's turns version right after the write, when it stored turns and the
   * store reported it; it marks that step as this cache's own for `revalidate`.
   */
  invalidate(written: readonly Turn[], version?: number): void {
    if (version !== undefined) this.#ownWrite(version);
    this.#generation += 1;
    if (written.length > MAX_CHECKED_BATCH) {
      this.clear();
      return;
    }
    const turns = written.map(turnKeys);
    this.#log.push({ generation: this.#generation, turns });
    this.#loggedTurns += turns.length;
    while (this.#loggedTurns > MAX_LOGGED_TURNS) {
      const dropped = this.#log.shift()!;
      this.#loggedTurns -= dropped.turns.length;
      this.#floor = dropped.generation;
    }
    // Expired entries too: they may still be served, degraded, when the store fails.
    const doomed: string[] = [];
    for (const [key, { value: entry }] of this.#lru.dump()) {
      if (!touches(entry.reads, turns)) continue;
      const pending = entry.pending?.length ?? 0;
      if (
        version !== undefined &&
        entry.fold !== undefined &&
        pending + written.length <= MAX_PENDING_TURNS
      ) {
        // In place (a new array, so a fold running now keeps the list it started with): the
        // entry keeps its TTL and identity; `get` and `getStale` no longer serve it unfolded.
        const live = this.#lru.peek(key, { allowStale: true });
        if (live) live.pending = [...(live.pending ?? []), ...written];
      } else doomed.push(key);
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
