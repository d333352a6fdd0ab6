import type {
  AuditAction,
  AuditEvent,
  AuditFilter,
  AuditLog,
  Clock,
  Context,
  ContextChanges,
  ContextFilter,
  ContextScope,
  ContextStore,
  ContextStoreSync,
  IdGenerator,
  JsonObject,
  Logger,
  MetricsSnapshot,
  PageInput,
  PageResult,
  Principal,
} from '@convokit/core';
import {
  AuditFilterSchema,
  ContextFilterSchema,
  ConvokitError,
  contextOf,
  contextStoreSync,
  createLogger,
  PageSchema,
  requirePart,
  systemClock,
  validate,
} from '@convokit/core';
import { AuditBuffer } from './audit-buffer.js';
import {
  checkJsonObject,
  checkKey,
  checkOptionalKey,
  checkOptions,
  checkScope,
  checkTtl,
  checkVersion,
} from './checks.js';
import { type ChangeEvent, Emitter, type EventName, type ExpireEvent } from './events.js';
import { createFlatIdGenerator, type ReservingIdGenerator } from './ids.js';
import { invalid, lastBoundDepth } from './json.js';
import { KeyedQueue } from './keyed-queue.js';
import { checkDataLimits, measureBound } from './limits.js';
import { type AppliedUpdate, applyUpdate, resolveChain, UPDATE_STRATEGIES } from './merge.js';
import { OpMetrics, type OpStat } from './op-metrics.js';
import type { ChatContextManagerOptions, ResolvedSettings } from './options.js';
import { resolveSettings } from './options.js';
import { type AccessPolicy, defaultPolicy, type PolicyAction } from './policy.js';
import { warmShapes } from './shapes.js';
import type { CreateOptions, DeleteOptions, ResolvedContext, UpdateOptions, WriteResult } from './types.js';

const SYSTEM = 'system';
const NOOP = () => {};
const NO_KEYS: readonly string[] = Object.freeze([]);
/** Storage pages fetched per `list` call before returning a short page with a cursor. */
const MAX_LIST_FETCHES = 20;
const BATCH = 1000;
const SWEEP_BATCH = 5000;
/** Audit events waiting to be appended before callers are made to wait for the log. */
const AUDIT_HIGH_WATER = 10_000;

const OWNER_SCOPES: ReadonlySet<string> = new Set(['session', 'conversation', 'analytics', 'navigation']);

function closedError(): ConvokitError {
  return new ConvokitError('STORAGE', 'The context manager is closed', { reason: 'closed' });
}

function notFound(id: string): ConvokitError {
  return new ConvokitError('NOT_FOUND', `No live context ${id}`, { contextId: id });
}

/** A lost compare-and-set the update loop may retry (with a fresh read). */
function retryableConflict(error: ConvokitError, attempt: number): ConvokitError {
  return new ConvokitError(
    'CONFLICT',
    error.message,
    { ...error.details, retryable: true, attempt },
    { cause: error },
  );
}

/** A copy the policy did not allow an update of, at this version (see #attemptOnChecked). */
class Denied {
  constructor(readonly version: number) {}
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * The context as a read returns it: the access counted, the slide applied. Built field by field in
 * one fixed order (a spread of a frozen object is several times slower, and this runs per read).
 */
function accessed(ctx: Context, now: number, slid: number | undefined): Context {
  return contextOf(
    ctx.id,
    ctx.scope,
    ctx.ownerId,
    ctx.sessionId,
    ctx.persona,
    ctx.parentId,
    ctx.data,
    ctx.metadata,
    ctx.version,
    ctx.createdAt,
    ctx.updatedAt,
    slid ?? ctx.expiresAt,
    ctx.accessCount + 1,
    now,
  );
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function withinKeyLength(keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) if (keys[i]!.length > 256) return false;
  return true;
}

/** A backoff pause. Not unref'd: a caller is waiting on it, so it must keep the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A create whose arguments are checked: what `#createSlow` and `#created` need. */
interface CreatePlan {
  context: Context;
  /** Upper bound of the bytes of `data` and `metadata` as JSON (see `checkDataLimits`). */
  bytes: number;
  depth: number;
  /** An async policy's verdict, still to come; the limits are checked once it allows. */
  gate: Promise<void> | undefined;
  /** Nothing left to check: the store may take the context at once. */
  ready: boolean;
}

/**
 * The engine behind the manager and its handles: every operation, with the principal passed in.
 * Not exported; `ChatContextManager` and `ContextHandle` are the public faces.
 */
export class ContextEngine {
  readonly #contexts: ContextStore;
  /** The store's synchronous side, if it offers one (reads then await nothing). */
  readonly #sync: ContextStoreSync | undefined;
  readonly #audit: AuditLog;
  readonly #settings: ResolvedSettings;
  readonly #policy: AccessPolicy;
  readonly #customPolicy: boolean;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #log: Logger;
  readonly #metrics = new OpMetrics();
  readonly #buffer: AuditBuffer;
  readonly #events: Emitter;
  readonly #queue = new KeyedQueue();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<number> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #inflight = 0;
  #idle: (() => void) | null = null;
  readonly #recentKeys: Array<readonly string[] | undefined> = [undefined, undefined];
  /** The last two times `#shareTime` handed out (strings until then, so the array holds tagged values). */
  readonly #recentTimes: unknown[] = ['', ''];

