import { runStorageConformance } from '../src/index.js';
import { createNaiveStorage } from './naive-adapter.js';

// The defect-free naive adapter passes the whole suite through the public runner; this also
// checks the hand-computed expectations against an independent (if slow) implementation.
runStorageConformance({ name: 'naive', create: ({ clock }) => createNaiveStorage({ clock }) });
