import { ConvokitError } from './errors.js';
import type { PersonaPreference } from './persona-preference.js';
import type { AggregateResult, AggregateSpecInput } from './schemas/aggregate.js';
import type { PageInput, PageResult } from './schemas/common.js';
import type { AuditEvent, AuditFilter, Context, ContextChanges, ContextFilter } from './schemas/context.js';
import type { SearchOptionsInput } from './schemas/search.js';
import type { Turn, TurnFilter, TurnOrder } from './schemas/turn.js';
import type { SessionStats } from './session-stats.js';

/**
 * The storage contract, version 1. Every adapter implements it and passes
 * `@convokit/storage-testkit`, so every adapter gives the same answer to the same calls.
 *
 * Common rules for every member:
 * - Inputs are validated with the core schemas before anything is written; bad input throws
 *   `ConvokitError` `VALIDATION` and leaves the store unchanged.
 * - Values handed out are the caller's own: mutating them never changes the store.
 * - After `close()`, every call throws `ConvokitError` `STORAGE` with `details.reason = 'closed'`.
 * - Driver failures surface as `ConvokitError` `STORAGE` (or `LOCKED` when another writer holds
 *   the store) with the cause attached; never a raw driver error, never a hang.
 */
export const STORAGE_CONTRACT_VERSION = 1;

export interface AppendOptions {
  /**
   * What to do with a turn whose id is already stored: `error` (default) rejects the whole
   * batch with `CONFLICT`; `skip` leaves the stored turn as it is and reports the id.
   */
  ifExists?: 'error' | 'skip';
}

export interface AppendResult {
  /** Turns written. */
  appended: number;
  /** Ids left alone because they were already stored (only with `ifExists: 'skip'`). */
  skippedIds: string[];
  /**
   * Present exactly when the store implements `TurnStore.version`: the turns version right after
   * this append, read in the same atomic step (so when `appended > 0`, the step from
   * `version - 1` to `version` was this append and nothing else). Unchanged when nothing was stored.
   */
  version?: number;
}

export interface ListTurnsOptions extends PageInput {
  /** By `at`, ties by `id`; default `desc` (newest first). */
  order?: TurnOrder;
}

export interface SearchHit {
  turn: Turn;
  /** Relevance; higher is better. Comparable only within one result list. */
  score: number;
  /** An excerpt of the matching text with each matched term wrapped in SNIPPET_OPEN/CLOSE. */
  snippet: string;
}

export interface TurnStore {
  /**
   * Stores a batch atomically: every turn or none. The batch is validated first (TurnSchema;
   * ids must be distinct within the batch). Indexes, search and rollups are updated in the
   * same step, so a read after `append` resolves sees the new turns.
   */
  append(turns: readonly Turn[], options?: AppendOptions): Promise<AppendResult>;
  /** The turn with this id, or `undefined`. */
  get(id: string): Promise<Turn | undefined>;
  /**
   * Turns matching `filter`, ordered by (`at`, `id`), one page at a time. Cursors are keyset
   * cursors: turns that were stored before the first page are never repeated or skipped, whatever
   * is appended between pages. A cursor from a different filter or order is `VALIDATION`.
   */
  list(filter?: TurnFilter, options?: ListTurnsOptions): Promise<PageResult<Turn>>;
  /**
   * Full-text search over user input and assistant response (see SearchOptionsSchema). Results
   * are ordered by relevance, ties by newest `at`, then `id` descending. Empty when nothing matches.
   */
  search(text: string, options?: SearchOptionsInput): Promise<SearchHit[]>;
  /** The one query engine: grouped measures over the turns matching the spec's filter. */
  aggregate(spec: AggregateSpecInput): Promise<AggregateResult>;
  /** How many turns match `filter`. */
  count(filter?: TurnFilter): Promise<number>;
  /** Deletes every turn with `at < before` (retention) and returns how many; aggregates follow. */
  deleteBefore(before: number): Promise<number>;
  /**
   * Optional capability: a change marker for the stored turns, seen by every process sharing the
   * store. It rises by exactly one with every `append` that stores at least one turn and every
   * `deleteBefore` that deletes at least one, whoever made it; nothing else changes it (reads,
   * context and audit writes, appends that stored nothing). A cache holding an answer computed at
   * version `v` knows no turn changed while `version()` still returns `v`. Adapters that
   * cannot keep it cheaply leave it out; callers then fall back to recomputing.
   */
  version?(): Promise<number>;
  /**
   * Optional capability: per-session figures over the turns matching `filter` (core
   * session-stats.ts): each session with a matching turn counts once, with its matching turns and
   * the span of their `at`; users count the sessions in which they have a matching turn. Exactly
   * what `summarizeSessionValues` / `sessionStatsOf` give for those per-session values, for every
   * filter. Adapters that cannot answer it faster than grouping turns leave it out; callers then
   * group turns by (session, user) themselves.
   */
  sessionStats?(filter?: TurnFilter): Promise<SessionStats>;
  /**
   * Optional capability: users per preferred persona over the turns matching `filter` (core
   * persona-preference.ts): each user's persona with most of their matching turns, ties by name;
   * turns without a user or a persona left out. Exactly what `personaPreferenceOf` gives for the
   * (user, persona) turn counts of those turns, for every filter. Adapters that cannot answer it
   * faster than grouping turns leave it out; callers then group turns by (user, persona) themselves.
   */
  personaPreference?(filter?: TurnFilter): Promise<PersonaPreference>;
}

