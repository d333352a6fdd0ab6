export type { ChartInteraction, ChartUpdate } from './propagate.js';
export { propagate } from './propagate.js';
