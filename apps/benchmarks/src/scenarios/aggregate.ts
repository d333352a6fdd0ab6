import { AGGREGATE_SPECS, QUERY_TYPES_LIST } from '../query-specs.js';
import type { Scenario, ScenarioContext } from '../scenario.js';

/**
 * The store's query engine answering what each of the six query types needs over 90 days, on
 * every adapter; the floor is a plain GROUP BY scan over the raw table (what rollups avoid).
 */
export async function measureAggregate(
  { rec, adapters, datasets, sizes }: ScenarioContext,
  count: number,
  suffix: string,
  opts = { floors: true },
) {
  for (const adapter of adapters.filter(
    (a) => a.turns && (a.klass !== 'server' || count <= sizes.serverMaxTurns),
  )) {
    const { storage } = await datasets.store(adapter, count);
    const turns = storage.turns;
    if (!turns) continue;
    for (const type of QUERY_TYPES_LIST) {
      await rec.bench(
        {
          operation: `aggregate ${type}${suffix}`,
          subject: adapter.subject,
          kind: 'ours',
          klass: adapter.klass,
        },
        () => turns.aggregate(AGGREGATE_SPECS[type]),
      );
    }
  }
  if (!opts.floors) return;
  const raw = datasets.rawTurns(count);
  const { from, to } = AGGREGATE_SPECS.persona_usage.filter as { from: number; to: number };
  const byPersona = raw.db.prepare(
    `SELECT persona, count(*), count(DISTINCT session_id), avg(outcome = 'error'), avg(latency), min(at), max(at)
       FROM turns WHERE at >= ? AND at < ? GROUP BY persona`,
  );
  const byDay = raw.db.prepare(
    `SELECT at / 86400000 AS day, count(*), avg(latency), sum(tokens_in), sum(tokens_out), avg(outcome = 'error')
       FROM turns WHERE at >= ? AND at < ? GROUP BY day`,
  );
  const subject = 'better-sqlite3 GROUP BY scan';
  await rec.bench(
    { operation: `aggregate persona_usage${suffix}`, subject, kind: 'floor', klass: 'embedded' },
    () => byPersona.all(from, to),
  );
  await rec.bench(
    {
      operation: `aggregate performance_metrics${suffix}`,
      subject,
      kind: 'floor',
      klass: 'embedded',
      note: 'no percentiles',
    },
    () => byDay.all(from, to),
  );
}

/** Issues 3 and 9: aggregate for each of the six query types over 90 days. */
export const aggregate: Scenario = {
  id: 'aggregate',
  title: 'Store aggregate for each query type, 90 days',
  issues: [3, 9],
  quick: true,
  async run(ctx) {
    await measureAggregate(ctx, ctx.sizes.turns, '');
  },
};
