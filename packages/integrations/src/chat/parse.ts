import type { AggregationLevel, QueryFilters, QueryType } from '@convokit/core';
import { readTimePhrase } from './time-phrases.js';

/** Names the parser recognises, drawn from stored data. */
export interface Vocabulary {
  personas: readonly string[];
  frameworks: readonly string[];
  users: readonly string[];
  tools: readonly string[];
}

export type MetricFocus =
  | 'turns'
  | 'sessions'
  | 'latency'
  | 'p50'
  | 'p95'
  | 'p99'
  | 'errorRate'
  | 'tokens'
  | 'throughput'
  | 'successRate'
  | 'feedback';

export interface TimeWindow {
  from?: number;
  to?: number;
}

/** An analytics question read as a query for the data manager. */
export interface ParsedQuery {
  kind: 'query';
  type: QueryType;
  timeRange: TimeWindow;
  periodLabel?: string;
  filters: QueryFilters;
  aggregation?: AggregationLevel;
  focus?: MetricFocus;
  view?: 'sessions' | 'turns';
  limit?: number;
  topN?: number;
  followUp: boolean;
}

/** A request to search conversation text. */
export interface ParsedSearch {
  kind: 'search';
  text: string;
  timeRange: TimeWindow;
  periodLabel?: string;
  filters: QueryFilters;
  limit?: number;
  followUp: boolean;
}

export interface NotUnderstood {
  kind: 'unknown';
  reason: string;
}

export type ParsedRequest = ParsedQuery | ParsedSearch | NotUnderstood;

export interface ParseOptions {
  now: number;
  vocabulary: Vocabulary;
  /** The asking principal; "I", "me" and "my" mean this user when it is a known user. */
  principalId?: string;
  /** The previous request of this session, which a follow-up refines. */
  previous?: ParsedQuery | ParsedSearch;
}

const INTENTS: Array<{ type: QueryType; pattern: RegExp }> = [
  {
    type: 'strategic_insights',
    pattern:
      /\b(insights?|trends?|trending|what changed|what has changed|anomal\w*|unusual|notable|noteworthy|recommend\w*|shifts?|regressions?|spikes?)\b/,
  },
  { type: 'persona_usage', pattern: /\bpersonas?\b/ },
  { type: 'framework_analytics', pattern: /\bframeworks?\b/ },
  {
    type: 'engagement_patterns',
    pattern:
      /\b(engagement|engaged|busiest|busy|hours? of (?:the )?day|time of day|days? of (?:the )?week|weekdays?|weekends?|sessions? per (?:day|user)|returning|how often|usage patterns?|patterns?|when do|active users?)\b/,
  },
  {
    type: 'performance_metrics',
    pattern:
      /\b(latency|latencies|p50|p95|p99|percentiles?|median|slow\w*|fast\w*|response times?|performance|error rates?|errors?|failures?|tokens?|throughput|how long)\b/,
  },
  {
    type: 'conversation_history',
    pattern:
      /\b(history|recent|latest|conversations?|sessions?|chats?|transcripts?|turns?|messages?|what did (?:i|we) (?:ask|say|discuss))\b/,
  },
];

const FOCUS: Array<{ focus: MetricFocus; pattern: RegExp }> = [
  { focus: 'p99', pattern: /\bp99\b/ },
  { focus: 'p95', pattern: /\bp95\b/ },
  { focus: 'p50', pattern: /\b(p50|median)\b/ },
  { focus: 'errorRate', pattern: /\b(error rates?|errors?|failures?|failed|fail)\b/ },
  { focus: 'successRate', pattern: /\b(success(?: rate)?|succeed\w*|reliab\w*)\b/ },
  { focus: 'tokens', pattern: /\btokens?\b/ },
  { focus: 'throughput', pattern: /\b(throughput|volume)\b/ },
  { focus: 'latency', pattern: /\b(latency|latencies|slow\w*|fast\w*|response times?|how long)\b/ },
  { focus: 'feedback', pattern: /\b(feedback|ratings?|satisf\w*)\b/ },
  { focus: 'sessions', pattern: /\bsessions\b/ },
  { focus: 'turns', pattern: /\b(most|least|top|popular|often|usage|used|use)\b/ },
];

const AGGREGATION =
  /\b(?:(?:per|by|each|every|a) (day|week|month|session)|(daily|weekly|monthly)|(?:broken down|split) by (day|week|month|session))\b/;
const AGGREGATION_WORDS: Record<string, AggregationLevel> = {
  day: 'daily',
  daily: 'daily',
  week: 'weekly',
  weekly: 'weekly',
  month: 'monthly',
  monthly: 'monthly',
  session: 'session',
};

const FOLLOW_UP = /^(now|and|also|what about|how about|same|only|just|then|but|instead|ok(?:ay)?|now only)\b/;

