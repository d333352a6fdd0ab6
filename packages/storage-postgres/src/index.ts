export { LATEST_VERSION as POSTGRES_SCHEMA_VERSION } from './migrations.js';
export type { PostgresPoolOptions, PostgresStorageOptions } from './options.js';
export type { PostgresStorage } from './storage.js';
export { createPostgresStorage } from './storage.js';