export interface GetContextOptions {
  /** Expiry is judged against this time; default the adapter's clock. */
  now?: number;
}

/** Options of `ContextStore.get`. */
export interface GetContextByIdOptions extends GetContextOptions {
  /**
   * A hint: the caller checks this read against the store by version before relying on it (it
   * passes the context's `version` to `update` as `expectedVersion`, which fails with `CONFLICT`
   * if the context changed since), and reads again without the hint when that check fails or when
   * the answer alone would make it fail (`undefined`, a version other than the one it expects).
   * An adapter with a client-side cache may then answer from it without confirming that no other
   * client changed the context (so the copy may be older than a write another client finished
   * before the call, and a context deleted or expired since may still be answered). Adapters
   * without such a cache ignore it: the answer is that of a plain `get`.
   */
  versionChecked?: boolean;
}

export interface ContextTouch {
  /** The time of the access: becomes `lastAccessedAt`, and `accessCount` goes up by one. */
  at: number;
  /** Sliding expiry: the new `expiresAt`. */
  expiresAt?: number;
}

export interface ContextStore {
  /**
   * Stores a new context exactly as given (the caller sets version 1, times and counters).
   * `CONFLICT` when a context with this id exists, including an expired one not yet swept.
   */
  create(context: Context): Promise<Context>;
  /** The context, or `undefined` when absent or expired at `now` (even before a sweep). */
  get(id: string, options?: GetContextByIdOptions): Promise<Context | undefined>;
  /**
   * Compare-and-set: applies `changes` only if the stored version equals `expectedVersion`, then
   * sets `version = expectedVersion + 1` and `updatedAt = now`. A different version is `CONFLICT`
   * (`details.actualVersion`), a missing or expired context `NOT_FOUND`. Concurrent callers with
   * the same expected version: exactly one wins.
   */
  update(id: string, expectedVersion: number, changes: ContextChanges, now: number): Promise<Context>;
  /**
   * Records a read: `accessCount + 1`, `lastAccessedAt = touch.at`, and `expiresAt` when given.
   * Does not change `version` or `updatedAt`. Adapters may write touches behind in batches; a
   * crash may lose some, never data. A missing or expired context is ignored.
   */
  touch(id: string, touch: ContextTouch): Promise<void>;
  /**
   * Deletes the context; with `expectedVersion`, only at that version (`CONFLICT` otherwise).
   * Returns whether a live context was deleted.
   */
  delete(id: string, options?: { expectedVersion?: number; now?: number }): Promise<boolean>;
  /** Live contexts matching `filter`, ordered by (`createdAt`, `id`) ascending, keyset-paginated. */
  list(filter?: ContextFilter, options?: PageInput & GetContextOptions): Promise<PageResult<Context>>;
  /** How many live contexts match `filter`. */
  count(filter?: ContextFilter, options?: GetContextOptions): Promise<number>;
  /**
   * Deletes every context with `expiresAt <= now` (at most `limit`, a positive integer, oldest
   * expiry first, ties by `id`) and returns what was deleted in that order, so the caller can
   * audit and notify.
   *
   * `values: false` is for a caller that needs no values (a sweep that only audits): each
   * deleted context comes back without its `data` and `metadata` keys (every other field as
   * stored), so the adapter need not read or decode them. `values` defaults to `true`: whole
   * contexts, as before the option existed. Which contexts are deleted is the same either way.
   * Pass `values: false` as a literal to get the narrower type (the second signature keeps
   * pass-through wrappers compiling).
   */
  deleteExpired(
    now: number,
    options: { limit?: number; values: false },
  ): Promise<Array<Omit<Context, 'data' | 'metadata'>>>;
  deleteExpired(now: number, options?: { limit?: number; values?: boolean }): Promise<Context[]>;
  /**
   * Optional capability, for an adapter whose contexts and audit log share one store: what
   * `deleteExpired(now, options)` does, plus the audit of it in the same atomic write. `event` is
   * called once per deleted context, oldest expiry first (ties by id), with what `deleteExpired`
   * would return for it; the events it returns are appended to this storage's audit log (as
   * `AuditLog.append`) in the same transaction as the deletes. Either every deleted context of
   * the call has its event stored or nothing changed: an `event` that throws (the call rejects
   * with what it threw), an invalid event (`VALIDATION`) or an event id already stored
   * (`CONFLICT`) rejects the call and deletes nothing. Resolves with the deleted contexts, as
   * `deleteExpired` does. Callers of a store without it delete and then append, and a crash
   * between the two loses the audit of the deleted batch.
   */
  deleteExpiredAudited?(
    now: number,
    options: ExpireAuditOptions & { values: false },
  ): Promise<Array<Omit<Context, 'data' | 'metadata'>>>;
  deleteExpiredAudited?(now: number, options: ExpireAuditOptions): Promise<Context[]>;
  /**
   * Optional capability, for a sweep that audits but needs nothing back (no `expire` listeners):
   * what `deleteExpiredAudited(now, { limit, values: false, event })` does when `event(c)` is
   * `{ id, ...options.event, contextId: c.id, scope: c.scope, version: c.version }`, `id` being the
   * i-th of `options.ids(n)` for the i-th deleted context (oldest expiry first, ties by id); resolves
   * with how many were deleted instead of the contexts. The store can then write the events from
   * the deleted rows without a context or an event object per row in the caller's process. `ids`
   * is called once, with the number of contexts the call deletes (not at all when none), and must
   * return that many ids. All or nothing, as `deleteExpiredAudited`: `ids` throwing (the call
   * rejects with what it threw), returning another count or an invalid id, or an invalid
   * `event` (`VALIDATION`), or an id already stored or repeated (`CONFLICT`) deletes nothing.
   */
  deleteExpiredAuditedCount?(now: number, options: ExpireAuditCountOptions): Promise<number>;
  /**
   * Optional capability, a deferred `deleteExpiredAuditedCount` (a logical delete): what
   * `deleteExpiredAuditedCount(now, { event, ids })` does without a limit, the i-th deleted context
   * (oldest expiry first, ties by id) getting the event id `ulidAdd(first, i)` (core ids.ts), where
   * `first = reserveIds(n)`. `reserveIds` is called once, with the number of contexts expired (not
   * at all when none), and returns the first of `n` consecutive ULIDs the caller will never hand
   * out again. Resolves with `n`.
   *
   * From the moment it resolves, every read and write of the storage, in every process, behaves as
   * if those contexts were deleted and their events appended: they are never read, counted,
   * updated or deleted again, their ids are free for `create`, and every `AuditLog.list` returns
   * their events. The store may write the events and remove the rows later (in steps, in the
   * background, or when a read needs them); a crash in between loses and repeats nothing. All or
   * nothing, as `deleteExpiredAuditedCount`: `reserveIds` throwing (rejects with what it threw) or
   * returning no ULID (or a range past the last ULID of its millisecond), an invalid `event`
   * (`VALIDATION`), or a reserved id already stored or reserved by an earlier call (`CONFLICT`)
   * changes nothing. While the events are not written, `AuditLog.append` of a reserved id is
   * `CONFLICT` too (it is stored, logically). Adapters that write eagerly leave it out.
   */
  deleteExpiredDeferred?(now: number, options: ExpireDeferredOptions): Promise<number>;
  /**
   * Optional, with `deleteExpiredDeferred`: does now, in the caller's time, up to `maxRows` (all by
   * default) of the deferred work (writing events, removing rows); resolves with the rows still
   * deferred after it. Nothing a reader sees changes: it only moves work out of the background.
   */
  settleExpired?(options?: { maxRows?: number }): Promise<number>;
}

