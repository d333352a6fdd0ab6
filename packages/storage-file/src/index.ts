export type { FileStorage } from './file-storage.js';
export { createFileStorage } from './file-storage.js';
export type { LockHolder } from './lock.js';
export type {
  CompactionResult,
  FileStorageOptions,
  FileStorageStats,
  FsyncPolicy,
  RecoveryReport,
} from './options.js';
export type { SalvageReport } from './salvage.js';
export { salvageLog } from './salvage.js';
