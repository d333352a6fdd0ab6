import { SEARCH_TERMS } from '../data.js';
import type { Scenario, ScenarioContext } from '../scenario.js';

const QUERIES = [
  ['search rare term', SEARCH_TERMS.rare],
  ['search two-term AND', SEARCH_TERMS.andPair.join(' ')],
  ['search common term', SEARCH_TERMS.common],
] as const;

/** Full-text search, top 20, on every adapter and the raw FTS5 floor (bm25 + snippet). */
export async function measureSearch(
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
    for (const [name, text] of QUERIES) {
      await rec.bench(
        { operation: `${name}${suffix}`, subject: adapter.subject, kind: 'ours', klass: adapter.klass },
        () => turns.search(text, { limit: 20 }),
      );
    }
  }
  if (!opts.floors) return;
  const raw = datasets.rawTurns(count);
  const select = raw.db.prepare<[string], { id: string; snippet: string }>(
    `SELECT t.body, snippet(turns_fts, -1, '<mark>', '</mark>', '...', 12) AS snippet
       FROM turns_fts JOIN turns t ON t.rowid = turns_fts.rowid
      WHERE turns_fts MATCH ? ORDER BY bm25(turns_fts) LIMIT 20`,
  );
  for (const [name, text] of QUERIES) {
    const match = text
      .split(' ')
      .map((t) => `"${t}"`)
      .join(' AND ');
    await rec.bench(
      {
        operation: `${name}${suffix}`,
        subject: 'better-sqlite3 FTS5 bm25 + snippet',
        kind: 'floor',
        klass: 'embedded',
      },
      () => select.all(match),
    );
  }
}

/** Issue 3: search for a rare term, two terms together, and a common term. */
export const search: Scenario = {
  id: 'search',
  title: 'Full-text search, top 20',
  issues: [3],
  quick: true,
  async run(ctx) {
    await measureSearch(ctx, ctx.sizes.turns, '');
  },
};
