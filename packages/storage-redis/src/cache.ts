import { performance } from 'node:perf_hooks';
import type { Logger } from '@convokit/core';
import { type Redis, ReplyError } from 'ioredis';

/** Limits of the client-side context cache (see `RedisStorageOptions.clientCache`). */
export interface ClientCacheOptions {
  /** Most contexts kept; default 10 000. */
  maxEntries?: number;
  /** Most characters of stored text kept (data, metadata and the other fields); default 32 Mi. */
  maxChars?: number;
}

/** The channel Redis publishes invalidations on for a client that redirects them (RESP2). */
const INVALIDATE = '__redis__:invalidate';
/** How often the invalidation connection is pinged while the cache is on. */
export const HEARTBEAT_MS = 250;
/** Hits stop unless a ping sent on the invalidation connection this recently was answered. */
export const LEASE_MS = 1_000;
/**
 * An expiring context is served from the cache only while the system clock is this far before
 * its expiresAt: Redis expires keys by its own clock, and lazily (a key past its time may linger
 * until read), so near the deadline the answer comes from Redis.
 */
export const EXPIRY_MARGIN_MS = 1_000;

type Row = (string | null)[];

interface Entry {
  row: Row;
  /** expiresAt, NaN when the context does not expire. */
  exp: number;
  size: number;
}

/** What must still hold when a read's answer arrives for it to be cached. */
export interface Ticket {
  epoch: number;
  seq: number;
}

/** The invalidation connection: an ioredis client that tells which write batch a command joins (AdapterRedis). */
export type InvalidationRedis = Redis & { readonly batch: number | undefined };

/** What the cache needs of the adapter's data connection. */
export interface TrackedConnection {
  readonly status: string;
  client(...args: string[]): Promise<unknown>;
  on(event: 'ready' | 'close', listener: () => void): unknown;
  off(event: 'ready' | 'close', listener: () => void): unknown;
}

/**
 * Client-side caching of contexts read by `get`, kept exact by Redis's server-assisted
 * invalidation (CLIENT TRACKING, OPTIN, with invalidations redirected to a second connection
 * subscribed to `__redis__:invalidate`).
 *
 * A read is cached only when everything below held from its sending to its answer:
 * - tracking was confirmed on for the current data connection (the CLIENT TRACKING reply came
 *   back on it before the read was sent), and neither connection closed since (`epoch`);
 * - the read was preceded by CLIENT CACHING YES, which Redis answered OK, so Redis tracks the key;
 * - no invalidation arrived and no write of this client was sent since (`seq`): one could have
 *   crossed the answer, which would then be older than the invalidation (the race Redis's client
 *   side caching documentation describes).
 *
 * A hit is answered only after a PING sent on the invalidation connection after the call was
 * answered (`confirm`). Redis queues the invalidation of a key on that connection while it runs
 * the write, so a write that completed before the call, by any client, has had its invalidation
 * applied by then: a hit is as fresh as a read from Redis, at the cost of the cheapest round trip
 * instead of a read (invalidations alone arrive on their own connection, and were measured
 * arriving up to 28 ms after the writer's own answer on a loaded machine). Hits also stop unless
 * that connection answered within LEASE_MS, so a stalled one costs no waits. Losing either
 * connection empties the cache; Redis refusing tracking (before 6.0, or CLIENT denied) turns it
 * off. This client's own writes empty their entries when sent (NOLOOP: Redis does not echo them).
 */
export class ContextCache {
  readonly #data: TrackedConnection;
  readonly #makeSub: () => InvalidationRedis;
  readonly #log: Logger;
  readonly #maxEntries: number;
  readonly #maxChars: number;
  readonly #entries = new Map<string, Entry>();
  /** Keys whose entry this client's own write dropped (at most maxEntries; then it starts over). */
  readonly #written = new Set<string>();
  #chars = 0;
  #sub: InvalidationRedis | undefined;
  /** The invalidation connection's client id once it is subscribed. */
  #subId: string | undefined;
  /** Bumped whenever the invalidation connection closes. */
  #subGen = 0;
  /** Bumped whenever either connection closes. */
  #epoch = 0;
  /** The epoch in which tracking was confirmed on the data connection (-1: none). */
  #activeEpoch = -1;
  /** Bumped by every invalidation and every write this client sends. */
  #seq = 0;
  /** When the last answered ping was sent (performance.now()). */
  #freshAsOf = Number.NEGATIVE_INFINITY;
  /** The last ping hits waited for, and the write batch it went out with (undefined: at once). */
  #barrier: Promise<boolean> | undefined;
  #barrierBatch: number | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #started = false;
  #off = false;
  readonly #onDataReady = (): void => this.#enable();
  readonly #onDataClose = (): void => this.#lost();

