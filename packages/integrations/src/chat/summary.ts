import type { SearchHit } from '@convokit/core';
import type {
  EngagementData,
  FrameworkAnalyticsData,
  HistoryData,
  PerformanceMetricsData,
  PersonaUsageData,
  StrategicInsightsData,
} from '@convokit/data-manager';
import type { ParsedQuery, ParsedSearch } from './parse.js';

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`;
const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${Math.round(x)} ms`);
const day = (at: number) => new Date(at).toISOString().slice(0, 10);

function period(parsed: ParsedQuery | ParsedSearch): string {
  return parsed.periodLabel ? ` (${parsed.periodLabel})` : '';
}

function scope(parsed: ParsedQuery | ParsedSearch): string {
  const parts = Object.entries(parsed.filters).map(
    ([k, v]) => `${k} ${Array.isArray(v) ? v.join(' or ') : String(v)}`,
  );
  return parts.length ? ` for ${parts.join(', ')}` : '';
}

/** A short markdown answer, every number taken from the query's data. */
export function summarize(parsed: ParsedQuery, data: unknown): string {
  const head = `${period(parsed)}${scope(parsed)}`;
  switch (parsed.type) {
    case 'persona_usage': {
      const d = data as PersonaUsageData;
      if (d.totalTurns === 0) return `No turns${head}.`;
      const rows = d.personas
        .slice(0, 5)
        .map(
          (p) =>
            `| ${p.persona ?? '(none)'} | ${p.turns} | ${pct(p.share)} | ${pct(p.successRate)} | ${ms(p.latencyP95)} |`,
        );
      const top = d.personas[0]!;
      return [
        `**${top.persona ?? '(no persona)'}** was used most${head}: ${top.turns} of ${d.totalTurns} turns (${pct(top.share)}).`,
        '',
        '| persona | turns | share | success | p95 |',
        '|---|---:|---:|---:|---:|',
        ...rows,
      ].join('\n');
    }
    case 'framework_analytics': {
      const d = data as FrameworkAnalyticsData;
      if (d.frameworks.length === 0) return `No framework was used${head}.`;
      const rows = d.frameworks
        .slice(0, 5)
        .map(
          (f) =>
            `| ${f.framework} | ${f.detections} | ${pct(f.share)} | ${f.change.absolute >= 0 ? '+' : ''}${f.change.absolute} |`,
        );
      const top = d.frameworks[0]!;
      return [
        `**${top.framework}** led${head} with ${top.detections} of ${d.totalDetections} detections (${pct(top.share)}).`,
        '',
        '| framework | detections | share | change |',
        '|---|---:|---:|---:|',
        ...rows,
      ].join('\n');
    }
    case 'performance_metrics': {
      const d = data as PerformanceMetricsData;
      const o = d.overall;
      if (o.turns === 0) return `No turns${head}.`;
      return [
        `${o.turns} turns${head}: p50 ${ms(o.latencyP50)}, p95 ${ms(o.latencyP95)}, p99 ${ms(o.latencyP99)}, error rate ${pct(o.errorRate)}.`,
        `Tokens: ${o.tokensIn} in, ${o.tokensOut} out. ${d.series.length} ${parsed.aggregation ?? 'daily'} points.`,
      ].join('\n');
    }
    case 'engagement_patterns': {
      const d = data as EngagementData;
      if (d.totals.turns === 0) return `No turns${head}.`;
      const busiest = d.hourOfDay.indexOf(Math.max(...d.hourOfDay));
      const days = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
      const busiestDay = days[d.dayOfWeek.indexOf(Math.max(...d.dayOfWeek))];
      return [
        `${d.totals.sessions} sessions, ${d.totals.turns} turns and ${d.totals.users} users${head}.`,
        `Busiest hour ${String(busiest).padStart(2, '0')}:00 UTC, busiest day ${busiestDay}; ${d.users.returning} of ${d.users.active} users came back (${pct(d.users.returningRate)}).`,
      ].join('\n');
    }
    case 'conversation_history': {
      const d = data as HistoryData;
      if (d.view === 'sessions') {
        if (d.sessions.length === 0) return `No sessions${head}.`;
        return [
          `${d.sessions.length} sessions${head}, newest first:`,
          ...d.sessions
            .slice(0, 10)
            .map((s) => `- ${s.sessionId}: ${s.turns} turns, ${day(s.firstAt)} to ${day(s.lastAt)}`),
        ].join('\n');
      }
      if (d.turns.length === 0) return `No turns${head}.`;
      return [
        `${d.turns.length} turns${head}, newest first:`,
        ...d.turns.slice(0, 10).map((t) => `- ${day(t.at)} ${t.persona ?? ''} (${t.sessionId})`),
      ].join('\n');
    }
    case 'strategic_insights': {
      const d = data as StrategicInsightsData;
      if (d.insights.length === 0) {
        return [`No insight${head}.`, ...d.notes.map((n) => `- ${n}`)].join('\n');
      }
      return [
        `${d.insights.length} insights${head}:`,
        ...d.insights.map((i) => `- ${i.sentence} (confidence ${pct(i.confidence)})`),
      ].join('\n');
    }
  }
}

export function summarizeSearch(parsed: ParsedSearch, hits: readonly SearchHit[]): string {
  if (hits.length === 0) return `No conversation mentions "${parsed.text}"${period(parsed)}${scope(parsed)}.`;
  return [
    `${hits.length} turns mention "${parsed.text}"${period(parsed)}${scope(parsed)}:`,
    ...hits.slice(0, 5).map((h) => `- ${day(h.turn.at)} (${h.turn.sessionId}): ${h.snippet}`),
  ].join('\n');
}

/** What the workflow can answer, for questions it could not read. */
export const CAPABILITIES = [
  'persona usage: "which personas did I use most last week?"',
  'frameworks: "top 3 frameworks this month", "how is swot used"',
  'performance: "p95 latency per day this month", "error rate per week"',
  'engagement: "busiest hour of the day", "sessions per day this month"',
  'history: "my recent conversations", "what did I ask yesterday"',
  'insights: "what changed last week?"',
  'search: "find conversations about kubernetes"',
  'follow-ups: "now only for diego", "what about last month"',
];
