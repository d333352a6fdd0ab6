import {
  type AuditEvent,
  CONTEXT_STORE_SYNC,
  type Context,
  type ContextChanges,
  ContextChangesSchema,
  type ContextFilter,
  ContextFilterSchema,
  type ContextStore,
  type ContextStoreSync,
  type ContextTouch,
  ConvokitError,
  contextOf,
  decodeCursor,
  type ExpireAuditOptions,
  encodeCursor,
  fingerprint,
  type GetContextOptions,
  type JsonObject,
  type PageInput,
  type PageResult,
  PageSchema,
  validate,
  warmContextShapes,
} from '@convokit/core';
import type { MemoryAuditLog } from './audit.js';
import {
  checkEpochMs,
  checkKey,
  checkObject,
  checkPositiveInt,
  invalid,
  isEpochMs,
  isKey,
  underPath,
} from './checks.js';
import { checkContext, shareEmpty } from './context-check.js';
import { ExpiryHeap } from './expiry-heap.js';
import type { Host } from './host.js';

const CHANGE_KEYS: ReadonlySet<string> = new Set(['data', 'metadata', 'ownerId', 'parentId', 'expiresAt']);
const TOUCH_KEYS: ReadonlySet<string> = new Set(['at', 'expiresAt']);
const NO_CHANGES: ContextChanges = Object.freeze({});
const INDEXED = ['scope', 'ownerId', 'sessionId', 'persona', 'parentId'] as const;
type IndexedField = (typeof INDEXED)[number];

/**
 * The ids holding one value of an indexed field. Ids are appended and never removed one by one:
 * a context leaving the value only counts as `stale` (its id is dropped when found not to match,
 * and the list is rebuilt once half of it is stale). An array slot costs a third of a Set entry
 * and an append is cheaper than a Set insert, on every create.
 */
interface Posting {
  ids: string[];
  stale: number;
}

export class MemoryContextStore implements ContextStore, ContextStoreSync {
  /** Reads and touches answered at once (see core `ContextStoreSync`): this store itself. */
  readonly [CONTEXT_STORE_SYNC]: ContextStoreSync = this;
  readonly byId = new Map<string, Context>();
  readonly #by = new Map<IndexedField, Map<string, Posting>>(INDEXED.map((f) => [f, new Map()]));
  readonly #expiry = new ExpiryHeap();
  #expiring = 0;
  #audit: MemoryAuditLog | undefined;

  constructor(private readonly host: Host) {
    warmContextShapes();
  }

  async create(context: Context): Promise<Context> {
    this.host.open();
    const c = checkContext(context, this.host.frozen);
    if (this.byId.has(c.id)) {
      throw new ConvokitError('CONFLICT', `Context ${c.id} already exists`, {
        where: 'contexts.create',
        id: c.id,
      });
    }
    if (this.host.journal !== undefined) this.host.record({ type: 'contexts.put', context: c });
    this.put(c);
    return c;
  }

  /** `get(id, { now })`, answered at once (`ContextStoreSync`). */
  getNow(id: string, now: number): Context | undefined {
    this.host.open();
    const c = this.byId.get(id);
    if (c === undefined) checkKey(id, 'contexts.get', 'id');
    checkEpochMs(now, 'contexts.get', 'options.now');
    if (c === undefined || c.expiresAt === undefined) return c;
    return now >= c.expiresAt ? undefined : c;
  }

  async get(id: string, options?: GetContextOptions): Promise<Context | undefined> {
    this.host.open();
    // Only valid ids are stored, so a hit needs no check of `id`; a miss does.
    const c = this.byId.get(id);
    if (c === undefined) checkKey(id, 'contexts.get', 'id');
    const given = options === undefined ? undefined : this.#givenNow(options, 'contexts.get');
    if (c === undefined || c.expiresAt === undefined) return c;
    return (given ?? this.host.clock.now()) >= c.expiresAt ? undefined : c;
  }

