export type { ClientCacheOptions } from './cache.js';
export type { RedisStorageOptions } from './options.js';
export type { CacheStats, RedisStorage } from './storage.js';
export { createRedisStorage } from './storage.js';
