export { SCHEMA_VERSION } from './migrations.js';
export type { SqliteStorageOptions, SqliteSynchronous } from './options.js';
export type { SqliteStorage } from './storage.js';
export { createSqliteStorage } from './storage.js';
