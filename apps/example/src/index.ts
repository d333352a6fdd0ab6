export type { GenerateOptions } from './generate.js';
export { DEMO_PERSONAS, generateTurns } from './generate.js';
export type { ImportFormat, ImportOptions, ImportSummary } from './import/index.js';
export { importPath } from './import/index.js';
export type { RunningDashboard, ServeOptions } from './serve/server.js';
export { serveDashboard } from './serve/server.js';
export type { StorageChoice, StorageKind } from './storage.js';
export { chooseStorage, openStorage, STORAGE_KINDS } from './storage.js';
