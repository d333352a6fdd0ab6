import type { Scenario } from '../scenario.js';
import { aggregate } from './aggregate.js';
import { chat } from './chat.js';
import { contextGet } from './context-get.js';
import { contextManager } from './context-manager.js';
import { contextWrite } from './context-write.js';
import { dashboard } from './dashboard.js';
import { fileReopen } from './file-reopen.js';
import { history } from './history.js';
import { mcp } from './mcp.js';
import { query } from './query.js';
import { search } from './search.js';
import { turnAppend } from './turn-append.js';

/** Every scenario, in run order. Add a new one here (see README.md). */
export const SCENARIOS: Scenario[] = [
  contextGet,
  contextWrite,
  turnAppend,
  history,
  search,
  aggregate,
  chat,
  mcp,
  // The query sweep before the dashboard: the dashboard records turns, so it is the last to use
  // each adapter's 100k store, which every scenario before it shares.
  query,
  dashboard,
  contextManager,
  fileReopen,
];