  async update(id: string, expectedVersion: number, changes: ContextChanges, now: number): Promise<Context> {
    this.host.open();
    const where = 'contexts.update';
    const c = this.byId.get(id);
    if (c === undefined) checkKey(id, where, 'id');
    checkPositiveInt(expectedVersion, where, 'expectedVersion');
    const ch = this.#changes(changes, c?.data);
    checkEpochMs(now, where, 'now');
    if (c === undefined || (c.expiresAt !== undefined && now >= c.expiresAt)) {
      throw new ConvokitError('NOT_FOUND', `Context ${id} does not exist`, { where, id });
    }
    if (c.version !== expectedVersion) {
      throw new ConvokitError(
        'CONFLICT',
        `Context ${id} is at version ${c.version}, not ${expectedVersion}`,
        {
          where,
          id,
          expectedVersion,
          actualVersion: c.version,
        },
      );
    }
    const next = Object.freeze(withChanges(c, ch, now));
    // The mutation object only when a journal takes it: this runs on every write.
    if (this.host.journal !== undefined) this.host.record({ type: 'contexts.put', context: next });
    this.put(next, c);
    return next;
  }

  async touch(id: string, touch: ContextTouch): Promise<void> {
    this.touchNow(id, touch);
  }

  /** `touch`, answered at once, returning the context as touched (`ContextStoreSync`). */
  touchNow(id: string, touch: ContextTouch): Context | undefined {
    this.host.open();
    const where = 'contexts.touch';
    const c = this.byId.get(id);
    if (c === undefined) checkKey(id, where, 'id');
    const t = checkObject(touch, where, 'touch') as Partial<ContextTouch>;
    const { at, expiresAt } = t;
    checkEpochMs(at, where, 'touch.at');
    if (expiresAt !== undefined) checkEpochMs(expiresAt, where, 'touch.expiresAt');
    const unknown = unknownKey(t, TOUCH_KEYS);
    if (unknown !== undefined) throw invalid(where, `touch.${unknown}`, 'is not a known field');
    if (c === undefined || (c.expiresAt !== undefined && at! >= c.expiresAt)) return undefined;
    const next = Object.freeze(
      rebuild(c, NO_CHANGES, c.version, c.updatedAt, c.accessCount + 1, at!, expiresAt),
    );
    if (this.host.journal !== undefined) this.host.record({ type: 'contexts.put', context: next });
    // A touch changes no indexed field: only the map entry and, when it slides, the expiry.
    this.byId.set(id, next);
    if (next.expiresAt !== c.expiresAt) this.#moveExpiry(c, next);
    return next;
  }

  async delete(id: string, options?: { expectedVersion?: number; now?: number }): Promise<boolean> {
    this.host.open();
    const where = 'contexts.delete';
    checkKey(id, where, 'id');
    const { expectedVersion, now: nowInput, ...rest } = checkObject(options, where, 'options');
    if (expectedVersion !== undefined) checkPositiveInt(expectedVersion, where, 'options.expectedVersion');
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw invalid(where, `options.${unknown}`, 'is not a known option');
    const now = nowInput === undefined ? this.host.clock.now() : checkEpochMs(nowInput, where, 'options.now');
    const c = this.byId.get(id);
    if (c === undefined || (c.expiresAt !== undefined && now >= c.expiresAt)) return false;
    if (expectedVersion !== undefined && c.version !== expectedVersion) {
      throw new ConvokitError(
        'CONFLICT',
        `Context ${id} is at version ${c.version}, not ${expectedVersion}`,
        {
          where,
          id,
          expectedVersion,
          actualVersion: c.version,
        },
      );
    }
    this.host.record({ type: 'contexts.delete', ids: [id] });
    this.remove(id);
    return true;
  }

