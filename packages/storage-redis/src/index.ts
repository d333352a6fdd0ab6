export type { RedisStorageOptions } from './options.js';
export type { RedisStorage } from './storage.js';
export { createRedisStorage } from './storage.js';