  constructor(init: {
    data: TrackedConnection;
    makeSub: () => InvalidationRedis;
    log: Logger;
    maxEntries: number;
    maxChars: number;
  }) {
    this.#data = init.data;
    this.#makeSub = init.makeSub;
    this.#log = init.log;
    this.#maxEntries = init.maxEntries;
    this.#maxChars = init.maxChars;
  }

  /** Gets answered from the cache, and gets that asked Redis, since the store opened. */
  hits = 0;
  misses = 0;
  /** Of the hits, those answered without waiting for a PING (`get` with `versionChecked`). */
  uncheckedHits = 0;

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Characters of text held. */
  get chars(): number {
    return this.#chars;
  }

  /** Whether hits are served now (tracking confirmed, heartbeat answered within the lease). */
  get serving(): boolean {
    return this.#activeEpoch === this.#epoch && performance.now() - this.#freshAsOf <= LEASE_MS;
  }

  /** The cached row of `key` if it may be served now; undefined for a miss. Starts the cache on first use. */
  lookup(key: string): Entry | undefined {
    if (!this.#started) this.#start();
    if (!this.serving) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (Date.now() >= entry.exp - EXPIRY_MARGIN_MS) {
      this.#drop(key, entry);
      return undefined;
    }
    // Least recently used goes first: a hit moves to the back.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  /**
   * Resolves true once a PING sent on the invalidation connection after this call is answered
   * with both connections still up: every invalidation Redis queued before it has been applied.
   */
  confirm(): Promise<boolean> {
    const sub = this.#sub;
    if (sub === undefined || this.#activeEpoch !== this.#epoch) return Promise.resolve(false);
    // Hits share a ping while it waits in the same unsent write batch: it leaves after all of them.
    const waiting = sub.batch;
    if (this.#barrier !== undefined && waiting !== undefined && waiting === this.#barrierBatch)
      return this.#barrier;
    const epoch = this.#epoch;
    const sent = performance.now();
    const barrier = sub.ping().then(
      () => {
        if (epoch !== this.#epoch || this.#activeEpoch !== epoch || this.#data.status !== 'ready')
          return false;
        if (sent > this.#freshAsOf) this.#freshAsOf = sent;
        return true;
      },
      () => false,
    );
    this.#barrier = barrier;
    this.#barrierBatch = sub.batch;
    return barrier;
  }

  /** Whether `entry` is still the entry of `key`. */
  still(key: string, entry: Entry): boolean {
    return this.#entries.get(key) === entry;
  }

  /** A ticket for a read about to be sent, or undefined when its answer could not be cached. */
  ticket(): Ticket | undefined {
    if (this.#activeEpoch !== this.#epoch) return undefined;
    return { epoch: this.#epoch, seq: this.#seq };
  }

  /** Keeps `row` (a context read under `ticket`) if nothing could have made it stale since. */
  store(key: string, row: Row, exp: number, ticket: Ticket): void {
    if (ticket.epoch !== this.#epoch || ticket.seq !== this.#seq || this.#activeEpoch !== this.#epoch) return;
    if (Date.now() >= exp - EXPIRY_MARGIN_MS) return;
    let size = 0;
    for (const value of row) if (value !== null) size += value.length;
    if (size > this.#maxChars) return;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#drop(key, old);
    this.#entries.set(key, { row, exp, size });
    this.#chars += size;
    while (this.#entries.size > this.#maxEntries || this.#chars > this.#maxChars) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [string, Entry];
      this.#drop(oldestKey, oldest);
    }
  }

  /**
   * A write of this client to `key` is about to be sent. Returns whether this client read `key`
   * through the cache and wrote it since (its entry was dropped by such a write): worth keeping
   * what the write leaves (see `update` in contexts.ts).
   */
  invalidate(key: string): boolean {
    this.#seq += 1;
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#drop(key, entry);
      if (this.#written.size >= this.#maxEntries) this.#written.clear();
      this.#written.add(key);
      return true;
    }
    return this.#written.has(key);
  }

  /** Forgets everything (a sweep, a flush, a lost connection). */
  clear(): void {
    this.#seq += 1;
    this.#entries.clear();
    this.#written.clear();
    this.#chars = 0;
  }

  close(): void {
    this.#off = true;
    this.#lost();
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    if (this.#started) {
      this.#data.off('ready', this.#onDataReady);
      this.#data.off('close', this.#onDataClose);
    }
    this.#sub?.disconnect();
    this.#sub = undefined;
  }

  #drop(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#chars -= entry.size;
  }

  #start(): void {
    this.#started = true;
    if (this.#off) return;
    this.#data.on('ready', this.#onDataReady);
    this.#data.on('close', this.#onDataClose);
    const sub = this.#makeSub();
    this.#sub = sub;
    sub.on('error', (error: Error) =>
      this.#log.debug({ err: error.message }, 'invalidation connection error'),
    );
    sub.on('close', () => {
      this.#subId = undefined;
      this.#subGen += 1;
      this.#lost();
    });
    sub.on('ready', () => void this.#subscribe(sub));
    sub.on('messageBuffer', (_channel: Buffer, message: unknown) => this.#invalidated(message));
    sub.connect().catch(() => undefined);
    this.#heartbeat = setInterval(() => this.#ping(), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  async #subscribe(sub: InvalidationRedis): Promise<void> {
    const gen = this.#subGen;
    try {
      const id = String(await sub.client('ID'));
      await sub.subscribe(INVALIDATE);
      if (sub !== this.#sub || gen !== this.#subGen) return;
      this.#subId = id;
      this.#enable();
    } catch (error) {
      this.#log.debug({ err: (error as Error).message }, 'invalidation connection setup failed');
    }
  }

  /** Turns tracking on for the data connection, redirected to the subscribed connection. */
  #enable(): void {
    const subId = this.#subId;
    if (this.#off || subId === undefined || this.#data.status !== 'ready') return;
    const epoch = this.#epoch;
    this.#data.client('TRACKING', 'ON', 'REDIRECT', subId, 'OPTIN', 'NOLOOP').then(
      () => {
        if (this.#off || epoch !== this.#epoch || subId !== this.#subId) return;
        this.#activeEpoch = epoch;
        this.#ping();
      },
      (error: unknown) => {
        if (!(error instanceof ReplyError)) return;
        // Redis refused (before 6.0, or CLIENT denied by an ACL): no cache, every get asks Redis.
        this.#log.warn(
          { err: (error as Error).message },
          'client-side caching is off: Redis refused CLIENT TRACKING',
        );
        this.close();
      },
    );
  }

  #ping(): void {
    const sub = this.#sub;
    if (sub === undefined || this.#activeEpoch !== this.#epoch) return;
    const epoch = this.#epoch;
    const sent = performance.now();
    sub.ping().then(
      () => {
        if (epoch === this.#epoch && sent > this.#freshAsOf) this.#freshAsOf = sent;
      },
      () => undefined,
    );
  }

  /** An invalidation message: the keys changed, or null when Redis flushed a database. */
  #invalidated(message: unknown): void {
    if (!Array.isArray(message)) {
      this.clear();
      return;
    }
    this.#seq += 1;
    for (const key of message) {
      const name = String(key);
      const entry = this.#entries.get(name);
      if (entry !== undefined) this.#drop(name, entry);
    }
  }

  /** A connection closed: what Redis tracked for it is gone, and invalidations may have been lost. */
  #lost(): void {
    this.#epoch += 1;
    this.#freshAsOf = Number.NEGATIVE_INFINITY;
    this.clear();
  }
}
