import type { DataResponse } from '@convokit/core';
import { createManualClock } from '@convokit/core';
import { DATA_END } from '../data.js';
import { loadDataManager, settledHeap } from '../managers.js';
import { managerQuery, QUERY_TYPES_LIST } from '../query-specs.js';
import type { Scenario } from '../scenario.js';
import { measureAggregate } from './aggregate.js';
import { measureHistory, sizeLabel } from './history.js';
import { measureSearch } from './search.js';

function check(response: DataResponse, what: string): void {
  if (!response.success) throw new Error(`${what}: ${response.error?.code} ${response.error?.message}`);
}

/**
 * Issues 4 and 9, and the scaling chart: each of the six query types through the data manager,
 * uncached (cache off) and cached, at each turn count of the sweep (10k, 100k, 1M in the full
 * run), with the manager's heap. At the sweep's sizes that the history, search and aggregate
 * scenarios did not cover, those are measured too, so issue 3's 1M-turn figures come from here.
 * Adapter by adapter, so only one large store is in memory at a time.
 */
export const query: Scenario = {
  id: 'query',
  title: 'Data-manager queries against the number of turns',
  issues: [3, 4, 9],
  quick: true,
  async run(ctx) {
    const { rec, adapters, datasets, sizes } = ctx;
    const create = await loadDataManager();
    if (typeof create === 'string') {
      rec.skip('data manager', create);
      return;
    }
    const ascending = [...sizes.scaling].sort((a, b) => a - b);
    const largest = ascending[ascending.length - 1] as number;
    // The size the earlier scenarios loaded goes first, so it is not loaded twice.
    const order = [
      ...ascending.filter((c) => c === sizes.turns),
      ...ascending.filter((c) => c !== sizes.turns),
    ];
    for (const adapter of adapters) {
      if (!adapter.turns) continue;
      let lastLoaded = 0;
      for (const count of order) {
        const label = sizeLabel(count);
        if (adapter.klass === 'server' && count > sizes.serverMaxTurns) {
          rec.skip(
            `${adapter.subject} @${label}`,
            `server adapters are swept up to ${sizeLabel(sizes.serverMaxTurns)} turns to keep the run bounded`,
          );
          continue;
        }
        const clock = createManualClock(DATA_END);
        const { storage, loadSeconds } = await datasets.store(adapter, count);
        lastLoaded = count;
        if (loadSeconds) {
          rec.metric(
            `load ${label}/${adapter.subject}`,
            `${adapter.subject}: load ${label} turns`,
            count / loadSeconds,
            'turns/s',
          );
        }
        const before = settledHeap();
        const uncached = create({ storage, cache: false, clock });
        const cached = create({ storage, clock });
        try {
          let slowest = 0;
          for (const type of QUERY_TYPES_LIST) {
            const q = managerQuery(type);
            check(await uncached.query(q), `${type} uncached`);
            const row = await rec.bench(
              {
                operation: `query uncached ${type} @${label}`,
                subject: adapter.subject,
                kind: 'ours',
                klass: adapter.klass,
              },
              () => uncached.query(q),
            );
            if (row) {
              slowest = Math.max(slowest, row.p99Ms);
              const name = `${adapter.name} ${type}`;
              const series = rec.series[name] ?? [];
              series.push({ turns: count, p50Ms: row.p50Ms });
              rec.series[name] = series;
            }
            if (count === ascending[0]) {
              check(await cached.query(q), `${type} cached`);
              await rec.bench(
                {
                  operation: `query cached ${type}`,
                  subject: adapter.subject,
                  kind: 'ours',
                  klass: adapter.klass,
                },
                () => cached.query(q),
              );
            } else {
              await cached.query(q);
            }
          }
          rec.metric(
            `query uncached slowest @${label}/${adapter.subject}`,
            `${adapter.subject}: slowest uncached query p99 at ${label} turns`,
            slowest,
            'ms',
          );
          const after = settledHeap();
          rec.metric(
            `manager heap @${label}/${adapter.subject}`,
            `${adapter.subject}: two data managers' heap after the six queries, ${label} turns`,
            (after.heap - before.heap) / 2 / 2 ** 20,
            'MB',
            'per manager; the store itself not counted',
          );
        } finally {
          await uncached.close();
          await cached.close();
        }
        const serverTop =
          adapter.klass === 'server' && count === Math.max(...order.filter((c) => c <= sizes.serverMaxTurns));
        if (serverTop && count !== sizes.turns)
          await measureAtSize({ ...ctx, adapters: [adapter] }, count, false);
        if (adapter.klass !== 'server' && count === largest && largest !== sizes.turns)
          await measureAtSize({ ...ctx, adapters: [adapter] }, count, false);
      }
      const storeHeap = settledHeap();
      await datasets.release(adapter);
      const released = settledHeap();
      rec.metric(
        `store heap @${sizeLabel(lastLoaded)}/${adapter.subject}`,
        `${adapter.subject}: heap held by the store with ${sizeLabel(lastLoaded)} turns`,
        (storeHeap.heap - released.heap) / 2 ** 20,
        'MB',
      );
    }
    if (largest !== sizes.turns) await measureAtSize({ ...ctx, adapters: [] }, largest, true);
  },
};

/** History, search and aggregate at the sweep's largest size: each adapter, then the floors once. */
async function measureAtSize(
  ctx: Parameters<Scenario['run']>[0],
  count: number,
  floors: boolean,
): Promise<void> {
  const suffix = ` @${sizeLabel(count)}`;
  await measureHistory(ctx, count, suffix, { floors });
  await measureSearch(ctx, count, suffix, { floors });
  await measureAggregate(ctx, count, suffix, { floors });
}
