import { describe, expect, it } from 'vitest';
import { type ParsedQuery, type ParsedRequest, parseChatQuery, type Vocabulary } from '../src/chat/index.js';

const vocabulary: Vocabulary = {
  personas: ['diego', 'camille', 'rachel', 'alvaro', 'martin'],
  frameworks: ['okr', 'swot', 'team_topologies', 'wardley_mapping', 'porter_five_forces'],
  users: ['ana', 'ben', 'chen'],
  tools: ['web_search', 'jira'],
};

const now = Date.parse('2026-03-18T12:00:00Z'); // a Wednesday
const t = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

const today = { from: t('2026-03-18T00:00:00Z'), to: t('2026-03-19T00:00:00Z') };
const yesterday = { from: t('2026-03-17T00:00:00Z'), to: t('2026-03-18T00:00:00Z') };
const thisWeek = { from: t('2026-03-16T00:00:00Z'), to: t('2026-03-23T00:00:00Z') };
const lastWeek = { from: t('2026-03-09T00:00:00Z'), to: t('2026-03-16T00:00:00Z') };
const thisMonth = { from: t('2026-03-01T00:00:00Z'), to: t('2026-04-01T00:00:00Z') };
const lastMonth = { from: t('2026-02-01T00:00:00Z'), to: t('2026-03-01T00:00:00Z') };
const last7Days = { from: now + 1 - 7 * DAY, to: now + 1 };
const last30Days = { from: now + 1 - 30 * DAY, to: now + 1 };
const last24Hours = { from: now + 1 - DAY, to: now + 1 };

type Expected = Partial<Omit<ParsedQuery, 'kind'>> & { kind?: 'query' | 'search' | 'unknown'; text?: string };

/** Each row: a phrasing and the request it must become (fields not named are not set). */
const table: Array<[string, Expected]> = [
  [
    'which personas did I use most last week?',
    { type: 'persona_usage', timeRange: lastWeek, focus: 'turns' },
  ],
  [
    'p95 latency per day this month',
    { type: 'performance_metrics', timeRange: thisMonth, aggregation: 'daily', focus: 'p95' },
  ],
  ['find conversations about kubernetes', { kind: 'search', text: 'kubernetes', timeRange: {} }],
  ['Persona usage this week', { type: 'persona_usage', timeRange: thisWeek, focus: 'turns' }],
  [
    'How did diego do yesterday?',
    { type: 'persona_usage', timeRange: yesterday, filters: { persona: 'diego' } },
  ],
  [
    'top 3 frameworks last month',
    { type: 'framework_analytics', timeRange: lastMonth, topN: 3, focus: 'turns' },
  ],
  ['Which frameworks are trending?', { type: 'strategic_insights' }],
  ['any insights for the last 30 days', { type: 'strategic_insights', timeRange: last30Days }],
  ['what changed last week', { type: 'strategic_insights', timeRange: lastWeek }],
  ['error rate per week', { type: 'performance_metrics', aggregation: 'weekly', focus: 'errorRate' }],
  ['p99 response time today', { type: 'performance_metrics', timeRange: today, focus: 'p99' }],
  [
    'median latency in the last 24 hours',
    { type: 'performance_metrics', timeRange: last24Hours, focus: 'p50' },
  ],
  ['token usage by month', { type: 'performance_metrics', aggregation: 'monthly', focus: 'tokens' }],
  [
    'how slow was camille last week',
    { type: 'performance_metrics', timeRange: lastWeek, filters: { persona: 'camille' }, focus: 'latency' },
  ],
  [
    'throughput daily over the past 7 days',
    { type: 'performance_metrics', timeRange: last7Days, aggregation: 'daily', focus: 'throughput' },
  ],
  ['show my recent conversations', { type: 'conversation_history', view: 'sessions' }],
  ['last 10 sessions', { type: 'conversation_history', view: 'sessions', limit: 10 }],
  ['what did I ask yesterday', { type: 'conversation_history', timeRange: yesterday, view: 'turns' }],
  [
    'conversation history for ben',
    { type: 'conversation_history', filters: { userId: 'ben' }, view: 'sessions' },
  ],
  [
    'recent turns with rachel',
    { type: 'conversation_history', filters: { persona: 'rachel' }, view: 'turns' },
  ],
  ['busiest hour of the day', { type: 'engagement_patterns' }],
  [
    'sessions per day this month',
    { type: 'engagement_patterns', timeRange: thisMonth, aggregation: 'daily', focus: 'sessions' },
  ],
  ['engagement patterns last month', { type: 'engagement_patterns', timeRange: lastMonth }],
  ['how often do users come back', { type: 'engagement_patterns', focus: 'turns' }],
  ['which day of the week is most active', { type: 'engagement_patterns', focus: 'turns' }],
  ['how is swot used', { type: 'framework_analytics', filters: { framework: 'swot' }, focus: 'turns' }],
  [
    'team topologies this year',
    {
      type: 'framework_analytics',
      timeRange: { from: t('2026-01-01T00:00:00Z'), to: t('2027-01-01T00:00:00Z') },
      filters: { framework: 'team_topologies' },
    },
  ],
  [
    'frameworks used with alvaro in february',
    { type: 'framework_analytics', timeRange: lastMonth, filters: { persona: 'alvaro' }, focus: 'turns' },
  ],
  [
    'personas in december',
    { type: 'persona_usage', timeRange: { from: t('2025-12-01T00:00:00Z'), to: t('2026-01-01T00:00:00Z') } },
  ],
  [
    'persona success rate since 2026-03-01',
    {
      type: 'persona_usage',
      timeRange: { from: t('2026-03-01T00:00:00Z'), to: now + 1 },
      focus: 'successRate',
    },
  ],
  [
    'errors between 2026-03-01 and 2026-03-10',
    {
      type: 'performance_metrics',
      timeRange: { from: t('2026-03-01T00:00:00Z'), to: t('2026-03-11T00:00:00Z') },
      focus: 'errorRate',
    },
  ],
  [
    'latency on 2026-03-05 for chen',
    {
      type: 'performance_metrics',
      timeRange: { from: t('2026-03-05T00:00:00Z'), to: t('2026-03-06T00:00:00Z') },
      filters: { userId: 'chen' },
      focus: 'latency',
    },
  ],
  [
    'performance of web_search over the last 3 months',
    {
      type: 'performance_metrics',
      timeRange: { from: t('2025-12-18T12:00:00.001Z'), to: now + 1 },
      filters: { tool: 'web_search' },
    },
  ],
  [
    'failed sessions this week',
    { type: 'conversation_history', timeRange: thisWeek, filters: { outcome: 'error' }, view: 'sessions' },
  ],
  ['persona feedback per session', { type: 'persona_usage', aggregation: 'session', focus: 'feedback' }],
  ['search for wardley map review', { kind: 'search', text: 'wardley map review', timeRange: {} }],
  [
    'where did we talk about hiring plans last month',
    { kind: 'search', text: 'hiring plans', timeRange: lastMonth },
  ],
  ['what did we decide about the reorg', { kind: 'search', text: 'reorg', timeRange: {} }],
  [
    'find chats mentioning budget with diego',
    { kind: 'search', text: 'budget', filters: { persona: 'diego' }, timeRange: {} },
  ],
  ['conversations about okr rollout this week', { kind: 'search', text: 'okr rollout', timeRange: thisWeek }],
  [
    'look up incident review for ana',
    { kind: 'search', text: 'incident review', filters: { userId: 'ana' }, timeRange: {} },
  ],
  [
    'personas used by ana and ben',
    { type: 'persona_usage', filters: { userId: ['ana', 'ben'] }, focus: 'turns' },
  ],
  ['what is the weather', { kind: 'unknown' }],
  ['last week', { kind: 'unknown' }],
  ['???', { kind: 'unknown' }],
];

