import {
  type AuditLog,
  type ContextStore,
  ConvokitError,
  createLogger,
  STORAGE_CONTRACT_VERSION,
  type Storage,
  type StorageCapabilities,
  systemClock,
} from '@convokit/core';
import type { RedisOptions } from 'ioredis';
import { createAuditLog } from './audit.js';
import { type ClientCacheOptions, ContextCache, LEASE_MS } from './cache.js';
import { AdapterRedis } from './client.js';
import { Conn, type ScriptingRedis } from './conn.js';
import { createContextStore } from './contexts.js';
import type { RedisStorageOptions } from './options.js';
import { AUDIT_APPEND, CREATE, DELETE, LIST, SWEEP, TOUCH, UPDATE } from './scripts.js';

export interface RedisStorage extends Storage {
  readonly contexts: ContextStore;
  readonly audit: AuditLog;
  /** The prefix of every key this store writes. */
  readonly keyPrefix: string;
  /** The client-side cache's counters, or undefined when it is off (`clientCache: false`). */
  cacheStats(): CacheStats | undefined;
}

export interface CacheStats {
  /** Contexts held, and the characters of their text. */
  entries: number;
  chars: number;
  /** Gets answered from the cache, and gets that asked Redis. */
  hits: number;
  misses: number;
  /** Of the hits, those answered without a PING because the caller checks by version (`versionChecked`). */
  uncheckedHits: number;
}

const CAPABILITIES: StorageCapabilities = {
  turns: false,
  contexts: true,
  audit: true,
  multiProcess: true,
  durable: true,
};

function invalid(path: string, message: string): ConvokitError {
  return new ConvokitError('VALIDATION', `Invalid input to createRedisStorage: ${path}: ${message}`, {
    where: 'createRedisStorage',
    issues: [{ path, message }],
  });
}

function ms(value: number | undefined, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0))
    throw invalid(path, 'must be a positive number of milliseconds');
  return value;
}

function whole(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && (value as number) > 0))
    throw invalid(path, 'must be a whole number above 0');
  return value as number;
}

/** The cache limits, or undefined when the cache is off. */
function cacheLimits(option: unknown): Required<ClientCacheOptions> | undefined {
  if (option === false) return undefined;
  if (option === undefined || option === true) return { maxEntries: 10_000, maxChars: 32 * 1024 * 1024 };
  if (typeof option !== 'object' || option === null || Array.isArray(option))
    throw invalid('clientCache', 'must be a boolean or { maxEntries, maxChars }');
  const o = option as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'maxEntries' && key !== 'maxChars') throw invalid(`clientCache.${key}`, 'is not an option');
  }
  return {
    maxEntries: whole(o.maxEntries, 10_000, 'clientCache.maxEntries'),
    maxChars: whole(o.maxChars, 32 * 1024 * 1024, 'clientCache.maxChars'),
  };
}

/**
 * Redis storage for contexts and audit (no turns: Redis has no query engine for the analytics).
 * Contexts expire natively (PEXPIREAT) and by the `now` each call passes; versioned writes and
 * sweeps are Lua scripts, atomic across every client of the same Redis.
 */
export function createRedisStorage(options: RedisStorageOptions = {}): RedisStorage {
  const keyPrefix = options.keyPrefix ?? 'convokit:';
  if (typeof keyPrefix !== 'string') throw invalid('keyPrefix', 'must be a string');
  const connectTimeout = ms(options.connectTimeoutMs, 5_000, 'connectTimeoutMs');
  const commandTimeout = ms(options.commandTimeoutMs, 5_000, 'commandTimeoutMs');
  const limits = cacheLimits(options.clientCache);
  const log = createLogger('storage-redis', options.logger);
  // `redis.commandTimeout`, when given (even as undefined), overrides commandTimeoutMs, as the
  // ioredis options always have; AdapterRedis enforces it with one timer for all commands.
  const perCommand =
    options.redis && 'commandTimeout' in options.redis ? options.redis.commandTimeout : commandTimeout;
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    connectTimeout,
    // A command waits through one reconnection (a killed connection costs nothing), then fails
    // instead of queueing until the server returns (STORAGE, never a hang); reconnection goes on
    // in the background, so the next call works as soon as the server is back.
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    ...options.redis,
  };
  const bounded = typeof perCommand === 'number' && perCommand > 0;
  const url = options.url || undefined;
  const redis = new AdapterRedis(
    url,
    redisOptions,
    bounded ? perCommand : undefined,
  ) as unknown as ScriptingRedis;
  redis.on('error', (error: Error) => log.debug({ err: error.message }, 'redis connection error'));
  redis.defineCommand('ckCreate', { numberOfKeys: 0, lua: CREATE });
  redis.defineCommand('ckUpdate', { numberOfKeys: 0, lua: UPDATE });
  redis.defineCommand('ckTouch', { numberOfKeys: 0, lua: TOUCH });
  redis.defineCommand('ckDelete', { numberOfKeys: 0, lua: DELETE });
  redis.defineCommand('ckSweep', { numberOfKeys: 0, lua: SWEEP });
  redis.defineCommand('ckList', { numberOfKeys: 0, lua: LIST });
  redis.defineCommand('ckAuditAppend', { numberOfKeys: 0, lua: AUDIT_APPEND });
  // The invalidation connection: the same server and credentials, no name (CLIENT LIST shows the
  // data connection under the name given), and no command retried on a new connection.
  const subOptions: RedisOptions = {
    ...redisOptions,
    lazyConnect: true,
    autoResubscribe: false,
    maxRetriesPerRequest: 0,
    connectionName: undefined,
  };
  const cache =
    limits === undefined
      ? undefined
      : new ContextCache({
          data: redis,
          // Its commands (the pings hits wait for) fail within the lease, not the full command timeout.
          makeSub: () =>
            new AdapterRedis(url, subOptions, Math.min(LEASE_MS, bounded ? perCommand : LEASE_MS)),
          log,
          ...limits,
        });
  const conn = new Conn({
    redis,
    prefix: keyPrefix,
    clock: options.clock ?? systemClock,
    log,
    server: { host: redis.options.host ?? 'localhost', port: redis.options.port ?? 6379 },
    deadlineMs: connectTimeout + commandTimeout + 1_000,
    commandBounded: bounded,
    ...(cache ? { cache } : {}),
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    if (!closing) {
      conn.markClosed();
      cache?.close();
      closing = (async () => {
        // Touches written behind get their answers first (each bounded by the call deadline).
        await conn.settle();
        if (redis.status !== 'ready') {
          redis.disconnect();
          return;
        }
        // QUIT lets pending replies arrive; a server that stopped answering gets cut off.
        let timer: NodeJS.Timeout | undefined;
        const cutoff = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, commandTimeout);
          timer.unref();
        });
        await Promise.race([redis.quit().catch(() => undefined), cutoff]);
        clearTimeout(timer);
        redis.disconnect();
      })();
    }
    return closing;
  };
  return {
    name: 'redis',
    contractVersion: STORAGE_CONTRACT_VERSION,
    capabilities: { ...CAPABILITIES },
    keyPrefix,
    cacheStats: () =>
      cache === undefined
        ? undefined
        : {
            entries: cache.size,
            chars: cache.chars,
            hits: cache.hits,
            misses: cache.misses,
            uncheckedHits: cache.uncheckedHits,
          },
    contexts: createContextStore(conn),
    audit: createAuditLog(conn),
    close,
    [Symbol.asyncDispose]: close,
  };
}
