import type { ContextHandle } from '@convokit/context-manager';
import { DAY_MS, type JsonObject, type Principal } from '@convokit/core';
import type { ConversationalDataManager, PerformanceMetricsData } from '@convokit/data-manager';
import { ChartLinker } from '@convokit/integrations/linking';
import {
  buildHierarchy,
  DrillDownNavigator,
  type HierarchyNode,
  type LevelDefinition,
} from '@convokit/integrations/navigation';

/** The dashboard's charts; each is a chart context, and the persona chart is linked to the rest. */
export const CHARTS = ['personas', 'timeline', 'frameworks', 'hours', 'sessions'] as const;
const chartId = (name: string) => `dashboard:${name}`;
const SESSION = 'dashboard';

const LEVELS: LevelDefinition[] = [
  { key: 'month', derive: (r) => new Date(r.at as number).toISOString().slice(0, 7) },
  { key: 'day', derive: (r) => new Date(r.at as number).toISOString().slice(0, 10) },
];

export interface DashboardState {
  persona: string | null;
  /** Drill-down path in the timeline: [] (all), [month], [month, day]. */
  path: string[];
  breadcrumbs: Array<{ label: string; depth: number }>;
  period: { from: number; to: number };
  aggregation: 'monthly' | 'daily' | 'session';
}

/**
 * Keeps what the dashboard shows in context: chart contexts (the persona selection reaches the
 * other charts through chart links) and a navigation context (the timeline drill-down). A reload,
 * or a second browser, sees the same state.
 */
export class Dashboard {
  readonly #dm: ConversationalDataManager;
  readonly #h: ContextHandle;
  readonly #now: () => number;

  constructor(dm: ConversationalDataManager, handle: ContextHandle, now: () => number) {
    this.#dm = dm;
    this.#h = handle;
    this.#now = now;
  }

  get principal(): Principal {
    return this.#h.principal;
  }

  /** Creates the chart contexts and their links the first time. */
  async ensureCharts(): Promise<void> {
    for (const name of CHARTS) {
      if (!(await this.#h.getChart(chartId(name)))) {
        await this.#h.createChart(
          { chartId: name, chartType: name === 'timeline' ? 'line' : name === 'sessions' ? 'table' : 'bar' },
          { id: chartId(name), sessionId: SESSION, ttlMs: null },
        );
      }
    }
    const personas = await this.#h.getChart(chartId('personas'));
    const linked = new Set(personas?.chart.links.map((l) => l.chartId));
    const linker = new ChartLinker(this.#h);
    for (const name of CHARTS.filter((n) => n !== 'personas')) {
      if (!linked.has(chartId(name))) {
        await linker.link(chartId('personas'), chartId(name), { kinds: ['filter'], bidirectional: false });
      }
    }
  }

  /** The 90-day window the dashboard covers: whole UTC days up to today. */
  window(): { from: number; to: number } {
    const today = this.#now() - (this.#now() % DAY_MS);
    return { from: today - 89 * DAY_MS, to: today + DAY_MS };
  }

  async #tree(): Promise<HierarchyNode> {
    const response = await this.#dm.query<PerformanceMetricsData>({
      type: 'performance_metrics',
      timeRange: this.window(),
      aggregation: 'daily',
    });
    const rows = (response.data?.series ?? []).map((p) => ({ at: p.start, turns: p.values.turns }));
    return buildHierarchy(rows, { levels: LEVELS, measure: 'turns' });
  }

  async #navigator(): Promise<DrillDownNavigator> {
    return DrillDownNavigator.open({
      contexts: this.#h,
      sessionId: SESSION,
      chartId: 'timeline',
      tree: await this.#tree(),
      levels: LEVELS.map((l) => l.key),
    });
  }

  async state(): Promise<DashboardState> {
    const nav = await this.#navigator();
    const timeline = await this.#h.getChart(chartId('timeline'));
    const persona = (timeline?.chart.filters.persona as string | null | undefined) ?? null;
    const path = nav.state.path;
    let period = this.window();
    let aggregation: DashboardState['aggregation'] = 'monthly';
    if (path.length === 1) {
      const from = Date.parse(`${path[0]}-01T00:00:00Z`);
      const next = new Date(from);
      next.setUTCMonth(next.getUTCMonth() + 1);
      period = { from, to: next.getTime() };
      aggregation = 'daily';
    } else if (path.length === 2) {
      const from = Date.parse(`${path[1]}T00:00:00Z`);
      period = { from, to: from + DAY_MS };
      aggregation = 'session';
    }
    return {
      persona,
      path,
      breadcrumbs: nav.breadcrumbs.map((b) => ({ label: b.label, depth: b.depth })),
      period,
      aggregation,
    };
  }

  /** Selecting a persona (or null to clear) filters every linked chart. */
  async selectPersona(persona: string | null): Promise<DashboardState> {
    const payload: JsonObject = { persona };
    await new ChartLinker(this.#h).propagate(
      { chartId: chartId('personas'), kind: 'filter', payload },
      { apply: true },
    );
    await this.#h.updateChart(chartId('personas'), { preferences: { selected: persona } });
    return this.state();
  }

  async drill(value: string): Promise<DashboardState> {
    await (await this.#navigator()).drillDown(value);
    return this.state();
  }

  async jump(depth: number): Promise<DashboardState> {
    await (await this.#navigator()).jumpTo(depth);
    return this.state();
  }
}
