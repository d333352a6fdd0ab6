import { DAY_MS, type Storage, type TurnInput } from '@convokit/core';
import type {
  ConversationalDataManager,
  EngagementData,
  FrameworkAnalyticsData,
  HistoryData,
  PerformanceMetricsData,
  PersonaUsageData,
  StrategicInsightsData,
} from '@convokit/data-manager';
import { ChartLinker } from '@convokit/integrations/linking';
import { buildHierarchy, DrillDownNavigator, HIERARCHY_PRESETS } from '@convokit/integrations/navigation';
import { createConvokitServices } from '@convokit/mcp-server';
import { SingleBar } from 'cli-progress';
import { generateTurns } from './generate.js';
import {
  engagementReport,
  frameworkReport,
  historyReport,
  insightsReport,
  performanceReport,
  personaReport,
  searchReport,
} from './report.js';
import { fmt, heading } from './terminal.js';

export interface DemoOptions {
  storage: Storage;
  where: string;
  /** Turns to generate (about). */
  turns: number;
  seed: number;
  /** Regenerate even when the store already holds turns. */
  reset: boolean;
  out: (line: string) => void;
  color: boolean;
  /** Show a progress bar (a TTY). */
  progress: boolean;
  now?: number;
}

/** The main job: a realistic data set recorded through the data manager, then every query type. */
export async function runDemo(o: DemoOptions): Promise<void> {
  const started = performance.now();
  const now = o.now ?? Date.now();
  // A fixed `now` (tests, screenshots) fixes every default period too.
  const services = createConvokitServices(
    o.storage,
    o.now === undefined ? {} : { clock: { now: () => now } },
  );
  const { dataManager: dm, contexts, workflow } = services;
  try {
    const stored = (await o.storage.turns?.count()) ?? 0;
    o.out(heading(`convokit demo on ${o.storage.name} (${o.where})`));
    if (stored > 0 && !o.reset) {
      o.out(`Using the ${fmt.int(stored)} turns already stored (run with --reset to generate them again).`);
    } else {
      const ingest = await ingestDemo(o, now, dm);
      o.out(
        `Recorded ${fmt.int(ingest.turns)} turns in ${fmt.int(ingest.sessions)} sessions (90 days, 40 users, 7 personas) ` +
          `in ${(ingest.ms / 1000).toFixed(1)} s: ${fmt.int(Math.round(ingest.turns / (ingest.ms / 1000)))} turns/s.`,
      );
    }

    const last30 = { from: now - 30 * DAY_MS, to: now + 1 };
    o.out(heading('Persona usage, last 30 days'));
    const personas = await dm.query<PersonaUsageData>({ type: 'persona_usage', timeRange: last30 });
    o.out(personaReport(must(personas)));

    o.out(heading('Frameworks, last 30 days against the 30 before'));
    o.out(
      frameworkReport(
        must(await dm.query<FrameworkAnalyticsData>({ type: 'framework_analytics', timeRange: last30 })),
      ),
    );

    o.out(heading('Performance, last 30 days'));
    const perf = await dm.query<PerformanceMetricsData>({ type: 'performance_metrics', timeRange: last30 });
    o.out(performanceReport(must(perf)));

    o.out(heading('Engagement, last 30 days'));
    o.out(
      engagementReport(
        must(await dm.query<EngagementData>({ type: 'engagement_patterns', timeRange: last30 })),
      ),
    );

    o.out(heading('Insights: the last 7 days against the 7 before'));
    o.out(insightsReport(must(await dm.query<StrategicInsightsData>({ type: 'strategic_insights' }))));

    o.out(heading('Latest sessions'));
    o.out(
      historyReport(
        must(
          await dm.query<HistoryData>({
            type: 'conversation_history',
            timeRange: last30,
            pagination: { limit: 5 },
          }),
        ),
      ),
    );

    o.out(heading('Search: "kubernetes migration"'));
    const hits = await dm.search('kubernetes migration', {}, 3);
    o.out(searchReport(must(hits), o.color));
    o.out(`${hits.totalRecords} shown, ${fmt.ms(hits.processingTimeMs)}`);

    o.out(heading('Chat analytics, kept as context'));
    const principal = { id: 'ana' };
    for (const question of [
      'which personas did I use most last week?',
      'now only for diego',
      'p95 latency per day this month',
    ]) {
      const answer = await workflow.processChatQuery(question, { principal, sessionId: 'demo-chat' });
      o.out(`> ${question}`);
      o.out(answer.summary.split('\n').slice(0, 7).join('\n'));
      o.out(
        `  (${answer.query?.type ?? 'search'}, chart: ${answer.chart ? String((answer.chart.mark as { type: string }).type) : 'none'}, ${fmt.ms(answer.processingTimeMs)})\n`,
      );
    }

    o.out(heading('Chart state: drill-down and linked charts'));
    const handle = contexts.as(principal);
    for (const id of ['demo-personas', 'demo-latency']) {
      if (!(await handle.getChart(id)))
        await handle.createChart({ chartId: id, chartType: 'bar' }, { id, sessionId: 'demo-chat' });
    }
    const linker = new ChartLinker(handle);
    await linker.link('demo-personas', 'demo-latency', { kinds: ['filter', 'highlight'] });
    const propagated = await linker.propagate(
      { chartId: 'demo-personas', kind: 'filter', payload: { persona: 'camille' } },
      { apply: true },
    );
    o.out(
      `Selecting camille on the persona chart filters: ${propagated.updates.map((u) => u.chartId).join(', ')}`,
    );
    const days = perf.data?.series.map((p) => ({ at: p.start, turns: p.values.turns })) ?? [];
    const tree = buildHierarchy(days, { levels: HIERARCHY_PRESETS.temporal('at'), measure: 'turns' });
    const levels = ['year', 'quarter', 'month', 'day'];
    const nav = await DrillDownNavigator.open({
      contexts: handle,
      sessionId: 'demo-chat',
      chartId: 'demo-latency',
      tree,
      levels,
    });
    await nav.jumpTo(0);
    for (const _ of levels.slice(0, 3)) {
      const child = nav.current.children.at(-1);
      if (child) await nav.drillDown(child.value);
    }
    o.out(
      `Drilled into ${nav.breadcrumbs.map((b) => b.label).join(' › ')}: ` +
        `${nav.current.children.length} days, ${fmt.int(nav.current.total)} turns.`,
    );
    o.out(`Stored as navigation context nav:demo-chat:demo-latency (a reload restores it).`);

    const m = dm.getMetrics();
    o.out(heading('This run'));
    o.out(
      `queries ${m.counters['queries.total'] ?? 0}, cache hit rate ${fmt.pct(m.cache.hitRate)}, ` +
        `query p50 ${fmt.ms(m.latencies.query?.p50 ?? null)}, total ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await services.close();
  }
}

function must<T>(response: {
  success: boolean;
  data: T | null;
  error?: { code: string; message: string };
}): T {
  if (!response.success || response.data === null) {
    throw new Error(`${response.error?.code ?? 'ERROR'}: ${response.error?.message ?? 'no data'}`);
  }
  return response.data;
}

async function ingestDemo(
  o: DemoOptions,
  now: number,
  dm: ConversationalDataManager,
): Promise<{ turns: number; sessions: number; ms: number }> {
  const started = performance.now();
  const progress = o.progress
    ? new SingleBar({
        format: 'ingest [{bar}] {percentage}% {value}/{total} turns',
        hideCursor: true,
        clearOnComplete: true,
      })
    : null;
  progress?.start(o.turns, 0);
  let turns = 0;
  const sessions = new Set<string>();
  let batch: TurnInput[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await dm.recordTurns(batch);
    turns += batch.length;
    progress?.update(Math.min(turns, o.turns));
    batch = [];
  };
  for (const turn of generateTurns({ seed: o.seed, end: now, turns: o.turns })) {
    sessions.add(turn.sessionId);
    batch.push(turn);
    if (batch.length === 1000) await flush();
  }
  await flush();
  progress?.stop();
  return { turns, sessions: sessions.size, ms: performance.now() - started };
}