function check(request: ParsedRequest, expected: Expected): void {
  const kind = expected.kind ?? 'query';
  expect(request.kind).toBe(kind);
  if (request.kind === 'unknown') return;
  if (request.kind === 'search') {
    expect(request.text).toBe(expected.text);
    expect(request.filters).toEqual(expected.filters ?? {});
    expect(request.timeRange).toEqual(expected.timeRange ?? {});
    return;
  }
  const { kind: _k, text: _t, ...fields } = expected;
  const actual = {
    type: request.type,
    timeRange: request.timeRange,
    filters: request.filters,
    aggregation: request.aggregation,
    focus: request.focus,
    view: request.view,
    limit: request.limit,
    topN: request.topN,
  };
  expect(actual).toEqual({
    timeRange: {},
    filters: {},
    aggregation: undefined,
    focus: undefined,
    view: undefined,
    limit: undefined,
    topN: undefined,
    ...fields,
  });
}

describe('parseChatQuery: a table of phrasings', () => {
  it('has at least 40 phrasings', () => {
    expect(table.length).toBeGreaterThanOrEqual(40);
  });

  it.each(table)('%s', (text, expected) => {
    check(parseChatQuery(text, { now, vocabulary }), expected);
  });
});

describe('parseChatQuery: follow-ups refine the previous request', () => {
  const first = parseChatQuery('which personas did I use most last week?', { now, vocabulary });

  it('"now only for diego" keeps the question and period and narrows to diego', () => {
    expect(first.kind).toBe('query');
    const next = parseChatQuery('now only for diego', { now, vocabulary, previous: first as ParsedQuery });
    check(next, {
      type: 'persona_usage',
      timeRange: lastWeek,
      filters: { persona: 'diego' },
      focus: 'turns',
    });
    expect(next.kind === 'query' && next.followUp).toBe(true);
  });

  it('a new period replaces the old one; filters accumulate', () => {
    const second = parseChatQuery('only for ben', { now, vocabulary, previous: first as ParsedQuery });
    const third = parseChatQuery('what about last month', {
      now,
      vocabulary,
      previous: second as ParsedQuery,
    });
    check(third, { type: 'persona_usage', timeRange: lastMonth, filters: { userId: 'ben' }, focus: 'turns' });
  });

  it('naming another subject switches the query type and keeps the scope', () => {
    const next = parseChatQuery('and frameworks?', { now, vocabulary, previous: first as ParsedQuery });
    check(next, { type: 'framework_analytics', timeRange: lastWeek });
  });

  it('a follow-up to a search narrows the search', () => {
    const search = parseChatQuery('find conversations about kubernetes', { now, vocabulary });
    const next = parseChatQuery('now only for camille this week', {
      now,
      vocabulary,
      previous: search as never,
    });
    expect(next).toMatchObject({
      kind: 'search',
      text: 'kubernetes',
      filters: { persona: 'camille' },
      timeRange: thisWeek,
    });
  });

  it('"I" means the asking principal when it is a known user', () => {
    const mine = parseChatQuery('which personas did I use most', { now, vocabulary, principalId: 'ana' });
    check(mine, { type: 'persona_usage', filters: { userId: 'ana' }, focus: 'turns' });
    const stranger = parseChatQuery('which personas did I use most', { now, vocabulary, principalId: 'zoe' });
    check(stranger, { type: 'persona_usage', focus: 'turns' });
  });

  it('is deterministic', () => {
    for (const [text] of table) {
      expect(parseChatQuery(text, { now, vocabulary })).toEqual(parseChatQuery(text, { now, vocabulary }));
    }
  });
});