/** Options of `ContextStore.deleteExpiredDeferred`. */
export interface ExpireDeferredOptions {
  /** The fields every event of the call shares. */
  event: ExpireAuditCountOptions['event'];
  /** Reserves `n` consecutive ULIDs and returns the first (see `ulidAdd`). */
  reserveIds(n: number): string;
}

/** Options of `ContextStore.deleteExpiredAuditedCount`. */
export interface ExpireAuditCountOptions {
  /** As `deleteExpired`'s `limit`. */
  limit?: number;
  /** The fields every event of the call shares. */
  event: Pick<AuditEvent, 'at' | 'principal' | 'action' | 'outcome'> & { changedKeys: readonly string[] };
  /** `n` fresh event ids, in the order of the deleted contexts. */
  ids(n: number): readonly string[];
}

/** Options of `ContextStore.deleteExpiredAudited`. */
export interface ExpireAuditOptions {
  /** As `deleteExpired`'s `limit`. */
  limit?: number;
  /** As `deleteExpired`'s `values`; with `false` the contexts handed to `event` lack them too. */
  values?: boolean;
  /** The audit event of one deleted context (whole, or without its values under `values: false`). */
  event(context: Omit<Context, 'data' | 'metadata'>): AuditEvent;
}

export interface AuditLog {
  /** Appends events atomically (all or none), validated with AuditEventSchema. */
  append(events: readonly AuditEvent[]): Promise<void>;
  /** Events matching `filter`, newest first by (`at`, `id`), keyset-paginated. */
  list(filter?: AuditFilter, options?: PageInput): Promise<PageResult<AuditEvent>>;
}