  async list(filter?: ContextFilter, options?: PageInput & GetContextOptions): Promise<PageResult<Context>> {
    this.host.open();
    const where = 'contexts.list';
    const f = underPath(() => validate(ContextFilterSchema, filter ?? {}, where), 'filter');
    const { now: nowInput, ...pageInput } = checkObject(options, where, 'options');
    const now = nowInput === undefined ? this.host.clock.now() : checkEpochMs(nowInput, where, 'options.now');
    const page = underPath(() => validate(PageSchema, pageInput, where), 'options');
    const print = fingerprint({ filter: f });
    let after: { createdAt: number; id: string } | undefined;
    if (page.cursor !== undefined) {
      const [createdAt, id] = decodeCursor(page.cursor, print, where);
      if (typeof createdAt !== 'number' || typeof id !== 'string') {
        throw invalid(where, 'cursor', 'not a cursor this store issued');
      }
      after = { createdAt, id };
    }
    const found: Context[] = [];
    for (const c of this.#candidates(f)) {
      if (!live(c, now) || !matches(c, f)) continue;
      if (after && compareCreated(c, after) <= 0) continue;
      found.push(c);
    }
    found.sort(compareCreated);
    let nextCursor: string | null = null;
    if (found.length > page.limit) {
      found.length = page.limit;
      const last = found[found.length - 1]!;
      nextCursor = encodeCursor([last.createdAt, last.id], print);
    }
    return { items: found, nextCursor };
  }

  async count(filter?: ContextFilter, options?: GetContextOptions): Promise<number> {
    this.host.open();
    const f = underPath(() => validate(ContextFilterSchema, filter ?? {}, 'contexts.count'), 'filter');
    const now = this.#now(options, 'contexts.count');
    let n = 0;
    for (const c of this.#candidates(f)) if (live(c, now) && matches(c, f)) n++;
    return n;
  }

  async deleteExpired(now: number, options?: { limit?: number; values?: boolean }): Promise<Context[]> {
    this.host.open();
    const where = 'contexts.deleteExpired';
    const { limit, values } = this.#sweepOptions(now, options, where, false);
    const expired = this.#takeExpired(now, limit);
    if (expired.length === 0) return expired;
    try {
      this.host.record({ type: 'contexts.delete', ids: expired.map((c) => c.id) });
    } catch (error) {
      this.#putBack(expired);
      throw error;
    }
    for (const c of expired) this.remove(c.id);
    // Without values (see the contract): typed as contexts only to fit its general signature.
    return values ? expired : (expired.map(summaryOf) as Context[]);
  }

  /**
   * `deleteExpired` plus the expire audit of what it deletes, all or nothing: the events are
   * built, validated and checked against stored ids before anything changes, the journal gets
   * one `contexts.expire` mutation holding both, and the deletes and the append then run with no
   * await in between.
   */
  async deleteExpiredAudited(now: number, options: ExpireAuditOptions): Promise<Context[]> {
    this.host.open();
    const where = 'contexts.deleteExpiredAudited';
    const { limit, values, event } = this.#sweepOptions(now, options, where, true);
    const audit = this.#audit;
    if (audit === undefined)
      throw new ConvokitError('UNSUPPORTED', 'This context store has no audit log', { where });
    const expired = this.#takeExpired(now, limit);
    if (expired.length === 0) return expired;
    let handed: Context[] = expired;
    let events: AuditEvent[];
    try {
      if (!values) handed = expired.map(summaryOf) as Context[];
      const built = new Array<AuditEvent>(handed.length);
      for (let i = 0; i < handed.length; i++) built[i] = event!(handed[i]!);
      events = audit.checkBatch(built, where);
      if (this.host.journal !== undefined) {
        this.host.record({ type: 'contexts.expire', ids: expired.map((c) => c.id), events });
      }
    } catch (error) {
      // Nothing was changed: the heap entries go back so a later sweep finds these contexts.
      this.#putBack(expired);
      throw error;
    }
    for (const c of expired) this.remove(c.id);
    audit.applyAppend(events);
    return handed;
  }

  /** Links the audit log of the same storage, which `deleteExpiredAudited` appends to. */
  attachAudit(audit: MemoryAuditLog): void {
    this.#audit = audit;
  }

  /** Checks a sweep's arguments (`event` only when `audited`). */
  #sweepOptions(
    now: number,
    options: unknown,
    where: string,
    audited: boolean,
  ): { limit: number; values: boolean; event: ExpireAuditOptions['event'] | undefined } {
    checkEpochMs(now, where, 'now');
    const { limit: limitInput, values, event, ...rest } = checkObject(options, where, 'options');
    if (!audited && event !== undefined) throw invalid(where, 'options.event', 'is not a known option');
    if (audited && typeof event !== 'function') throw invalid(where, 'options.event', 'must be a function');
    const limit =
      limitInput === undefined
        ? Number.POSITIVE_INFINITY
        : checkPositiveInt(limitInput, where, 'options.limit');
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw invalid(where, `options.${unknown}`, 'is not a known option');
    if (values !== undefined && typeof values !== 'boolean')
      throw invalid(where, 'options.values', 'must be a boolean');
    return { limit, values: values !== false, event: event as ExpireAuditOptions['event'] | undefined };
  }

