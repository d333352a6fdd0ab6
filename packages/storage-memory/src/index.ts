export { aggregateTurns } from './aggregate.js';
export { createMemoryStorage } from './storage.js';
export type { MemoryMutation, MemoryStorage, MemoryStorageOptions } from './types.js';
