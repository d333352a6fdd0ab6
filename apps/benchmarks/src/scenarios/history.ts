import type { Scenario, ScenarioContext } from '../scenario.js';

export function sizeLabel(count: number): string {
  return count >= 1e6 ? `${count / 1e6}M` : `${Math.round(count / 1e3)}k`;
}

/** A session's last 20 turns, newest first, on every adapter and the raw SQLite floor. */
export async function measureHistory(
  { rec, adapters, datasets, sizes }: ScenarioContext,
  count: number,
  suffix: string,
  opts = { floors: true },
) {
  const operation = `history last 20${suffix}`;
  for (const adapter of adapters.filter(
    (a) => a.turns && (a.klass !== 'server' || count <= sizes.serverMaxTurns),
  )) {
    const { storage, loadSeconds } = await datasets.store(adapter, count);
    if (loadSeconds)
      rec.metric(
        `load ${sizeLabel(count)}/${adapter.subject}`,
        `${adapter.subject}: load ${sizeLabel(count)} turns`,
        count / loadSeconds,
        'turns/s',
      );
    const sessions = datasets.longSessions(count);
    const turns = storage.turns;
    if (!turns || sessions.length === 0) continue;
    let i = 0;
    await rec.bench({ operation, subject: adapter.subject, kind: 'ours', klass: adapter.klass }, () =>
      turns.list({ sessionId: sessions[i++ % sessions.length] as string }, { limit: 20, order: 'desc' }),
    );
  }
  if (!opts.floors) return;
  const sessions = datasets.longSessions(count);
  const raw = datasets.rawTurns(count);
  const select = raw.db.prepare<[string], { body: string }>(
    'SELECT body FROM turns WHERE session_id = ? ORDER BY at DESC, id DESC LIMIT 20',
  );
  let i = 0;
  await rec.bench(
    { operation, subject: 'better-sqlite3 SELECT + JSON.parse', kind: 'floor', klass: 'embedded' },
    () => select.all(sessions[i++ % sessions.length] as string).map((r) => JSON.parse(r.body)),
  );
}

/** Issue 3: history, a session's last 20 turns. */
export const history: Scenario = {
  id: 'history',
  title: "History: a session's last 20 turns",
  issues: [3],
  quick: true,
  async run(ctx) {
    await measureHistory(ctx, ctx.sizes.turns, '');
  },
};