  /**
   * Pops up to `limit` contexts with `expiresAt <= now` off the heap, oldest expiry first (ties by
   * id). They stay stored: the caller removes them, or hands them to `#putBack`.
   */
  #takeExpired(now: number, limit: number): Context[] {
    const expired: Context[] = [];
    const taken = new Set<string>();
    for (let at = this.#expiry.peekAt(); at !== undefined && at <= now; at = this.#expiry.peekAt()) {
      if (expired.length >= limit) break;
      const c = this.byId.get(this.#expiry.peekId()!);
      this.#expiry.pop();
      // Stale entries (context gone or its expiry moved) are dropped as they surface.
      if (c === undefined || c.expiresAt !== at || taken.has(c.id)) continue;
      taken.add(c.id);
      expired.push(c);
    }
    return expired;
  }

  /** Restores the heap entries of contexts `#takeExpired` popped but that were not deleted. */
  #putBack(expired: readonly Context[]): void {
    for (const c of expired) this.#expiry.push(c.expiresAt!, c.id);
  }

  /**
   * Stores a frozen context (create, update, touch, replay), keeping every index in step. `prev`
   * is what `byId` holds for its id (callers that just read it pass it; `undefined`: none).
   */
  put(next: Context, prev: Context | undefined = this.byId.get(next.id)): void {
    const id = next.id;
    this.byId.set(id, next);
    if (prev === undefined) {
      this.#post('scope', next.scope, id);
      if (next.ownerId !== undefined) this.#post('ownerId', next.ownerId, id);
      if (next.sessionId !== undefined) this.#post('sessionId', next.sessionId, id);
      if (next.persona !== undefined) this.#post('persona', next.persona, id);
      if (next.parentId !== undefined) this.#post('parentId', next.parentId, id);
    } else {
      // Field by field rather than a loop over names: a keyed read with a variable name is
      // megamorphic, and this runs on every write.
      if (prev.scope !== next.scope) this.#repost('scope', prev.scope, next.scope, id);
      if (prev.ownerId !== next.ownerId) this.#repost('ownerId', prev.ownerId, next.ownerId, id);
      if (prev.sessionId !== next.sessionId) this.#repost('sessionId', prev.sessionId, next.sessionId, id);
      if (prev.persona !== next.persona) this.#repost('persona', prev.persona, next.persona, id);
      if (prev.parentId !== next.parentId) this.#repost('parentId', prev.parentId, next.parentId, id);
    }
    this.#moveExpiry(prev, next);
  }

  /** Keeps the live count and the heap in step when a context's `expiresAt` may have changed. */
  #moveExpiry(prev: Context | undefined, next: Context): void {
    if (prev?.expiresAt !== undefined) this.#expiring--;
    if (next.expiresAt !== undefined) {
      this.#expiring++;
      if (next.expiresAt !== prev?.expiresAt) this.#expiry.push(next.expiresAt, next.id);
    }
    this.#compactExpiry();
  }

  remove(id: string): void {
    const c = this.byId.get(id);
    if (c === undefined) return;
    this.byId.delete(id);
    this.#unpost('scope', c.scope);
    if (c.ownerId !== undefined) this.#unpost('ownerId', c.ownerId);
    if (c.sessionId !== undefined) this.#unpost('sessionId', c.sessionId);
    if (c.persona !== undefined) this.#unpost('persona', c.persona);
    if (c.parentId !== undefined) this.#unpost('parentId', c.parentId);
    if (c.expiresAt !== undefined) this.#expiring--;
  }

  clear(): void {
    this.byId.clear();
    for (const index of this.#by.values()) index.clear();
    this.#expiry.reset([]);
    this.#expiring = 0;
  }

  #post(field: IndexedField, key: string, id: string): void {
    const index = this.#by.get(field)!;
    const posting = index.get(key);
    if (posting === undefined) index.set(key, { ids: [id], stale: 0 });
    else posting.ids.push(id);
  }

  #repost(field: IndexedField, before: string | undefined, after: string | undefined, id: string): void {
    if (before !== undefined) this.#unpost(field, before);
    if (after !== undefined) this.#post(field, after, id);
  }

  /**
   * Called once the context that left posting `key` is no longer in it (byId already holds its
   * new state, or not the context at all). The id stays in the list, counted stale, until stale
   * entries are half the list: then the list is rebuilt from the live ones.
   */
  #unpost(field: IndexedField, key: string): void {
    const index = this.#by.get(field)!;
    const posting = index.get(key);
    if (posting === undefined) return;
    posting.stale++;
    if (posting.stale * 2 < posting.ids.length) return;
    const live = this.#livePosting(field, key, posting);
    if (live.length === 0) index.delete(key);
    else index.set(key, { ids: live, stale: 0 });
  }

  /** The ids of a posting whose context is stored and still has `key` in `field`, each once. */
  #livePosting(field: IndexedField, key: string, posting: Posting): string[] {
    const out: string[] = [];
    const seen = posting.stale > 0 ? new Set<string>() : undefined;
    for (const id of posting.ids) {
      const c = this.byId.get(id);
      if (c === undefined || c[field] !== key) continue;
      if (seen !== undefined) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      out.push(id);
    }
    return out;
  }

  /** Sliding expiry pushes an entry per touch; rebuild once stale entries outnumber live ones. */
  #compactExpiry(): void {
    if (this.#expiry.size <= 1024 || this.#expiry.size <= 2 * this.#expiring) return;
    const live: Context[] = [];
    for (const c of this.byId.values()) if (c.expiresAt !== undefined) live.push(c);
    this.#expiry.reset(live as Array<{ expiresAt: number; id: string }>);
  }

  /** The contexts of the smallest posting serving `f`, or every context. */
  *#candidates(f: ContextFilter): Iterable<Context> {
    let best: Posting | undefined;
    let bestField: IndexedField = 'scope';
    let bestKey = '';
    for (const field of INDEXED) {
      const value = f[field];
      if (value === undefined) continue;
      const posting = this.#by.get(field)!.get(value);
      if (posting === undefined) return;
      if (best === undefined || posting.ids.length - posting.stale < best.ids.length - best.stale) {
        best = posting;
        bestField = field;
        bestKey = value;
      }
    }
    if (best === undefined) {
      yield* this.byId.values();
      return;
    }
    // Callers consume this synchronously, so no write can compact the posting meanwhile.
    for (const id of best.stale === 0 ? best.ids : this.#livePosting(bestField, bestKey, best)) {
      const c = this.byId.get(id);
      if (c !== undefined && c[bestField] === bestKey) yield c;
    }
  }

  #changes(changes: unknown, stored: JsonObject | undefined): ContextChanges {
    const fast = this.#fastChanges(changes, stored);
    if (fast !== undefined) return fast;
    const parsed = underPath(() => validate(ContextChangesSchema, changes, 'contexts.update'), 'changes');
    return this.host.frozen.fresh(parsed);
  }

  /** The changes as ContextChangesSchema would give them, frozen, or undefined when in doubt. */
  #fastChanges(changes: unknown, stored: JsonObject | undefined): ContextChanges | undefined {
    if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) return undefined;
    if (Object.getPrototypeOf(changes) !== Object.prototype) return undefined;
    const out: ContextChanges = {};
    const input = changes as Record<string, unknown>;
    for (const key in input) {
      const value = input[key];
      if (value === undefined) {
        // Zod's strict object still refuses an unknown key whose value is undefined.
        if (!CHANGE_KEYS.has(key)) return undefined;
        continue;
      }
      switch (key) {
        case 'data': {
          const json = this.#newData(value, stored);
          if (json === undefined) return undefined;
          out.data = json;
          break;
        }
        case 'metadata': {
          const json = this.host.frozen.jsonObject(value);
          if (json === undefined) return undefined;
          out.metadata = shareEmpty(json);
          break;
        }
        case 'ownerId':
          if (!isKey(value)) return undefined;
          out.ownerId = value;
          break;
        case 'parentId':
          if (value !== null && !isKey(value)) return undefined;
          out.parentId = value;
          break;
        case 'expiresAt':
          if (value !== null && !isEpochMs(value)) return undefined;
          out.expiresAt = value;
          break;
        default:
          return undefined;
      }
    }
    return out;
  }

  /** A frozen copy of new data, sharing with the stored data what it did not change. */
  #newData(value: unknown, stored: JsonObject | undefined): JsonObject | undefined {
    return stored === undefined
      ? this.host.frozen.jsonObject(value)
      : this.host.frozen.jsonObjectOver(value, stored);
  }

  #now(options: GetContextOptions | undefined, where: string): number {
    return (options === undefined ? undefined : this.#givenNow(options, where)) ?? this.host.clock.now();
  }

  /** The checked `options.now`, or undefined when the caller gave none. */
  #givenNow(options: GetContextOptions, where: string): number | undefined {
    if (options.now !== undefined) return checkEpochMs(options.now, where, 'options.now');
    checkObject(options, where, 'options');
    return undefined;
  }
}

