import { createManualClock } from '@convokit/core';
import { DATA_END } from '../data.js';
import { loadChatWorkflow, loadContextManager, loadDataManager } from '../managers.js';
import type { Scenario } from '../scenario.js';
import { sizeLabel } from './history.js';

/**
 * Issue 6: the chat analytics workflow end to end (`processChatQuery`: parse, query through the
 * data manager, chart spec and summary, and the versioned write of the session's `analytics`
 * context that follow-ups read). Each phrasing runs against a manager with its cache off
 * (uncached) and one with the default cache (cached: the same question again, nothing recorded
 * in between). Searches are not cached by the manager, so they run uncached only.
 */

/** A representative phrasing of each kind of question the workflow reads. */
export const PHRASINGS: { label: string; text: string; cacheable: boolean; after?: string }[] = [
  { label: 'personas last week', text: 'which personas did I use most last week?', cacheable: true },
  { label: 'p95 latency per day', text: 'p95 latency per day this month', cacheable: true },
  { label: 'frameworks last 30 days', text: 'top frameworks in the last 30 days', cacheable: true },
  { label: 'busiest hour', text: 'busiest hour of the day last month', cacheable: true },
  { label: 'insights', text: 'what changed in the last 90 days?', cacheable: true },
  { label: 'search', text: 'find conversations about kubernetes', cacheable: false },
  // A follow-up refines the previous question of the same session (read from its context).
  {
    label: 'follow-up',
    text: 'now only for diego',
    cacheable: true,
    after: 'p95 latency per day this month',
  },
];

export const chat: Scenario = {
  id: 'chat',
  title: 'Chat analytics workflow, end to end',
  issues: [6],
  quick: true,
  async run({ rec, adapters, datasets, sizes }) {
    const [createData, createContexts, createWorkflow] = await Promise.all([
      loadDataManager(),
      loadContextManager(),
      loadChatWorkflow(),
    ]);
    for (const missing of [createData, createContexts, createWorkflow]) {
      if (typeof missing === 'string') {
        rec.skip('chat workflow', missing);
        return;
      }
    }
    if (typeof createData === 'string' || typeof createContexts === 'string') return;
    if (typeof createWorkflow === 'string') return;
    // The embedded adapters hold `sizes.turns` turns already (history, search and aggregate ran
    // first), so nothing is loaded again; the target is sqlite's.
    for (const adapter of adapters.filter((a) => a.turns && a.klass !== 'server')) {
      const count = sizes.turns;
      const label = sizeLabel(count);
      const { storage } = await datasets.store(adapter, count);
      // Half a day before the data ends, so "this month" and "last week" cover stored turns.
      const clock = createManualClock(DATA_END - 12 * 3_600_000);
      const contexts = createContexts({ storage, clock, sweepIntervalMs: 0 });
      const managers = {
        uncached: createData({ storage, cache: false, clock }),
        cached: createData({ storage, clock }),
      };
      try {
        for (const [mode, dataManager] of Object.entries(managers)) {
          let slowest = 0;
          const workflow = createWorkflow({ dataManager, contexts, clock });
          for (const phrasing of PHRASINGS) {
            if (mode === 'cached' && !phrasing.cacheable) continue;
            const ask = { principal: { id: 'user-1' }, sessionId: `bench-${mode}-${phrasing.label}` };
            if (phrasing.after) await workflow.processChatQuery(phrasing.after, ask);
            // Checked once before timing: a question the workflow misreads would time the wrong work.
            const first = await workflow.processChatQuery(phrasing.text, ask);
            if (!first.understood || !first.response?.success) {
              rec.skip(
                `${adapter.subject} (chat ${phrasing.label})`,
                `not answered: ${first.summary.split('\n')[0]}`,
              );
              slowest = Number.NaN;
              continue;
            }
            const row = await rec.bench(
              {
                operation: `chat ${phrasing.label} ${mode} @${label}`,
                subject: adapter.subject,
                kind: 'ours',
                klass: adapter.klass,
              },
              () => workflow.processChatQuery(phrasing.text, ask),
            );
            // Math.max keeps NaN: a phrasing not measured leaves the target not measured.
            slowest = row ? Math.max(slowest, row.p50Ms) : Number.NaN;
          }
          // The target reads the slowest phrasing: every question must be answered in time.
          rec.metric(
            `chat slowest ${mode} p50 @${label}/${adapter.subject}`,
            `${adapter.subject}: slowest phrasing, ${mode}, p50 at ${label} turns`,
            slowest,
            'ms',
          );
        }
      } finally {
        await managers.uncached.close();
        await managers.cached.close();
        await contexts.close();
      }
    }
  },
};