/** What an adapter serves. A part it cannot serve is absent from the Storage object. */
export interface StorageCapabilities {
  turns: boolean;
  contexts: boolean;
  audit: boolean;
  /** Several processes may open the same store at once. */
  multiProcess: boolean;
  /** Data survives the process. */
  durable: boolean;
}

export interface Storage extends AsyncDisposable {
  /** Adapter name, for messages and metrics (`memory`, `sqlite`, ...). */
  readonly name: string;
  readonly contractVersion: typeof STORAGE_CONTRACT_VERSION;
  readonly capabilities: StorageCapabilities;
  readonly turns?: TurnStore;
  readonly contexts?: ContextStore;
  readonly audit?: AuditLog;
  /** Flushes pending writes and releases files, connections and timers. Idempotent. */
  close(): Promise<void>;
}

/** Narrows a storage to one that serves `part`, or throws `UNSUPPORTED` naming what is missing. */
export function requirePart<K extends 'turns' | 'contexts' | 'audit'>(
  storage: Storage,
  part: K,
  who: string,
): NonNullable<Storage[K]> {
  const value = storage[part];
  if (!value) {
    throw new ConvokitError(
      'UNSUPPORTED',
      `${who} needs ${part} storage, which the ${storage.name} adapter does not provide`,
      { adapter: storage.name, part },
    );
  }
  return value as NonNullable<Storage[K]>;
}

/** The error every store method throws after `close()`. */
export function closedError(adapter: string): ConvokitError {
  return new ConvokitError('STORAGE', `The ${adapter} storage is closed`, { adapter, reason: 'closed' });
}