/** The first own key of `value` not in `known` (a check without the copy a rest pattern makes). */
function unknownKey(value: object, known: ReadonlySet<string>): string | undefined {
  for (const key in value) if (!known.has(key) && Object.hasOwn(value, key)) return key;
  return undefined;
}

/** A context without its values, as `deleteExpired` hands it over under `values: false`. */
function summaryOf({
  data: _data,
  metadata: _metadata,
  ...summary
}: Context): Omit<Context, 'data' | 'metadata'> {
  return summary;
}

function live(c: Context, now: number): boolean {
  return c.expiresAt === undefined || now < c.expiresAt;
}

function matches(c: Context, f: ContextFilter): boolean {
  return (
    (f.scope === undefined || c.scope === f.scope) &&
    (f.ownerId === undefined || c.ownerId === f.ownerId) &&
    (f.sessionId === undefined || c.sessionId === f.sessionId) &&
    (f.persona === undefined || c.persona === f.persona) &&
    (f.parentId === undefined || c.parentId === f.parentId)
  );
}

function compareCreated(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The next version of `c`: changed fields, `null` removing `parentId`/`expiresAt`, version + 1. */
function withChanges(c: Context, ch: ContextChanges, now: number): Context {
  return rebuild(c, ch, c.version + 1, now, c.accessCount, c.lastAccessedAt, undefined);
}

/**
 * A new context object from `c` and `ch`, always built the same way so that successive
 * versions share object shapes (cheap to read, to spread and to freeze).
 */
function rebuild(
  c: Context,
  ch: ContextChanges,
  version: number,
  updatedAt: number,
  accessCount: number,
  lastAccessedAt: number,
  touchExpiresAt: number | undefined,
): Context {
  return contextOf(
    c.id,
    c.scope,
    ch.ownerId ?? c.ownerId,
    c.sessionId,
    c.persona,
    ch.parentId === null ? undefined : (ch.parentId ?? c.parentId),
    ch.data ?? c.data,
    ch.metadata ?? c.metadata,
    version,
    c.createdAt,
    updatedAt,
    ch.expiresAt === null ? undefined : (ch.expiresAt ?? touchExpiresAt ?? c.expiresAt),
    accessCount,
    lastAccessedAt,
  );
}
