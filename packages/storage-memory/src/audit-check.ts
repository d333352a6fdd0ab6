import { type AuditEvent, AuditEventSchema, validate, warmAuditEventShapes } from '@convokit/core';
import { isEpochMs, isKey, underPath } from './checks.js';
import type { Frozen } from './json.js';

const ACTIONS: ReadonlySet<unknown> = new Set(AuditEventSchema.shape.action.options);
const SCOPES: ReadonlySet<unknown> = new Set(AuditEventSchema.shape.scope.options);
const OUTCOMES: ReadonlySet<unknown> = new Set(AuditEventSchema.shape.outcome.options);
const KNOWN: ReadonlySet<string> = new Set(Object.keys(AuditEventSchema.shape));
const NO_KEYS: readonly string[] = Object.freeze([]);
/** Distinct key lists remembered; past this the table starts over (it is only a saving). */
const MAX_SHARED_KEY_LISTS = 4096;
/** Longer key lists are copied per event rather than shared. */
const MAX_SHARED_KEYS = 64;

/**
 * Validates audit events and builds the frozen records the log keeps. Well-formed input is checked
 * by hand against AuditEventSchema (an audit event is written for every context write, so this
 * runs as often as the writes do); anything the fast check is unsure of goes through the schema
 * itself, so acceptance and errors are the schema's.
 *
 * Equal `changedKeys` lists are shared: a frozen array is immutable, and thousands of events
 * naming the same keys (every create of one kind of context) then cost one list, not one each.
 */
export class AuditChecker {
  readonly #frozen: Frozen;
  readonly #keyLists = new Map<string, readonly string[]>();
  readonly #singleKeys = new Map<string, readonly string[]>();
  constructor(frozen: Frozen) {
    this.#frozen = frozen;
    // The event literals of `#fast` with `at` as a tagged field (see core `warmAuditEventShapes`):
    // events written at one time then share one number instead of a 16-byte box each.
    warmAuditEventShapes();
  }

  /** A frozen copy of event `i` of a batch, or the schema's VALIDATION error. */
  check(value: unknown, i: number, where = 'audit.append'): AuditEvent {
    const fast = this.#fast(value);
    if (fast !== undefined) return fast;
    const parsed = underPath(() => validate(AuditEventSchema, value, where), String(i));
    return this.#frozen.fresh(parsed);
  }

  #fast(value: unknown): AuditEvent | undefined {
    if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
      return undefined;
    const v = value as Record<string, unknown>;
    for (const key in v) if (!KNOWN.has(key)) return undefined;
    const { id, at, principal, action, contextId, scope, outcome, attemptedAction, version } = v;
    if (!isKey(id) || !isEpochMs(at) || !isKey(principal) || !isKey(contextId)) return undefined;
    if (!ACTIONS.has(action) || !SCOPES.has(scope) || !OUTCOMES.has(outcome)) return undefined;
    if (attemptedAction !== undefined && !ACTIONS.has(attemptedAction)) return undefined;
    if (version !== undefined && !(Number.isSafeInteger(version) && (version as number) >= 1))
      return undefined;
    const changedKeys = this.#keys(v.changedKeys);
    if (changedKeys === undefined) return undefined;
    const a = action as AuditEvent['action'];
    const s = scope as AuditEvent['scope'];
    const o = outcome as AuditEvent['outcome'];
    // One literal per combination of the optional fields, so every event gets its fields in the
    // object itself (a field added afterwards costs a separate property array per event), in the
    // order core `warmAuditEventShapes` warms.
    let event: AuditEvent;
    if (attemptedAction === undefined) {
      event =
        version === undefined
          ? { id, at, principal, action: a, contextId, scope: s, outcome: o, changedKeys }
          : {
              id,
              at,
              principal,
              action: a,
              contextId,
              scope: s,
              outcome: o,
              changedKeys,
              version: version as number,
            };
    } else {
      const attempted = attemptedAction as AuditEvent['action'];
      event =
        version === undefined
          ? {
              id,
              at,
              principal,
              action: a,
              contextId,
              scope: s,
              outcome: o,
              changedKeys,
              attemptedAction: attempted,
            }
          : {
              id,
              at,
              principal,
              action: a,
              contextId,
              scope: s,
              outcome: o,
              changedKeys,
              attemptedAction: attempted,
              version: version as number,
            };
    }
    return Object.freeze(event);
  }

  /** The frozen (possibly shared) copy of a valid `changedKeys`, or undefined when in doubt. */
  #keys(value: unknown): string[] | undefined {
    if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return undefined;
    const n = value.length;
    if (n > 1000) return undefined;
    if (n === 0) return NO_KEYS as string[];
    for (let i = 0; i < n; i++) {
      const key = value[i];
      if (typeof key !== 'string' || key.length > 256) return undefined;
    }
    // A frozen list cannot change: it is kept as it is (a writer that reuses one list for many
    // events, as the context manager does, then stores it once).
    if (Object.isFrozen(value)) return value as string[];
    if (n > MAX_SHARED_KEYS) return Object.freeze(value.slice()) as string[];
    // A one-key list is named by its key; longer ones by their JSON text, which names a list
    // unambiguously (no separator a key could contain). The two never meet: one map each.
    const lists = n === 1 ? this.#singleKeys : this.#keyLists;
    const name = n === 1 ? (value[0] as string) : JSON.stringify(value);
    let shared = lists.get(name);
    if (shared === undefined) {
      if (lists.size >= MAX_SHARED_KEY_LISTS) lists.clear();
      shared = Object.freeze(value.slice()) as string[];
      lists.set(name, shared);
    }
    return shared as string[];
  }
}
