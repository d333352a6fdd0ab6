import type { SearchHit } from '@convokit/core';
import type {
  EngagementData,
  FrameworkAnalyticsData,
  HistoryData,
  PerformanceMetricsData,
  PersonaUsageData,
  StrategicInsightsData,
} from '@convokit/data-manager';
import { bar, fmt, sparkline, table } from './terminal.js';

/** Each query type's answer as text for the terminal; every figure comes from the answer. */
export function personaReport(d: PersonaUsageData): string {
  const max = Math.max(0, ...d.personas.map((p) => p.turns));
  const trend = new Map<string | null, number[]>();
  for (const point of d.series) {
    for (const p of d.personas) {
      const v = point.values.find((x) => x.persona === p.persona)?.turns ?? 0;
      trend.set(p.persona, [...(trend.get(p.persona) ?? []), v]);
    }
  }
  return table(
    ['persona', 'turns', '', 'share', 'success', 'p95', 'feedback', 'daily turns'],
    d.personas.map((p) => [
      p.persona ?? '(none)',
      fmt.int(p.turns),
      bar(p.turns, max, 20),
      fmt.pct(p.share),
      fmt.pct(p.successRate),
      fmt.ms(p.latencyP95),
      p.feedbackAvg === null ? '—' : p.feedbackAvg.toFixed(2),
      sparkline(trend.get(p.persona) ?? []),
    ]),
    ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'l'],
  );
}

export function frameworkReport(d: FrameworkAnalyticsData): string {
  return table(
    ['framework', 'detections', 'share', 'vs previous', 'sessions', 'used with'],
    d.frameworks.map((f) => [
      f.framework,
      fmt.int(f.detections),
      fmt.pct(f.share),
      f.change.relative === null ? `+${f.change.absolute}` : fmt.signed(f.change.relative),
      fmt.int(f.sessions),
      f.coFrameworks
        .slice(0, 2)
        .map((c) => c.framework)
        .join(', '),
    ]),
    ['l', 'r', 'r', 'r', 'r', 'l'],
  );
}

export function performanceReport(d: PerformanceMetricsData): string {
  const o = d.overall;
  const series = d.series;
  return [
    table(
      ['turns', 'p50', 'p95', 'p99', 'error rate', 'tokens in', 'tokens out'],
      [
        [
          fmt.int(o.turns),
          fmt.ms(o.latencyP50),
          fmt.ms(o.latencyP95),
          fmt.ms(o.latencyP99),
          fmt.pct(o.errorRate),
          fmt.int(o.tokensIn),
          fmt.int(o.tokensOut),
        ],
      ],
      ['r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    `p95 per day        ${sparkline(series.map((p) => p.values.latencyP95))}`,
    `error rate per day ${sparkline(series.map((p) => p.values.errorRate))}`,
    `turns per day      ${sparkline(series.map((p) => p.values.turns))}`,
  ].join('\n');
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function engagementReport(d: EngagementData): string {
  const maxDay = Math.max(...d.dayOfWeek);
  return [
    `${fmt.int(d.totals.sessions)} sessions, ${fmt.int(d.totals.turns)} turns, ${d.totals.users} users; ` +
      `${d.users.returning} of ${d.users.active} users came back (${fmt.pct(d.users.returningRate)}).`,
    `sessions per day   ${sparkline(d.sessionsPerDay.days.map((x) => x.sessions))}  mean ${d.sessionsPerDay.mean?.toFixed(1) ?? '—'}, max ${d.sessionsPerDay.max}`,
    `turns by UTC hour  ${sparkline(d.hourOfDay)}  (00 → 23)`,
    `turns per session  median ${d.turnsPerSession.median ?? '—'}, p90 ${d.turnsPerSession.p90 ?? '—'}, max ${d.turnsPerSession.max ?? '—'}`,
    `session length     median ${fmt.ms(d.sessionLengthMs.median)}, p90 ${fmt.ms(d.sessionLengthMs.p90)}`,
    '',
    ...d.dayOfWeek.map((n, i) => `${DAYS[i]}  ${bar(n, maxDay, 30)} ${fmt.int(n)}`),
    '',
    `preferred persona  ${d.personaPreference.map((p) => `${p.persona} ${p.users}`).join(' · ')}`,
  ].join('\n');
}

export function insightsReport(d: StrategicInsightsData): string {
  if (d.insights.length === 0)
    return ['No insight this period.', ...d.notes.map((n) => `  · ${n}`)].join('\n');
  return d.insights.map((i) => `• ${i.sentence}  (confidence ${fmt.pct(i.confidence)})`).join('\n');
}

export function historyReport(d: HistoryData): string {
  if (d.view === 'turns') {
    return table(
      ['when', 'session', 'persona', 'question'],
      d.turns.map((t) => [
        new Date(t.at).toISOString().slice(0, 16).replace('T', ' '),
        t.sessionId,
        t.persona ?? '',
        'userInput' in t ? t.userInput.slice(0, 60) : '',
      ]),
    );
  }
  return table(
    ['session', 'turns', 'first', 'last', 'personas', 'frameworks'],
    d.sessions.map((s) => [
      s.sessionId,
      s.turns,
      new Date(s.firstAt).toISOString().slice(0, 16).replace('T', ' '),
      new Date(s.lastAt).toISOString().slice(11, 16),
      s.personas.map((p) => p.persona).join(', '),
      s.frameworks
        .slice(0, 3)
        .map((f) => f.framework)
        .join(', '),
    ]),
    ['l', 'r', 'l', 'l', 'l', 'l'],
  );
}

/** Snippet marks shown as bold in a terminal, as brackets elsewhere. */
export function searchReport(hits: readonly SearchHit[], color: boolean): string {
  const mark = (s: string) =>
    color
      ? s.replaceAll('<mark>', '\u001b[1m').replaceAll('</mark>', '\u001b[22m')
      : s.replaceAll('<mark>', '[').replaceAll('</mark>', ']');
  return hits
    .map((h) => `• ${fmt.day(h.turn.at)} ${h.turn.persona ?? ''} (${h.turn.sessionId})\n  ${mark(h.snippet)}`)
    .join('\n');
}
