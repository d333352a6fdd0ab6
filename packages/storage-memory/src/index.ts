export type { MemoryMutation, MemoryStorage, MemoryStorageOptions } from './types.js';
