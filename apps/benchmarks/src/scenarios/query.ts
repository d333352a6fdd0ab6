import type { DataResponse } from '@convokit/core';
import { createManualClock } from '@convokit/core';
import { DATA_END } from '../data.js';
import { loadDataManager, settledHeap } from '../managers.js';
import { managerQuery, QUERY_TYPES_LIST } from '../query-specs.js';
import { type Scenario, sweepFor } from '../scenario.js';
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
    const largest = Math.max(...sizes.scaling);
    for (const adapter of adapters) {
      if (!adapter.turns) continue;
      const sweep = sweepFor(adapter, sizes);
      for (const count of sizes.scaling.filter((n) => n > sweep.cap)) {
        rec.skip(`${adapter.subject} @${sizeLabel(count)}`, sweep.why);
      }
      // The size the earlier scenarios loaded goes first: it is already there (and stays for the
      // dashboard); each other size is loaded once, measured, and released.
      const order = [...sweep.counts].sort((a, b) =>
        a === sizes.turns ? -1 : b === sizes.turns ? 1 : a - b,
      );
      const top = Math.max(...sweep.counts);
      for (const count of order) {
        const label = sizeLabel(count);
        const clock = createManualClock(DATA_END);
        const { storage, loadSeconds } = await datasets.store(adapter, count);
        // The generated turns of a size loaded here go once the store holds them (the next adapter
        // generates them again): with a million of them live, the collection that the first rows'
        // garbage started had 900 MB more to mark, and the row it overlapped ran 3-5x slower
        // (sqlite engagement_patterns 10-19 ms against 3.3-3.6 ms for the same calls timed in the
        // same process before or after; --trace-gc put a mark-compact of 1,036 MB inside that row).
        if (count !== sizes.turns) datasets.dropTurns([sizes.turns]);
        if (loadSeconds) {
          rec.metric(
            `load ${label}/${adapter.subject}`,
            `${adapter.subject}: load ${label} turns`,
            count / loadSeconds,
            'turns/s',
          );
        }
        // The stores build what they need for a query lazily (the memory engine's columns and
        // rollups at the first aggregate, its session and distinct structures at the first query
        // that reads them; 70 MB per "manager" at 1M turns if counted). They belong to the store,
        // so the six queries run once through a throwaway manager before the heap baseline.
        const warm = create({ storage, cache: false, clock });
        for (const type of QUERY_TYPES_LIST) check(await warm.query(managerQuery(type)), `${type} warm-up`);
        await warm.close();
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
              series.sort((a, b) => a.turns - b.turns);
              rec.series[name] = series;
            }
            check(await cached.query(q), `${type} cached`);
          }
          if (count === sizes.turns) {
            // A cached answer costs a few microseconds and never reaches the store, so its row
            // measures the process around it. Run right after an uncached row (which allocates a
            // lot) in a heap holding the large datasets, it ran during the collections that row
            // left due (one full run gave sqlite's persona_usage 37k/s against 299k-429k for the
            // other five types, and 402k-529k for the same type on the other adapters; a quick run
            // and a re-run gave it the same rate as the other five). So the cached rows come after
            // all uncached ones, from a collected heap, after half a second of unmeasured cached
            // calls: a full collection leaves background sweeping and re-optimisation behind it,
            // which slowed the first rows measured right after it in a trial (load 11).
            settledHeap();
            const queries = QUERY_TYPES_LIST.map((type) => managerQuery(type));
            for (const end = performance.now() + 500; performance.now() < end; ) {
              for (const q of queries) await cached.query(q);
            }
            for (const type of QUERY_TYPES_LIST) {
              const q = managerQuery(type);
              await rec.bench(
                {
                  operation: `query cached ${type}`,
                  subject: adapter.subject,
                  kind: 'ours',
                  klass: adapter.klass,
                },
                () => cached.query(q),
              );
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
            'per manager, measured from a store warmed by the six queries; the store itself not counted',
          );
        } finally {
          await uncached.close();
          await cached.close();
        }
        if (count === sizes.turns) continue;
        // History, search and aggregate at this adapter's largest size (issue 3's 1M figures).
        if (count === top) await measureAtSize({ ...ctx, adapters: [adapter] }, count, false);
        const storeHeap = settledHeap();
        await datasets.release(adapter, count);
        const released = settledHeap();
        rec.metric(
          `store heap @${label}/${adapter.subject}`,
          `${adapter.subject}: heap held by the store with ${label} turns`,
          (storeHeap.heap - released.heap) / 2 ** 20,
          'MB',
        );
      }
    }
    if (largest !== sizes.turns) {
      // The floors' own store is loaded from generated turns, which go before the floors are timed.
      datasets.rawTurns(largest);
      datasets.dropTurns([sizes.turns]);
      settledHeap();
      await measureAtSize({ ...ctx, adapters: [] }, largest, true);
      datasets.dropTurns([sizes.turns]);
    }
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
