import type { Clock, ContextScope, IdGenerator, Logger, Storage } from '@convokit/core';
import { CONTEXT_SCOPES, ConvokitError, DAY_MS, HOUR_MS } from '@convokit/core';
import { invalid } from './json.js';
import type { AccessPolicy } from './policy.js';

export interface TtlOptions {
  /** TTL in ms for every scope not named in `perScope`; `null`: never expires. */
  default?: number | null;
  /** TTL in ms per scope; `null`: contexts of that scope never expire. */
  perScope?: Partial<Record<ContextScope, number | null>>;
}

export interface LimitOptions {
  /** Largest `data` plus `metadata` of one context, as UTF-8 JSON bytes. Default 256 KiB. */
  maxBytes?: number;
  /** Deepest nesting of `data` (an object of primitives is 1). Default 32. */
  maxDepth?: number;
  /** Most live contexts one owner may hold; `null` (default): no limit, and no count per create. */
  maxContextsPerOwner?: number | null;
  /** Most ancestors above a context (length of its parent chain). Default 32. */
  maxAncestors?: number;
}

export interface ChatContextManagerOptions {
  /** Any adapter serving `contexts` and `audit`. The manager does not close it. */
  storage: Storage;
  ttl?: TtlOptions;
  /** Scopes whose contexts slide: every read or write moves `expiresAt` to now + the context's TTL. */
  slidingExpiry?: Partial<Record<ContextScope, boolean>>;
  /** How often the background sweep runs; `0` disables the timer (call `sweep()` yourself). Default 60 s. */
  sweepIntervalMs?: number;
  /** Replaces the default access policy. */
  policy?: AccessPolicy;
  limits?: LimitOptions;
  /** A pino logger; silent when absent. Context values and conversation text are never logged. */
  logger?: Logger;
  clock?: Clock;
  /** Context and audit event ids; default ULIDs from the clock. */
  idGenerator?: IdGenerator;
  /** Compare-and-set attempts of an update without `expectedVersion` before giving up. Default 64. */
  maxUpdateAttempts?: number;
}

/** TTLs used when the caller sets neither `ttl.default` nor the scope in `ttl.perScope`. */
export const DEFAULT_TTL_MS: Readonly<Record<ContextScope, number | null>> = {
  session: DAY_MS,
  conversation: 7 * DAY_MS,
  global: null,
  persona: null,
  analytics: DAY_MS,
  navigation: HOUR_MS,
};

export const DEFAULT_LIMITS = {
  maxBytes: 256 * 1024,
  maxDepth: 32,
  maxContextsPerOwner: null,
  maxAncestors: 32,
} as const;

export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

export interface ResolvedLimits {
  maxBytes: number;
  maxDepth: number;
  maxContextsPerOwner: number | null;
  maxAncestors: number;
}

export interface ResolvedSettings {
  ttl: Record<ContextScope, number | null>;
  sliding: Record<ContextScope, boolean>;
  sweepIntervalMs: number;
  limits: ResolvedLimits;
  maxUpdateAttempts: number;
}

const WHERE = 'createChatContextManager';

function positiveInt(value: unknown, path: string, allowNull: boolean, allowZero = false): number | null {
  if (value === null && allowNull) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && (value > 0 || (allowZero && value === 0))) {
    return value;
  }
  const what = allowZero ? 'a whole number >= 0' : 'a whole number >= 1';
  throw invalid(WHERE, path, allowNull ? `must be ${what} or null` : `must be ${what}`);
}

function checkScopeKeys(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(WHERE, path, 'must be an object keyed by scope');
  }
  for (const key of Object.keys(value)) {
    if (!(CONTEXT_SCOPES as readonly string[]).includes(key)) {
      throw invalid(WHERE, `${path}.${key}`, `is not a scope (${CONTEXT_SCOPES.join(', ')})`);
    }
  }
  return value as Record<string, unknown>;
}

/** Checks the options and fills in the defaults; bad options are `VALIDATION` naming the field. */
export function resolveSettings(options: ChatContextManagerOptions): ResolvedSettings {
  if (typeof options !== 'object' || options === null) {
    throw invalid(WHERE, 'options', 'must be an object');
  }
  if (typeof options.storage !== 'object' || options.storage === null) {
    throw invalid(WHERE, 'storage', 'must be a convokit Storage');
  }
  const ttlIn = options.ttl ?? {};
  const perScope = checkScopeKeys(ttlIn.perScope, 'ttl.perScope');
  const fallback = ttlIn.default === undefined ? undefined : positiveInt(ttlIn.default, 'ttl.default', true);
  const ttl = {} as Record<ContextScope, number | null>;
  for (const scope of CONTEXT_SCOPES) {
    const own = perScope[scope];
    ttl[scope] =
      own !== undefined
        ? positiveInt(own, `ttl.perScope.${scope}`, true)
        : fallback !== undefined
          ? fallback
          : DEFAULT_TTL_MS[scope];
  }
  const slidingIn = checkScopeKeys(options.slidingExpiry, 'slidingExpiry');
  const sliding = {} as Record<ContextScope, boolean>;
  for (const scope of CONTEXT_SCOPES) {
    const value = slidingIn[scope] ?? false;
    if (typeof value !== 'boolean') throw invalid(WHERE, `slidingExpiry.${scope}`, 'must be a boolean');
    sliding[scope] = value;
  }
  const limitsIn = options.limits ?? {};
  const limits: ResolvedLimits = {
    maxBytes: positiveInt(limitsIn.maxBytes ?? DEFAULT_LIMITS.maxBytes, 'limits.maxBytes', false)!,
    maxDepth: positiveInt(limitsIn.maxDepth ?? DEFAULT_LIMITS.maxDepth, 'limits.maxDepth', false)!,
    maxContextsPerOwner:
      limitsIn.maxContextsPerOwner === undefined
        ? DEFAULT_LIMITS.maxContextsPerOwner
        : positiveInt(limitsIn.maxContextsPerOwner, 'limits.maxContextsPerOwner', true),
    maxAncestors: positiveInt(
      limitsIn.maxAncestors ?? DEFAULT_LIMITS.maxAncestors,
      'limits.maxAncestors',
      false,
      true,
    )!,
  };
  const sweepIntervalMs = positiveInt(
    options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    'sweepIntervalMs',
    false,
    true,
  )!;
  const maxUpdateAttempts = positiveInt(options.maxUpdateAttempts ?? 64, 'maxUpdateAttempts', false)!;
  if (options.policy !== undefined && typeof options.policy !== 'function') {
    throw invalid(WHERE, 'policy', 'must be a function (principal, action, context) => boolean');
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') {
    throw invalid(WHERE, 'clock', 'must have a now() method');
  }
  if (options.idGenerator !== undefined && typeof options.idGenerator !== 'function') {
    throw invalid(WHERE, 'idGenerator', 'must be a function returning a new id');
  }
  return { ttl, sliding, sweepIntervalMs, limits, maxUpdateAttempts };
}

export function limitError(message: string, details: Record<string, unknown>): ConvokitError {
  return new ConvokitError('LIMIT', message, details);
}
