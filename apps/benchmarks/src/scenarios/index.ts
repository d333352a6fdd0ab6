import type { Scenario } from '../scenario.js';
import { contextGet } from './context-get.js';
import { contextWrite } from './context-write.js';
import { turnAppend } from './turn-append.js';

/** Every scenario, in run order. Add a new one here (see README.md). */
export const SCENARIOS: Scenario[] = [contextGet, contextWrite, turnAppend];
