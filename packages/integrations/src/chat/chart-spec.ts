import type { SearchHit } from '@convokit/core';
import type {
  EngagementData,
  FrameworkAnalyticsData,
  HistoryData,
  PerformanceMetricsData,
  PersonaUsageData,
  StrategicInsightsData,
} from '@convokit/data-manager';
import type { MetricFocus, ParsedQuery } from './parse.js';

/** A Vega-Lite v5 specification: plain JSON, rendered by any Vega-Lite runtime. */
export type VegaLiteSpec = Record<string, unknown> & { $schema: string };

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

function bar(
  title: string,
  values: Record<string, unknown>[],
  x: string,
  y: string,
  yTitle: string,
): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: x, type: 'nominal', sort: '-y', title: x },
      y: { field: y, type: 'quantitative', title: yTitle },
    },
  };
}

function line(title: string, values: Record<string, unknown>[], y: string, yTitle: string): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'start', type: 'temporal', title: 'period start (UTC)' },
      y: { field: y, type: 'quantitative', title: yTitle },
    },
  };
}

const PERSONA_FIELD: Partial<Record<MetricFocus, [field: string, title: string]>> = {
  sessions: ['sessions', 'sessions'],
  latency: ['latencyAvg', 'average latency (ms)'],
  p95: ['latencyP95', 'p95 latency (ms)'],
  errorRate: ['errorRate', 'error rate'],
  successRate: ['successRate', 'success rate'],
  feedback: ['feedbackAvg', 'average feedback'],
};

const PERFORMANCE_FIELD: Record<string, [field: string, title: string]> = {
  latency: ['latencyAvg', 'average latency (ms)'],
  p50: ['latencyP50', 'p50 latency (ms)'],
  p95: ['latencyP95', 'p95 latency (ms)'],
  p99: ['latencyP99', 'p99 latency (ms)'],
  errorRate: ['errorRate', 'error rate'],
  tokens: ['tokensOut', 'output tokens'],
  throughput: ['throughputPerHour', 'turns per hour'],
};

/** A chart for a query's answer, or null when a chart would say nothing a table doesn't. */
export function chartFor(parsed: ParsedQuery, data: unknown): VegaLiteSpec | null {
  switch (parsed.type) {
    case 'persona_usage': {
      const d = data as PersonaUsageData;
      const [field, title] = PERSONA_FIELD[parsed.focus ?? 'turns'] ?? ['turns', 'turns'];
      const values = d.personas.map((p) => ({
        ...p,
        persona: p.persona ?? '(none)',
        errorRate: p.turns === 0 ? 0 : p.errors / p.turns,
      }));
      return bar(`Personas by ${title}`, values, 'persona', field, title);
    }
    case 'framework_analytics': {
      const d = data as FrameworkAnalyticsData;
      return bar('Framework detections', d.frameworks as never, 'framework', 'detections', 'turns using it');
    }
    case 'performance_metrics': {
      const d = data as PerformanceMetricsData;
      const [field, title] = PERFORMANCE_FIELD[parsed.focus ?? 'p95'] ?? ['latencyP95', 'p95 latency (ms)'];
      const values = d.series.map((p) => ({ key: p.key, start: p.start, ...p.values }));
      if (parsed.aggregation === 'session') return bar(`${title} per session`, values, 'key', field, title);
      return line(`${title} over time`, values, field, title);
    }
    case 'engagement_patterns': {
      const d = data as EngagementData;
      if (parsed.focus === 'sessions' || parsed.aggregation !== undefined) {
        return line(
          'Sessions over time',
          d.series.map((p) => ({ start: p.start, ...p.values })),
          'sessions',
          'sessions',
        );
      }
      return {
        $schema: SCHEMA,
        title: 'Turns by hour of day (UTC)',
        data: { values: d.hourOfDay.map((turns, hour) => ({ hour, turns })) },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'hour', type: 'ordinal', title: 'hour (UTC)' },
          y: { field: 'turns', type: 'quantitative', title: 'turns' },
        },
      };
    }
    case 'conversation_history': {
      const d = data as HistoryData;
      if (d.view !== 'sessions' || d.sessions.length === 0) return null;
      return bar('Turns per session', d.sessions as never, 'sessionId', 'turns', 'turns');
    }
    case 'strategic_insights': {
      const d = data as StrategicInsightsData;
      if (d.insights.length === 0) return null;
      const values = d.insights.map((i) => ({
        insight: i.kind,
        metric: i.evidence.metric,
        change: i.evidence.change,
      }));
      return bar('What changed', values, 'metric', 'change', 'change against the previous period');
    }
  }
}

/** Matches per day for a search, newest day last. */
export function chartForSearch(hits: readonly SearchHit[]): VegaLiteSpec | null {
  if (hits.length === 0) return null;
  const perDay = new Map<string, number>();
  for (const hit of hits) {
    const day = new Date(hit.turn.at).toISOString().slice(0, 10);
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  const values = [...perDay].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, matches]) => ({ day, matches }));
  return {
    $schema: SCHEMA,
    title: 'Matching turns per day',
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'day', type: 'temporal', timeUnit: 'utcyearmonthdate', title: 'day (UTC)' },
      y: { field: 'matches', type: 'quantitative', title: 'matching turns' },
    },
  };
}