  constructor(options: ChatContextManagerOptions) {
    this.#settings = resolveSettings(options);
    this.#contexts = requirePart(options.storage, 'contexts', 'ChatContextManager');
    this.#sync = contextStoreSync(this.#contexts);
    this.#audit = requirePart(options.storage, 'audit', 'ChatContextManager');
    this.#policy = options.policy ?? defaultPolicy;
    this.#customPolicy = options.policy !== undefined;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.idGenerator ?? createFlatIdGenerator(this.#clock);
    this.#log = createLogger('context-manager', options.logger);
    warmShapes();
    this.#buffer = new AuditBuffer(this.#audit, (error, events) => {
      this.#metrics.increment('audit.failed', events);
      this.#log.error({ err: error, events }, 'audit append failed; events lost');
    });
    this.#events = new Emitter((error, event) => {
      this.#metrics.increment('listener.errors');
      this.#log.error({ err: error, event }, 'event listener threw');
    });
    if (this.#settings.sweepIntervalMs > 0) {
      this.#timer = setInterval(() => {
        this.sweep().catch((error) => this.#log.error({ err: error }, 'sweep failed'));
      }, this.#settings.sweepIntervalMs);
      this.#timer.unref?.();
    }
  }

  /** Subscribes to `change` (every create, update, delete) or `expire` (sweeps); returns the unsubscribe. */
  on(event: 'change', listener: (event: ChangeEvent) => void): () => void;
  on(event: 'expire', listener: (event: ExpireEvent) => void): () => void;
  on(event: EventName, listener: (event: never) => void): () => void {
    if (event !== 'change' && event !== 'expire') {
      throw invalid('ChatContextManager.on', 'event', "must be 'change' or 'expire'");
    }
    if (typeof listener !== 'function')
      throw invalid('ChatContextManager.on', 'listener', 'must be a function');
    return this.#events.on(event, listener as (e: ChangeEvent | ExpireEvent) => void);
  }

  /**
   * Deletes every context expired by now, audits each as `expire` by `system` and emits `expire`.
   * Returns how many were deleted. Concurrent calls share one run.
   */
  sweep(): Promise<number> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#sweeping) return this.#sweeping;
    const run = this.#sweep().finally(() => {
      this.#sweeping = null;
    });
    this.#sweeping = run;
    return run;
  }

  async #sweep(): Promise<number> {
    const start = performance.now();
    const ids = this.#ids as Partial<ReservingIdGenerator>;
    const total =
      this.#contexts.deleteExpiredDeferred && typeof ids.reserve === 'function' && !this.#events.has('expire')
        ? await this.#sweepDeferred(this.#contexts.deleteExpiredDeferred.bind(this.#contexts), (n) =>
            ids.reserve!(n),
          )
        : this.#contexts.deleteExpiredAudited
          ? await this.#sweepAudited()
          : await this.#sweepThenAudit();
    this.#metrics.increment('expired', total);
    this.#metrics.observe('sweep', performance.now() - start);
    if (total > 0) this.#log.info({ expired: total }, 'sweep deleted expired contexts');
    return total;
  }

  /**
   * A store that expires logically: one short write records what expired and reserves its event
   * ids (one consecutive range from this generator, in expiry order); the store writes the events
   * and removes the rows later, and every read sees them as written from now on. Needs no values,
   * so only without `expire` listeners.
   */
  async #sweepDeferred(
    expire: NonNullable<ContextStore['deleteExpiredDeferred']>,
    reserve: (n: number) => string,
  ): Promise<number> {
    const now = this.#clock.now();
    return expire(now, {
      event: { at: now, principal: SYSTEM, action: 'expire', outcome: 'ok', changedKeys: NO_KEYS },
      reserveIds: (n) => reserve(n),
    });
  }

  /**
   * A store that deletes and audits in one atomic write: each batch's `expire` events are stored
   * with its deletes, so no crash or failure can leave a deleted context unaudited.
   */
  async #sweepAudited(): Promise<number> {
    let total = 0;
    for (;;) {
      const now = this.#clock.now();
      const event = (context: Omit<Context, 'data' | 'metadata'>) =>
        this.#event(SYSTEM, 'expire', context.id, context.scope, 'ok', NO_KEYS, now, context.version);
      // Values are read only for `expire` listeners (see #sweepThenAudit).
      const notify = this.#events.has('expire');
      let count: number;
      if (!notify && this.#contexts.deleteExpiredAuditedCount) {
        // Nothing to hand back: the store writes each event from the deleted row (`event` above,
        // field for field) with an id from here, and no context or event object is made per row.
        count = await this.#contexts.deleteExpiredAuditedCount(now, {
          limit: SWEEP_BATCH,
          event: { at: now, principal: SYSTEM, action: 'expire', outcome: 'ok', changedKeys: NO_KEYS },
          ids: (n) => {
            const ids = new Array<string>(n);
            for (let i = 0; i < n; i++) ids[i] = this.#ids();
            return ids;
          },
        });
      } else if (notify) {
        const deleted = await this.#contexts.deleteExpiredAudited!(now, { limit: SWEEP_BATCH, event });
        for (const context of deleted) this.#events.emit('expire', { context, at: now });
        count = deleted.length;
      } else {
        count = (
          await this.#contexts.deleteExpiredAudited!(now, { limit: SWEEP_BATCH, values: false, event })
        ).length;
      }
      total += count;
      if (count < SWEEP_BATCH) return total;
    }
  }

  async #sweepThenAudit(): Promise<number> {
    let total = 0;
    // The sweep's `expire` events go to the audit log as one batch once the deletes are done
    // (or fail: what was deleted is audited either way), and the sweep resolves only after that
    // append, so a finished sweep is an audited one.
    const events: AuditEvent[] = [];
    try {
      for (;;) {
        const now = this.#clock.now();
        // The audit needs no values: without `expire` listeners the store need not read or decode
        // them. A listener that subscribes while a batch is being deleted sees the batches after it.
        const notify = this.#events.has('expire');
        let expired: Array<Omit<Context, 'data' | 'metadata'>>;
        if (notify) {
          const deleted = await this.#contexts.deleteExpired(now, { limit: SWEEP_BATCH });
          for (const context of deleted) this.#events.emit('expire', { context, at: now });
          expired = deleted;
        } else {
          expired = await this.#contexts.deleteExpired(now, { limit: SWEEP_BATCH, values: false });
        }
        for (const context of expired) {
          events.push(
            this.#event(SYSTEM, 'expire', context.id, context.scope, 'ok', NO_KEYS, now, context.version),
          );
        }
        total += expired.length;
        if (expired.length < SWEEP_BATCH) break;
      }
    } finally {
      this.#buffer.pushAll(events);
    }
    await this.#buffer.flush();
    return total;
  }

  /** Audit events, newest first (AuditFilterSchema, PageSchema). Pending events are flushed first. */
  async audit(filter: AuditFilter = {}, page: PageInput = {}): Promise<PageResult<AuditEvent>> {
    const f = validate(AuditFilterSchema, filter, 'ChatContextManager.audit');
    const p = validate(PageSchema, page, 'ChatContextManager.audit');
    await this.#buffer.flush();
    return this.#audit.list(f, p);
  }

  /** Op counts, latency percentiles (ms), denials, conflicts and retries. */
  getMetrics(): MetricsSnapshot {
    return this.#metrics.snapshot();
  }

  /**
   * Stops the sweep timer, waits for calls in flight and flushes the audit trail. Idempotent.
   * The storage stays open: it belongs to the caller.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      if (this.#timer) clearInterval(this.#timer);
      this.#closing = (async () => {
        if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
        await this.#sweeping?.catch(NOOP);
        await this.#buffer.flush();
        this.#events.clear();
      })();
    }
    return this.#closing;
  }

  // ---- operations run by handles ----

  async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const start = this.#enter();
    try {
      const result = await fn();
      // Backpressure: when the audit log falls behind, writers wait for it instead of queueing without bound.
      if (this.#buffer.pending > AUDIT_HIGH_WATER) await this.#buffer.flush();
      return result;
    } catch (error) {
      this.#failed(error);
      throw error;
    } finally {
      this.#leave(op, start);
    }
  }

  /** Starts a tracked call (refused once closed); returns its start time for `#leave`. */
  #enter(): number {
    if (this.#closed) throw closedError();
    this.#inflight++;
    return performance.now();
  }

  #leave(op: string, start: number): void {
    this.#metrics.increment(op);
    this.#metrics.observe(op, performance.now() - start);
    this.#settle();
  }

  /** `#leave` for `get`, `create` and `update`, whose counters are fields. */
  #leaveHot(stat: OpStat, start: number): void {
    stat.record(performance.now() - start);
    this.#settle();
  }

  #settle(): void {
    if (--this.#inflight === 0 && this.#idle) {
      this.#idle();
      this.#idle = null;
    }
  }

  #failed(error: unknown): void {
    if (ConvokitError.is(error)) this.#metrics.increment(`errors.${error.code}`);
  }

  /**
   * `ContextHandle.get`: `read` tracked as the `get` operation. Written out rather than through
   * `run`, which would add a closure, a promise and an await to the hottest call; over a store
   * with a synchronous side and a synchronous policy it awaits nothing at all.
   */
  async get(p: Principal, idIn: unknown): Promise<Context | undefined> {
    const start = this.#enter();
    try {
      const id = checkKey(idIn, 'ContextHandle.get', 'id');
      const read = this.#readAt(p, id, this.#clock.now());
      return read instanceof Promise ? await read : read;
    } catch (error) {
      this.#failed(error);
      throw error;
    } finally {
      this.#leaveHot(this.#metrics.get, start);
    }
  }

  /**
   * `ContextHandle.create`, tracked as `create`. Written without async functions (see `get`): the
   * checks run at once, and the store's promise is the only one awaited, by a single `then` that
   * audits, emits and records the metrics.
   */
  createTracked(p: Principal, scopeIn: unknown, data: unknown, optionsIn: unknown): Promise<Context> {
    let start: number;
    try {
      start = this.#enter();
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      // A local, not a field of the plan: a time read back from an object field is a new box,
      // and the audit event would then hold 16 bytes of its own (see `#shareTime`).
      const now = this.#shareTime(this.#clock.now());
      const plan = this.#planCreate(p, scopeIn, data, optionsIn, now);
      return this.#store(p, plan, now).then(
        (created) => {
          this.#created(p, plan, created, now);
          if (this.#buffer.pending > AUDIT_HIGH_WATER) {
            return this.#buffer.flush().then(() => this.#createDone(created, start));
          }
          return this.#createDone(created, start);
        },
        (error: unknown) => this.#createFailed(error, start),
      );
    } catch (error) {
      return this.#createFailed(error, start);
    }
  }

  #createDone(created: Context, start: number): Context {
    this.#leaveHot(this.#metrics.create, start);
    return created;
  }

  #createFailed(error: unknown, start: number): Promise<never> {
    this.#failed(error);
    this.#leaveHot(this.#metrics.create, start);
    return Promise.reject(error);
  }

  /** `ContextHandle.update`, tracked as `update`. */
  async updateTracked(p: Principal, idIn: unknown, patch: unknown, optionsIn: unknown): Promise<Context> {
    const start = this.#enter();
    try {
      const where = 'ContextHandle.update';
      const id = checkKey(idIn, where, 'id');
      const o = checkOptions(optionsIn, where) as UpdateOptions;
      const strategy = o.strategy ?? 'deep';
      if (!UPDATE_STRATEGIES.includes(strategy)) {
        throw invalid(where, 'strategy', `must be one of ${UPDATE_STRATEGIES.join(', ')}`);
      }
      const expectedVersion = checkVersion(o.expectedVersion, where);
      checkJsonObject(patch, where, 'patch');
      const r = await this.write(p, id, expectedVersion, (ctx) => {
        const applied: AppliedUpdate = applyUpdate(ctx.data, patch as JsonObject, strategy);
        return { changes: { data: applied.data }, changedKeys: applied.changedKeys };
      });
      if (this.#buffer.pending > AUDIT_HIGH_WATER) await this.#buffer.flush();
      return r.context;
    } catch (error) {
      this.#failed(error);
      throw error;
    } finally {
      this.#leaveHot(this.#metrics.update, start);
    }
  }

  /** A create without the `create` metrics (chart creation runs it inside its own tracked call). */
  create(p: Principal, scopeIn: unknown, data: unknown, optionsIn: unknown): Promise<Context> {
    try {
      const now = this.#shareTime(this.#clock.now());
      const plan = this.#planCreate(p, scopeIn, data, optionsIn, now);
      return this.#store(p, plan, now).then((created) => {
        this.#created(p, plan, created, now);
        return created;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Checks a create's arguments and builds the context. With a synchronous policy that allows it,
   * the size and depth limits are checked here too, and the plan is `ready` unless a parent or an
   * owner's count must still be read; anything else is left to `#createSlow`.
   */
  #planCreate(p: Principal, scopeIn: unknown, data: unknown, optionsIn: unknown, now: number): CreatePlan {
    const where = 'ContextHandle.create';
    const scope = checkScope(scopeIn, where);
    const dataBytes = checkJsonObject(data, where, 'data');
    const dataDepth = lastBoundDepth();
    const o = checkOptions(optionsIn, where) as CreateOptions;
    const id = o.id === undefined ? this.#ids() : checkKey(o.id, where, 'id');
    const ttl = o.ttlMs === undefined ? this.#settings.ttl[scope] : checkTtl(o.ttlMs, where, 'ttlMs');
    const parentId = checkOptionalKey(o.parentId, where, 'parentId');
    const sessionId = checkOptionalKey(o.sessionId, where, 'sessionId');
    const persona = checkOptionalKey(o.persona, where, 'persona');
    const ownerId = o.ownerId === undefined ? p.id : checkKey(o.ownerId, where, 'ownerId');
    let metadata: JsonObject;
    let bytes = dataBytes;
    let depth = dataDepth;
    if (o.metadata === undefined) {
      metadata = {};
      bytes += 2;
    } else {
      metadata = o.metadata;
      bytes += checkJsonObject(metadata, where, 'metadata');
      depth = Math.max(depth, lastBoundDepth());
    }
    if (scope === 'persona' && persona === undefined) {
      throw invalid(where, 'persona', 'is required for a persona-scope context');
    }
    // Fields in the order of core `contextOf` (see shapes.ts).
    const context: Context = {
      id,
      scope,
      data: data as JsonObject,
      metadata,
      version: 1,
      createdAt: now,
      updatedAt: now,
      accessCount: 0,
      lastAccessedAt: now,
    };
    context.ownerId = ownerId;
    if (sessionId !== undefined) context.sessionId = sessionId;
    if (persona !== undefined) context.persona = persona;
    if (parentId !== undefined) context.parentId = parentId;
    if (ttl !== null) context.expiresAt = this.#shareTime(now + ttl);

    const gate = this.#authorize(p, 'create', context);
    if (gate === undefined) {
      checkDataLimits(bytes, depth, this.#settings.limits, id, data as JsonObject, metadata);
    }
    const ready =
      gate === undefined && parentId === undefined && this.#settings.limits.maxContextsPerOwner === null;
    return { context, bytes, depth, gate, ready };
  }

  /** Writes the planned context: at once when the plan is ready, else after the checks left. */
  #store(p: Principal, plan: CreatePlan, now: number): Promise<Context> {
    return plan.ready ? this.#contexts.create(plan.context) : this.#createSlow(p, plan, now);
  }

  /** The rest of a create that waits on an async policy, a parent's chain or an owner's count. */
  async #createSlow(p: Principal, plan: CreatePlan, now: number): Promise<Context> {
    const { context, gate } = plan;
    const { id, metadata, parentId } = context;
    const ownerId = context.ownerId!;
    if (gate !== undefined) {
      await gate;
      checkDataLimits(plan.bytes, plan.depth, this.#settings.limits, id, context.data, metadata);
    }
    if (parentId !== undefined) await this.#checkParent(p, parentId, now);
    const max = this.#settings.limits.maxContextsPerOwner;
    if (max === null) return this.#contexts.create(context);
    return this.#queue.run(`owner\u0000${ownerId}`, async () => {
      const held = await this.#contexts.count({ ownerId }, { now });
      if (held >= max) {
        throw new ConvokitError(
          'LIMIT',
          `Owner ${ownerId} already holds ${held} contexts, the limit is ${max}`,
          {
            limit: 'maxContextsPerOwner',
            max,
            actual: held,
            ownerId,
          },
        );
      }
      return this.#contexts.create(context);
    });
  }

  /** After the store took a new context: its audit event, its `change` event, the debug line. */
  #created(p: Principal, plan: CreatePlan, created: Context, now: number): void {
    const { id, scope } = plan.context;
    const changedKeys = this.#keysOf(created.data);
    this.#record(p.id, 'create', id, scope, 'ok', changedKeys, now, 1);
    if (this.#events.has('change')) {
      this.#events.emit('change', {
        type: 'create',
        context: created,
        principal: p.id,
        // The listener's own list: the audit's may be shared and frozen.
        changedKeys: Object.keys(created.data),
        at: now,
      });
    }
    if (this.#log.isLevelEnabled('debug'))
      this.#log.debug({ op: 'create', contextId: id, scope, principal: p.id }, 'context created');
  }

  /**
   * `Object.keys(data)`, or the last list of keys handed to the audit when `data` has exactly those
   * (the common case of successive creates of one kind): compared in place, without a new array.
   */
  #keysOf(data: JsonObject): readonly string[] {
    const recent = this.#recentKeys[0];
    if (recent !== undefined) {
      let i = 0;
      let same = true;
      for (const key in data) {
        if (i >= recent.length || recent[i] !== key || !Object.hasOwn(data, key)) {
          same = false;
          break;
        }
        i++;
      }
      if (same && i === recent.length) return recent;
    }
    return Object.keys(data);
  }

  async #checkParent(p: Principal, parentId: string, now: number): Promise<void> {
    let ancestors = 0;
    let current: string | undefined = parentId;
    while (current !== undefined) {
      const ctx = await this.#contexts.get(current, { now });
      if (!ctx) {
        if (current === parentId) throw notFound(parentId);
        break; // an expired or deleted ancestor ends the chain
      }
      if (current === parentId) await this.#authorize(p, 'read', ctx);
      ancestors++;
      if (ancestors > this.#settings.limits.maxAncestors) {
        throw new ConvokitError(
          'LIMIT',
          `Context ${parentId} already has ${ancestors - 1} ancestors; a child would exceed ${this.#settings.limits.maxAncestors}`,
          { limit: 'maxAncestors', max: this.#settings.limits.maxAncestors, parentId },
        );
      }
      current = ctx.parentId;
    }
  }

  /** A read: counts the access and slides expiry; `undefined` when absent or expired. Untracked. */
  async read(p: Principal, idIn: unknown): Promise<Context | undefined> {
    const id = checkKey(idIn, 'ContextHandle.get', 'id');
    return this.#readAt(p, id, this.#clock.now());
  }

  /**
   * The read of `get` and `read`. Through the store's synchronous side when it has one (core
   * `ContextStoreSync`: the memory adapter), and then without a promise unless the policy is
   * async: the context as the store touched it is the answer. Otherwise through the async
   * contract, answering with the context read plus the access.
   */
  #readAt(p: Principal, id: string, now: number): Context | undefined | Promise<Context | undefined> {
    const sync = this.#sync;
    if (sync === undefined) return this.#readAsync(p, id, now);
    const ctx = sync.getNow(id, now);
    if (ctx === undefined) return undefined;
    const gate = this.#authorize(p, 'read', ctx);
    if (gate) return gate.then(() => this.#touchNow(sync, ctx, now));
    return this.#touchNow(sync, ctx, now);
  }

  #touchNow(sync: ContextStoreSync, ctx: Context, now: number): Context {
    const expiresAt = this.#slide(ctx, now);
    const touched = sync.touchNow(ctx.id, expiresAt === undefined ? { at: now } : { at: now, expiresAt });
    // `undefined` only if the context went away while an async policy decided: as the async path.
    return touched ?? accessed(ctx, now, expiresAt);
  }

  async #readAsync(p: Principal, id: string, now: number): Promise<Context | undefined> {
    const ctx = await this.#contexts.get(id, { now });
    if (ctx === undefined) return undefined;
    const gate = this.#authorize(p, 'read', ctx);
    if (gate) await gate;
    const expiresAt = this.#slide(ctx, now);
    await this.#contexts.touch(id, expiresAt === undefined ? { at: now } : { at: now, expiresAt });
    return accessed(ctx, now, expiresAt);
  }

  /**
   * The new `expiresAt` of a sliding context: now plus its window, the time it had left after its
   * last write or access (its TTL, which create and `extend` set and every slide keeps).
   */
  #slide(ctx: Context, now: number): number | undefined {
    if (!this.#settings.sliding[ctx.scope] || ctx.expiresAt === undefined) return undefined;
    const last = Math.max(ctx.lastAccessedAt, ctx.updatedAt);
    return now + Math.max(1, ctx.expiresAt - last);
  }

  async list(p: Principal, filterIn: unknown, pageIn: unknown): Promise<PageResult<Context>> {
    const where = 'ContextHandle.list';
    const filter: ContextFilter = validate(ContextFilterSchema, filterIn ?? {}, where);
    const page = validate(PageSchema, pageIn ?? {}, where);
    const narrowed = this.#narrow(p, filter);
    if (narrowed === null) return { items: [], nextCursor: null };
    const now = this.#clock.now();
    const items: Context[] = [];
    let cursor = page.cursor;
    for (let fetches = 0; fetches < MAX_LIST_FETCHES; fetches++) {
      // Asking for exactly the missing count means every fetched item is examined, so the
      // store's cursor is the right place to continue from.
      const result = await this.#contexts.list(narrowed, {
        limit: page.limit - items.length,
        ...(cursor === undefined ? {} : { cursor }),
        now,
      });
      for (const ctx of result.items) if (await this.#allows(p, 'read', ctx)) items.push(ctx);
      if (result.nextCursor === null) return { items, nextCursor: null };
      cursor = result.nextCursor;
      if (items.length === page.limit) break;
    }
    return { items, nextCursor: cursor ?? null };
  }

  /**
   * With the default policy, a non-admin can read owner-scope contexts only as their owner, so
   * the store is asked for those alone (and nothing, if the filter names another owner).
   */
  #narrow(p: Principal, filter: ContextFilter): ContextFilter | null {
    if (this.#customPolicy || p.kind === 'admin' || filter.scope === undefined) return filter;
    if (OWNER_SCOPES.has(filter.scope)) {
      if (filter.ownerId !== undefined && filter.ownerId !== p.id) return null;
      return { ...filter, ownerId: p.id };
    }
    if (filter.scope === 'persona' && filter.persona !== undefined && !p.personas.includes(filter.persona)) {
      return null;
    }
    return filter;
  }

  /** every live child the principal may read, oldest first. */
  async children(p: Principal, idIn: unknown): Promise<Context[]> {
    const id = checkKey(idIn, 'ContextHandle.children', 'id');
    const now = this.#clock.now();
    const parent = await this.#contexts.get(id, { now });
    if (!parent) throw notFound(id);
    await this.#authorize(p, 'read', parent);
    const out: Context[] = [];
    for (const ctx of await this.#all({ parentId: id }, now)) {
      if (await this.#allows(p, 'read', ctx)) out.push(ctx);
    }
    return out;
  }

  async #all(filter: ContextFilter, now: number): Promise<Context[]> {
    const out: Context[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#contexts.list(filter, {
        limit: BATCH,
        ...(cursor === undefined ? {} : { cursor }),
        now,
      });
      out.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return out;
  }

  extend(p: Principal, idIn: unknown, ttlIn: unknown): Promise<Context> {
    const where = 'ContextHandle.extend';
    const id = checkKey(idIn, where, 'id');
    const ttl = checkTtl(ttlIn, where, 'ttlMs');
    return this.write(p, id, undefined, (_ctx, now) => ({
      changes: { expiresAt: ttl === null ? null : now + ttl },
      changedKeys: ['expiresAt'],
    })).then((r) => r.context);
  }

  /**
   * The one write path: read, check access, compute the change, check limits, then
   * compare-and-set. With `expectedVersion` a stale read is `CONFLICT`; without it a lost race is
   * retried on a fresh read, and callers in this process queue per context so they do not race.
   * `make` returning `null` writes nothing.
   */
  async write(
    p: Principal,
    id: string,
    expectedVersion: number | undefined,
    make: (ctx: Context, now: number) => { changes: ContextChanges; changedKeys: string[] } | null,
  ): Promise<WriteResult> {
    if (expectedVersion !== undefined) {
      const done = await this.#attemptOnChecked(p, id, expectedVersion, make, 1);
      if (done instanceof Denied) return this.#attempt(p, id, expectedVersion, make, 1, done.version);
      return done ?? this.#attempt(p, id, expectedVersion, make, 1);
    }
    const wait = this.#queue.acquire(id);
    if (wait) await wait;
    try {
      // The first attempt reads a copy the compare-and-set checks (see #attemptOnChecked); its lost
      // race is the first retry's, so with a single attempt allowed it is not made.
      const checked = this.#settings.maxUpdateAttempts > 1;
      for (let attempt = 1; ; attempt++) {
        try {
          let denied: number | undefined;
          if (attempt === 1 && checked) {
            const done = await this.#attemptOnChecked(p, id, undefined, make, attempt);
            if (done instanceof Denied) denied = done.version;
            else if (done !== undefined) return done;
          }
          return await this.#attempt(p, id, undefined, make, attempt, denied);
        } catch (error) {
          if (!ConvokitError.is(error, 'CONFLICT') || error.details.retryable !== true) throw error;
          if (attempt >= this.#settings.maxUpdateAttempts) {
            this.#metrics.increment('conflicts');
            throw new ConvokitError(
              'CONFLICT',
              `Context ${id} kept changing; gave up after ${attempt} attempts`,
              { contextId: id, attempts: attempt },
              { cause: error },
            );
          }
          this.#metrics.increment('retries');
          // Another process won the race; back off a little, with jitter, once it repeats.
          if (attempt > 2) await sleep(Math.random() * Math.min(50, 2 ** (attempt - 2)));
        }
      }
    } finally {
      this.#queue.release(id);
    }
  }

  /**
   * A write's first attempt on a read the store may answer from a client-side cache without
   * confirming that it is current (core `versionChecked`): the compare-and-set, given the version
   * read, is what checks it. Returns undefined when a fresh read must decide: whenever this read
   * alone would end the write some other way than with a written update (no context, another
   * version than `expectedVersion`, a policy that does not allow, `make` writing nothing or
   * throwing, a size limit) and when the store answers the compare-and-set with `NOT_FOUND`, or
   * with `CONFLICT` to a caller that gave `expectedVersion`. So an out-of-date copy never becomes
   * an error, a denial in the audit, a conflict counted or a result; that is sound because a
   * compare-and-set that succeeds saw the version read, and every field a check here reads
   * (scope, owner, persona, parent, data, metadata) changes only with the version. Without
   * `expectedVersion` a lost compare-and-set is this attempt's retryable `CONFLICT`, and the
   * retry reads fresh. Stores without a cache ignore the hint: the read is fresh. A copy the
   * policy does not allow comes back as `Denied`, so the policy is not asked again about a fresh
   * read at the same version (the fields it reads are the same there).
   */
  async #attemptOnChecked(
    p: Principal,
    id: string,
    expectedVersion: number | undefined,
    make: (ctx: Context, now: number) => { changes: ContextChanges; changedKeys: string[] } | null,
    attempt: number,
  ): Promise<WriteResult | Denied | undefined> {
    const now = this.#clock.now();
    const ctx = await this.#contexts.get(id, { now, versionChecked: true });
    if (ctx === undefined || (expectedVersion !== undefined && ctx.version !== expectedVersion))
      return undefined;
    let changes: ContextChanges;
    let changedKeys: string[];
    try {
      let verdict: unknown = this.#policy(p, 'update', ctx);
      if (isThenable(verdict)) verdict = await verdict;
      if (verdict !== true) return new Denied(ctx.version);
      const made = make(ctx, now);
      if (made === null) return undefined;
      ({ changes, changedKeys } = made);
      this.#completeChanges(id, ctx, changes, now);
    } catch {
      return undefined;
    }
    let updated: Context;
    try {
      updated = await this.#contexts.update(id, ctx.version, changes, now);
    } catch (error) {
      if (ConvokitError.is(error, 'NOT_FOUND')) return undefined;
      if (!ConvokitError.is(error, 'CONFLICT')) throw error;
      if (expectedVersion !== undefined) return undefined;
      throw retryableConflict(error, attempt);
    }
    return this.#updated(p, id, ctx.scope, updated, changedKeys, now);
  }

  async #attempt(
    p: Principal,
    id: string,
    expectedVersion: number | undefined,
    make: (ctx: Context, now: number) => { changes: ContextChanges; changedKeys: string[] } | null,
    attempt: number,
    deniedVersion?: number,
  ): Promise<WriteResult> {
    const now = this.#clock.now();
    const ctx = await this.#contexts.get(id, { now });
    if (!ctx) throw notFound(id);
    // The policy already refused this version (on a copy from #attemptOnChecked).
    if (ctx.version === deniedVersion) throw this.#deny(p, 'update', ctx);
    const gate = this.#authorize(p, 'update', ctx);
    if (gate) await gate;
    if (expectedVersion !== undefined && ctx.version !== expectedVersion)
      throw this.#conflict(id, expectedVersion, ctx.version);
    const made = make(ctx, now);
    if (made === null) return { context: ctx, changedKeys: [] };
    const { changes, changedKeys } = made;
    this.#completeChanges(id, ctx, changes, now);
    let updated: Context;
    try {
      updated = await this.#contexts.update(id, ctx.version, changes, now);
    } catch (error) {
      if (!ConvokitError.is(error, 'CONFLICT')) throw error;
      if (expectedVersion !== undefined) {
        this.#metrics.increment('conflicts');
        throw error;
      }
      throw retryableConflict(error, attempt);
    }
    return this.#updated(p, id, ctx.scope, updated, changedKeys, now);
  }

  /** Refuses data over a limit (`LIMIT`); adds the sliding expiry when the write sets none. */
  #completeChanges(id: string, ctx: Context, changes: ContextChanges, now: number): void {
    if (changes.data !== undefined) {
      const { data } = changes;
      const measured = measureBound(data, ctx.metadata);
      checkDataLimits(measured.bytes, measured.depth, this.#settings.limits, id, data, ctx.metadata);
    }
    if (changes.expiresAt === undefined) {
      const slid = this.#slide(ctx, now);
      if (slid !== undefined) changes.expiresAt = slid;
    }
  }

  /** Audits, announces and logs a written update. */
  #updated(
    p: Principal,
    id: string,
    scope: ContextScope,
    updated: Context,
    changedKeys: string[],
    now: number,
  ): WriteResult {
    this.#record(p.id, 'update', id, scope, 'ok', changedKeys, now, updated.version);
    if (this.#events.has('change')) {
      this.#events.emit('change', {
        type: 'update',
        context: updated,
        principal: p.id,
        changedKeys,
        at: now,
      });
    }
    if (this.#log.isLevelEnabled('debug'))
      this.#log.debug(
        { op: 'update', contextId: id, scope, changedKeys, version: updated.version },
        'context updated',
      );
    return { context: updated, changedKeys };
  }

  #conflict(id: string, expectedVersion: number, actualVersion: number): ConvokitError {
    this.#metrics.increment('conflicts');
    return new ConvokitError(
      'CONFLICT',
      `Context ${id} is at version ${actualVersion}, not ${expectedVersion}`,
      {
        contextId: id,
        expectedVersion,
        actualVersion,
      },
    );
  }

  /** `false` when there was no live context. */
  async delete(p: Principal, idIn: unknown, optionsIn: unknown): Promise<boolean> {
    const where = 'ContextHandle.delete';
    const id = checkKey(idIn, where, 'id');
    const o = checkOptions(optionsIn, where) as DeleteOptions;
    if (o.cascade !== undefined && typeof o.cascade !== 'boolean')
      throw invalid(where, 'cascade', 'must be a boolean');
    const now = this.#clock.now();
    const ctx = await this.#contexts.get(id, { now });
    if (!ctx) return false;
    await this.#authorize(p, 'delete', ctx);
    if (o.cascade !== true) {
      const child = await this.#contexts.list({ parentId: id }, { limit: 1, now });
      if (child.items.length > 0) {
        throw new ConvokitError(
          'CONFLICT',
          `Context ${id} has children; delete them first or pass cascade: true`,
          {
            contextId: id,
            reason: 'has-children',
          },
        );
      }
      return this.#remove(p, ctx);
    }
    const descendants = await this.#descendants(id, now);
    // Every deletion is allowed before any is made, so a refusal leaves the tree whole.
    for (const d of descendants) await this.#authorize(p, 'delete', d);
    for (let i = descendants.length - 1; i >= 0; i--) await this.#remove(p, descendants[i]!);
    return this.#remove(p, ctx);
  }

  /** Descendants in breadth-first order (parents before children). */
  async #descendants(id: string, now: number): Promise<Context[]> {
    const out: Context[] = [];
    const seen = new Set<string>([id]);
    let frontier = [id];
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const parentId of frontier) {
        for (const child of await this.#all({ parentId }, now)) {
          if (seen.has(child.id)) continue;
          seen.add(child.id);
          out.push(child);
          next.push(child.id);
        }
      }
      frontier = next;
    }
    return out;
  }

  async #remove(p: Principal, ctx: Context): Promise<boolean> {
    const now = this.#clock.now();
    const deleted = await this.#contexts.delete(ctx.id, { now });
    if (!deleted) return false;
    this.#record(p.id, 'delete', ctx.id, ctx.scope, 'ok', [], now, ctx.version);
    if (this.#events.has('change')) {
      this.#events.emit('change', {
        type: 'delete',
        context: ctx,
        principal: p.id,
        changedKeys: [],
        at: now,
      });
    }
    if (this.#log.isLevelEnabled('debug'))
      this.#log.debug({ op: 'delete', contextId: ctx.id, scope: ctx.scope }, 'context deleted');
    return true;
  }

  /**
   * Deletes, with their descendants, the contexts of `scope` the principal may delete;
   * others are left alone (as `list` leaves out what it may not read). A tree holding a
   * descendant the principal may not delete is skipped whole (and that denial audited).
   */
  async clearScope(p: Principal, scopeIn: unknown): Promise<number> {
    const scope = checkScope(scopeIn, 'ContextHandle.clearScope');
    const filter = this.#narrow(p, { scope });
    if (filter === null) return 0;
    const now = this.#clock.now();
    let deleted = 0;
    for (const ctx of await this.#all(filter, now)) {
      if (!(await this.#allows(p, 'delete', ctx))) continue;
      const descendants = await this.#descendants(ctx.id, now);
      try {
        for (const d of descendants) await this.#authorize(p, 'delete', d);
      } catch (error) {
        if (ConvokitError.is(error, 'ACCESS_DENIED')) continue;
        throw error;
      }
      for (let i = descendants.length - 1; i >= 0; i--) if (await this.#remove(p, descendants[i]!)) deleted++;
      if (await this.#remove(p, ctx)) deleted++;
    }
    return deleted;
  }

  async resolve(p: Principal, idIn: unknown): Promise<ResolvedContext | undefined> {
    const ctx = await this.read(p, idIn);
    if (!ctx) return undefined;
    const now = this.#clock.now();
    const chain: Context[] = [ctx];
    let parentId = ctx.parentId;
    while (parentId !== undefined && chain.length <= this.#settings.limits.maxAncestors) {
      const parent = await this.#contexts.get(parentId, { now });
      if (!parent) break; // an expired or deleted ancestor ends the chain
      await this.#authorize(p, 'read', parent);
      chain.push(parent);
      parentId = parent.parentId;
    }
    return {
      id: ctx.id,
      version: ctx.version,
      data: resolveChain(chain.map((c) => c.data).reverse()),
      chain: chain.map((c) => c.id),
    };
  }

  // ---- access, audit ----

  async #allows(p: Principal, action: PolicyAction, ctx: Context): Promise<boolean> {
    const verdict = this.#policy(p, action, ctx);
    return typeof verdict === 'boolean' ? verdict : (await verdict) === true;
  }

  /**
   * Throws `ACCESS_DENIED` (audited as `deny`) unless the policy allows. Synchronous for a
   * synchronous policy (the default), so a read does not pay for an extra await; an async policy's
   * verdict comes back as a promise the caller awaits.
   */
  #authorize(p: Principal, action: PolicyAction, ctx: Context): Promise<void> | undefined {
    const verdict: unknown = this.#policy(p, action, ctx);
    if (verdict === true) return undefined;
    if (isThenable(verdict)) {
      return Promise.resolve(verdict).then((v) => {
        if (v !== true) throw this.#deny(p, action, ctx);
      });
    }
    throw this.#deny(p, action, ctx);
  }

  /** Audits and logs a denial; returns the error to throw. */
  #deny(p: Principal, action: PolicyAction, ctx: Context): ConvokitError {
    const now = this.#clock.now();
    this.#metrics.increment('denied');
    this.#record(p.id, 'deny', ctx.id, ctx.scope, 'denied', [], now, undefined, action);
    this.#log.warn({ principal: p.id, action, contextId: ctx.id, scope: ctx.scope }, 'access denied');
    return new ConvokitError(
      'ACCESS_DENIED',
      `${p.id} may not ${action} context ${ctx.id} (${ctx.scope} scope)`,
      {
        principal: p.id,
        action,
        contextId: ctx.id,
        scope: ctx.scope,
      },
    );
  }

  #record(
    principal: string,
    action: AuditAction,
    contextId: string,
    scope: ContextScope,
    outcome: AuditEvent['outcome'],
    changedKeys: readonly string[],
    at: number,
    version?: number,
    attemptedAction?: AuditAction,
  ): void {
    this.#buffer.push(
      this.#event(principal, action, contextId, scope, outcome, changedKeys, at, version, attemptedAction),
    );
  }

  /**
   * `t`, or the equal number handed out last. A time outside V8's small-integer range is a boxed
   * number of 16 bytes, made anew by every computation: a context holds two (`createdAt`, which
   * its other times and its create event share, and `expiresAt`), so the contexts created in one
   * millisecond (with the default TTL) share two boxes instead of holding two each.
   */
  #shareTime(t: number): number {
    const recent = this.#recentTimes;
    if (recent[0] === t) return recent[0] as number;
    if (recent[1] === t) return recent[1] as number;
    recent[1] = recent[0];
    recent[0] = t;
    return t;
  }

  /**
   * A frozen list equal to `keys`: one of the last two handed out when equal, else a frozen copy.
   * Successive writes of one kind name the same keys, and a store may keep a frozen list as it is
   * (the memory adapter does), so their events then share one list instead of a copy each.
   */
  #sharedKeys(keys: readonly string[]): string[] {
    if (keys.length === 0) return NO_KEYS as string[];
    const a = this.#recentKeys[0];
    if (a !== undefined && sameKeys(a, keys)) return a as string[];
    const b = this.#recentKeys[1];
    if (b !== undefined && sameKeys(b, keys)) {
      this.#recentKeys[1] = a;
      this.#recentKeys[0] = b;
      return b as string[];
    }
    const frozen = Object.freeze(keys.slice());
    this.#recentKeys[1] = a;
    this.#recentKeys[0] = frozen;
    return frozen as string[];
  }

  #event(
    principal: string,
    action: AuditAction,
    contextId: string,
    scope: ContextScope,
    outcome: AuditEvent['outcome'],
    changedKeys: readonly string[],
    at: number,
    version?: number,
    attemptedAction?: AuditAction,
  ): AuditEvent {
    // AuditEventSchema bounds: at most 1000 keys of at most 256 characters (a copy, never the caller's array).
    let keys = changedKeys as string[];
    // The last list handed out was bounded and shared already (successive creates of one kind).
    if (keys !== this.#recentKeys[0]) {
      if (keys.length > 1000 || !withinKeyLength(keys))
        keys = keys.slice(0, 1000).map((k) => k.slice(0, 256));
      keys = this.#sharedKeys(keys);
    }
    const id = this.#ids();
    // One literal per combination of the optional fields, in the order core
    // `warmAuditEventShapes` warms (a field added afterwards would go to a separate array).
    if (attemptedAction === undefined) {
      return version === undefined
        ? { id, at, principal, action, contextId, scope, outcome, changedKeys: keys }
        : { id, at, principal, action, contextId, scope, outcome, changedKeys: keys, version };
    }
    return version === undefined
      ? { id, at, principal, action, contextId, scope, outcome, changedKeys: keys, attemptedAction }
      : { id, at, principal, action, contextId, scope, outcome, changedKeys: keys, attemptedAction, version };
  }
}
