export type { PropagationResult } from './linker.js';
export { ChartLinker } from './linker.js';
export type { ChartInteraction, ChartUpdate } from './propagate.js';
export { propagate } from './propagate.js';