const SEARCH_PATTERNS: RegExp[] = [
  /^(?:please )?(?:find|search(?: for)?|look(?:ing)? (?:for|up)|grep(?: for)?)(?: (?:all|the|my|any))?(?: (?:conversations?|chats?|sessions?|turns?|messages?|questions?))?(?: (?:about|mentioning|on|regarding|discussing|containing|that mention|which mention|where (?:we|i) (?:talked|discussed|asked) about|with))? (.+)$/,
  /^(?:show|list|get)(?: me)?(?: (?:all|the|my|any))? (?:conversations?|chats?|sessions?|turns?|messages?|questions?) (?:about|mentioning|regarding|discussing|containing|that mention) (.+)$/,
  /^(?:where|when) did (?:we|i) (?:talk|discuss|ask|chat|speak)(?: about)? (.+)$/,
  /^what did (?:we|i) (?:say|ask|discuss|decide) about (.+)$/,
  /^(?:conversations?|chats?|sessions?|turns?) (?:about|mentioning|regarding|discussing) (.+)$/,
];

function normalize(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[‘’]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/[?!.,;:]+(\s|$)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `team_topologies` matches "team topologies", "team-topologies" and "team_topologies". */
function namePattern(name: string): string {
  return name
    .toLowerCase()
    .split(/[-_\s]+/)
    .filter(Boolean)
    .map(escapeRegExp)
    .join('[-_\\s]+');
}

type Dimension = 'persona' | 'userId' | 'framework' | 'tool';

interface NameMatch {
  dimension: Dimension;
  name: string;
  matched: string;
}

/** Known names mentioned in `text`, longest first; a name is read once, as its first dimension. */
function findNames(text: string, vocabulary: Vocabulary, prefix = ''): NameMatch[] {
  const candidates: Array<{ dimension: Dimension; name: string }> = [
    ...vocabulary.personas.map((name) => ({ dimension: 'persona' as const, name })),
    ...vocabulary.users.map((name) => ({ dimension: 'userId' as const, name })),
    ...vocabulary.frameworks.map((name) => ({ dimension: 'framework' as const, name })),
    ...vocabulary.tools.map((name) => ({ dimension: 'tool' as const, name })),
  ].sort((a, b) => b.name.length - a.name.length);
  const found: NameMatch[] = [];
  let rest = text;
  for (const candidate of candidates) {
    const pattern = new RegExp(
      `(?<![\\p{L}\\p{N}_])${prefix}${namePattern(candidate.name)}(?:'s)?(?![\\p{L}\\p{N}_])`,
      'u',
    );
    const m = rest.match(pattern);
    if (!m) continue;
    if (found.some((f) => f.name === candidate.name)) continue;
    found.push({ ...candidate, matched: m[0] });
    rest = rest.replace(m[0], ' ');
  }
  return found;
}

function addFilter(filters: QueryFilters, dimension: Dimension, name: string): void {
  const current = filters[dimension];
  if (current === undefined) filters[dimension] = name;
  else filters[dimension] = [...new Set([...(Array.isArray(current) ? current : [current]), name])];
}

function strip(text: string, part: string): string {
  return text.replace(part, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * Reads a plain-English analytics question. Deterministic: the same text, time, vocabulary and
 * previous request always give the same result. See the package README for the phrases read.
 */
export function parseChatQuery(input: string, options: ParseOptions): ParsedRequest {
  const original = normalize(input);
  if (!/[\p{L}\p{N}]/u.test(original)) return { kind: 'unknown', reason: 'The question is empty.' };
  let text = original;

  const time = readTimePhrase(text, options.now);
  if (time) text = strip(text, time.matched);
  const timeRange: TimeWindow = time ? { from: time.from, to: time.to } : {};
  if (time && time.from === undefined) delete timeRange.from;
  if (time && time.to === undefined) delete timeRange.to;

  const followUpWord = FOLLOW_UP.test(text);

  const search = readSearch(text, options);
  if (search) {
    return {
      kind: 'search',
      text: search.text,
      timeRange: time ? timeRange : (options.previous?.timeRange ?? {}),
      ...(time
        ? { periodLabel: time.label }
        : options.previous?.periodLabel
          ? { periodLabel: options.previous.periodLabel }
          : {}),
      filters: search.filters,
      followUp: false,
    };
  }

  const intent = INTENTS.find((i) => i.pattern.test(text))?.type;

  let aggregation: AggregationLevel | undefined;
  const agg = text.match(AGGREGATION);
  if (agg) {
    aggregation = AGGREGATION_WORDS[(agg[1] ?? agg[2] ?? agg[3])!];
    text = strip(text, agg[0]);
  }

  const filters: QueryFilters = {};
  for (const match of findNames(text, options.vocabulary)) {
    addFilter(filters, match.dimension, match.name);
    text = strip(text, match.matched);
  }
  if (
    options.principalId &&
    options.vocabulary.users.includes(options.principalId) &&
    filters.userId === undefined &&
    /\b(i|me|my|mine)\b/.test(text)
  ) {
    filters.userId = options.principalId;
  }
  if (
    /\b(failed|failures only|only (?:the )?errors|errors only|with errors|that failed|unsuccessful)\b/.test(
      original,
    )
  ) {
    filters.outcome = 'error';
  }

  const focus = FOCUS.find((f) => f.pattern.test(original))?.focus;
  const count = text.match(/\b(?:last|latest|recent|top|first) (\d{1,3})\b/);
  const n = count ? Number(count[1]) : undefined;

  const previous = options.previous;
  const refinesPrevious =
    previous !== undefined &&
    (followUpWord ||
      (intent === undefined &&
        (time !== undefined || aggregation !== undefined || Object.keys(filters).length > 0)));

  if (refinesPrevious && previous) {
    const mergedFilters: QueryFilters = { ...previous.filters, ...filters };
    if (previous.kind === 'search' && intent === undefined) {
      return {
        ...previous,
        timeRange: time ? timeRange : previous.timeRange,
        ...(time ? { periodLabel: time.label } : {}),
        filters: mergedFilters,
        followUp: true,
      };
    }
    const base: ParsedQuery =
      previous.kind === 'query'
        ? previous
        : {
            kind: 'query',
            type: 'conversation_history',
            timeRange: previous.timeRange,
            filters: {},
            followUp: true,
          };
    const type = intent ?? base.type;
    const result: ParsedQuery = {
      kind: 'query',
      type,
      timeRange: time ? timeRange : base.timeRange,
      filters: mergedFilters,
      followUp: true,
    };
    const periodLabel = time ? time.label : base.periodLabel;
    if (periodLabel) result.periodLabel = periodLabel;
    const keptAggregation = aggregation ?? base.aggregation;
    if (keptAggregation) result.aggregation = keptAggregation;
    const keptFocus =
      intent === undefined || intent === base.type
        ? (focusFor(type, focus) ?? base.focus)
        : focusFor(type, focus);
    if (keptFocus) result.focus = keptFocus;
    if (type === 'conversation_history') result.view = viewOf(original) ?? base.view ?? 'sessions';
    if (n !== undefined) setCount(result, n);
    else {
      if (base.limit !== undefined && type === base.type) result.limit = base.limit;
      if (base.topN !== undefined && type === base.type) result.topN = base.topN;
    }
    return result;
  }

  const type = intent ?? impliedIntent(filters);
  if (!type) {
    return {
      kind: 'unknown',
      reason:
        time || aggregation
          ? 'I found a period but not what to measure.'
          : 'I could not tell what to look up.',
    };
  }
  const result: ParsedQuery = { kind: 'query', type, timeRange, filters, followUp: false };
  if (time) result.periodLabel = time.label;
  if (aggregation) result.aggregation = aggregation;
  const f = focusFor(type, focus);
  if (f) result.focus = f;
  if (type === 'conversation_history') result.view = viewOf(original) ?? 'sessions';
  if (n !== undefined) setCount(result, n);
  return result;
}

/** A question that only names a persona or framework asks how it is used. */
function impliedIntent(filters: QueryFilters): QueryType | undefined {
  if (filters.persona !== undefined) return 'persona_usage';
  if (filters.framework !== undefined) return 'framework_analytics';
  return undefined;
}

function focusFor(type: QueryType, focus: MetricFocus | undefined): MetricFocus | undefined {
  if (focus === undefined) return undefined;
  if (type === 'conversation_history' || type === 'strategic_insights') return undefined;
  if (type === 'performance_metrics' && (focus === 'turns' || focus === 'sessions')) return 'throughput';
  return focus;
}

function viewOf(text: string): 'sessions' | 'turns' | undefined {
  if (/\b(turns?|messages?|questions?|what did (?:i|we) (?:ask|say|discuss))\b/.test(text)) return 'turns';
  if (/\b(sessions?|conversations?|chats?)\b/.test(text)) return 'sessions';
  return undefined;
}

function setCount(query: ParsedQuery, n: number): void {
  const bounded = Math.max(1, Math.min(n, 100));
  if (query.type === 'conversation_history') query.limit = bounded;
  else query.topN = bounded;
}

function readSearch(
  text: string,
  options: ParseOptions,
): { text: string; filters: QueryFilters } | undefined {
  for (const pattern of SEARCH_PATTERNS) {
    const m = text.match(pattern);
    if (!m) continue;
    let terms = m[1]!;
    const filters: QueryFilters = {};
    // Inside a search, a name narrows only when introduced as "with/for/by/from NAME";
    // otherwise it is a word to look for.
    for (const match of findNames(terms, options.vocabulary, '(?:with|for|by|from) (?:the )?')) {
      addFilter(filters, match.dimension, match.name);
      terms = strip(terms, match.matched);
    }
    terms = terms
      .replace(/^(?:the|a|an) /, '')
      .replace(/\b(?:persona|user|framework)$/, '')
      .trim();
    if (!/[\p{L}\p{N}]/u.test(terms)) return undefined;
    return { text: terms, filters };
  }
  return undefined;
}
