import type { ConversationalQueryInput, Turn } from '@convokit/core';
import { createManualClock } from '@convokit/core';
import { createRandom, DATA_END, DAY, generateTurns, PERSONAS } from '../data.js';
import { loadDataManager, settledHeap } from '../managers.js';
import type { Scenario } from '../scenario.js';

/**
 * The realistic dashboard workload (issue 4). Five users keep an analytics dashboard open over the
 * last 30 days, up to the end of the current hour. Simulated time moves 5 s per step; at each step one of these happens:
 *
 * - 45%: a user opens or refreshes the overview (four panels: persona usage weekly, framework
 *   analytics, performance daily, engagement patterns);
 * - 30%: a user drills down into one persona (persona usage and performance filtered to it) among
 *   the three personas that user follows;
 * - 15%: a user opens the history of one of ten recent sessions;
 * - 10%: a conversation records 1-3 turns through the manager (which invalidates cached answers).
 *
 * The manager runs with its default cache (TTL 60 s). The hit rate is the manager's own counter:
 * a hit is an answer served without computing it, fresh or revalidated (past its TTL, served again
 * because the store's turns version shows that only this manager's writes happened since, none
 * of which could change it; stores without a turns version recompute instead).
 */
// 1,000 steps in the full run (83 simulated minutes): enough for the TTL to matter, and at most
// a few minutes per adapter at 100k turns, where each miss is an uncached query.
const STEPS = { quick: 200, full: 1000 };

export const dashboard: Scenario = {
  id: 'dashboard',
  title: 'Realistic dashboard workload',
  issues: [4],
  quick: true,
  async run({ rec, adapters, datasets, sizes, options }) {
    const create = await loadDataManager();
    if (typeof create === 'string') {
      rec.skip('data manager', create);
      return;
    }
    const steps = options.quick ? STEPS.quick : STEPS.full;
    const live = generateTurns(steps, { seed: 99, days: 1 }).turns;
    for (const adapter of adapters) {
      if (!adapter.turns) continue;
      // Server adapters load over the network: they run the workload on fewer stored turns.
      const stored = adapter.klass === 'server' ? Math.min(sizes.turns, sizes.serverMaxTurns) : sizes.turns;
      const { storage } = await datasets.store(adapter, stored);
      const clock = createManualClock(DATA_END);
      const random = createRandom(11);
      const sessions = datasets.turns(stored).sessions.slice(-10);
      // Stores build some structures lazily at their first query (the memory engine's columns,
      // rollups and session structures): they are the store's, not the manager's, so one query
      // of each kind runs through a throwaway uncached manager before the heap baseline.
      const warm = create({ storage, cache: false, clock });
      for (const q of warmUp(clock.now(), sessions[0] as string)) await warm.query(q);
      await warm.close();
      const before = settledHeap();
      const manager = create({ storage, clock });
      const users = Array.from({ length: 5 }, (_, u) => ({
        personas: [
          PERSONAS[u % PERSONAS.length],
          PERSONAS[(u + 3) % PERSONAS.length],
          PERSONAS[(u + 6) % PERSONAS.length],
        ],
      }));
      const times: number[] = [];
      let recorded = 0;
      let failures = 0;
      const ask = async (q: ConversationalQueryInput) => {
        const t0 = performance.now();
        const response = await manager.query(q);
        times.push(performance.now() - t0);
        if (!response.success) failures++;
      };
      const started = performance.now();
      try {
        for (let step = 0; step < steps; step++) {
          clock.advance(5_000);
          const now = clock.now();
          const to = now - (now % 3_600_000) + 3_600_000;
          const timeRange = { from: to - 30 * DAY, to };
          const user = random.pick(users);
          const r = random.next();
          if (r < 0.45) {
            await ask({ type: 'persona_usage', timeRange, aggregation: 'weekly' });
            await ask({ type: 'framework_analytics', timeRange });
            await ask({ type: 'performance_metrics', timeRange, aggregation: 'daily' });
            await ask({ type: 'engagement_patterns', timeRange });
          } else if (r < 0.75) {
            const persona = random.pick(user.personas) as string;
            await ask({ type: 'persona_usage', timeRange, filters: { persona }, aggregation: 'daily' });
            await ask({ type: 'performance_metrics', timeRange, filters: { persona }, aggregation: 'daily' });
          } else if (r < 0.9) {
            await ask({
              type: 'conversation_history',
              timeRange: { from: DATA_END - 90 * DAY, to: timeRange.to },
              filters: { sessionId: random.pick(sessions) as string },
              options: { view: 'turns' },
            });
          } else {
            const batch = live.slice(recorded, recorded + random.int(1, 4)).map((t: Turn) => {
              const { id: _id, ...rest } = t;
              return { ...rest, at: now };
            });
            recorded += batch.length;
            if (batch.length) await manager.recordTurns(batch);
          }
        }
        const seconds = (performance.now() - started) / 1000;
        const metrics = manager.getMetrics();
        const hitRate = (metrics.cache.hitRate ?? 0) * 100;
        times.sort((a, b) => a - b);
        rec.metric(
          `dashboard hit rate/${adapter.subject}`,
          `${adapter.subject}: cache hit rate`,
          hitRate,
          '%',
          `${metrics.cache.hits} hits (${metrics.cache.revalidated ?? 0} of them revalidated after the TTL), ` +
            `${metrics.cache.misses} misses (computed), ${recorded} turns recorded`,
        );
        rec.metric(
          `dashboard query p50/${adapter.subject}`,
          `${adapter.subject}: dashboard query p50`,
          times[Math.floor(times.length / 2)] ?? Number.NaN,
          'ms',
        );
        rec.metric(
          `dashboard query p99/${adapter.subject}`,
          `${adapter.subject}: dashboard query p99`,
          times[Math.ceil(times.length * 0.99) - 1] ?? Number.NaN,
          'ms',
        );
        rec.metric(
          `dashboard queries per second/${adapter.subject}`,
          `${adapter.subject}: dashboard queries per second`,
          times.length / seconds,
          'queries/s',
          `${steps} steps, ${stored} turns stored`,
        );
        if (failures)
          rec.metric(
            `dashboard failures/${adapter.subject}`,
            `${adapter.subject}: failed queries`,
            failures,
            'queries',
          );
        const after = settledHeap();
        rec.metric(
          `dashboard manager heap/${adapter.subject}`,
          `${adapter.subject}: manager heap after the workload`,
          (after.heap - before.heap) / 2 ** 20,
          'MB',
          'cache included, store not (the store was warmed before the baseline)',
        );
      } finally {
        await manager.close();
      }
      // The recorded turns changed the store: close it (a later scenario loads it afresh).
      await datasets.release(adapter, stored);
    }
  },
};

/** One query of each kind the workload asks, over the same 30 days, to warm the store. */
function warmUp(now: number, sessionId: string): ConversationalQueryInput[] {
  const to = now - (now % 3_600_000) + 3_600_000;
  const timeRange = { from: to - 30 * DAY, to };
  const persona = PERSONAS[0] as string;
  return [
    { type: 'persona_usage', timeRange, aggregation: 'weekly' },
    { type: 'framework_analytics', timeRange },
    { type: 'performance_metrics', timeRange, aggregation: 'daily' },
    { type: 'engagement_patterns', timeRange },
    { type: 'persona_usage', timeRange, filters: { persona }, aggregation: 'daily' },
    { type: 'performance_metrics', timeRange, filters: { persona }, aggregation: 'daily' },
    {
      type: 'conversation_history',
      timeRange: { from: DATA_END - 90 * DAY, to },
      filters: { sessionId },
      options: { view: 'turns' },
    },
  ];
}
