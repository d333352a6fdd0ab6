import type { Clock, Logger } from '@convokit/core';
import type { RedisOptions } from 'ioredis';
import type { ClientCacheOptions } from './cache.js';

export interface RedisStorageOptions {
  /** `redis://[:password@]host:port[/db]`. Either this or `redis`. */
  url?: string;
  /** ioredis options (host, port, password, db, tls, ...), merged over `url`. */
  redis?: RedisOptions;
  /** Prepended to every key; default `convokit:`. Several stores can share a Redis by prefix. */
  keyPrefix?: string;
  /** Default "now" for context expiry; default the system clock. */
  clock?: Clock;
  /** Give up connecting after this long; default 5 000 ms. */
  connectTimeoutMs?: number;
  /** A command without an answer after this long fails with STORAGE; default 5 000 ms. */
  commandTimeoutMs?: number;
  /**
   * Client-side caching of `contexts.get`, kept exact by Redis's invalidation messages (CLIENT
   * TRACKING, one extra connection); `false` turns it off. Default on, with the default limits.
   */
  clientCache?: boolean | ClientCacheOptions;
  /** pino logger; silent when absent. */
  logger?: Logger;
}
