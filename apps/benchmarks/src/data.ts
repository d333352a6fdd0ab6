import type { Context, ContextScope, JsonObject, Turn } from '@convokit/core';

/**
 * Seeded data shaped like a strategic-leadership assistant's history: a few personas with skewed
 * shares, frameworks that go with each persona, MCP tools, log-normal latencies and token counts,
 * a small error rate, and a daily and weekly rhythm. Everything comes from one seeded PRNG, so two
 * runs with the same seed measure the same data.
 */

/** mulberry32: tiny, fast, and good enough to shape benchmark data. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = next() * 2 - 1;
      v = next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    spare = v * m;
    return u * m;
  };
  return {
    next,
    int: (min: number, maxExclusive: number) => min + Math.floor(next() * (maxExclusive - min)),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T,
    /** Picks by weight; `weights` parallel to `list`. */
    weighted: <T>(list: readonly T[], cumulative: readonly number[]): T => {
      const r = next() * (cumulative[cumulative.length - 1] as number);
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((cumulative[mid] as number) > r) hi = mid;
        else lo = mid + 1;
      }
      return list[lo] as T;
    },
    /** Log-normal with the given median and shape. */
    logNormal: (median: number, sigma: number) => median * Math.exp(sigma * normal()),
    chance: (p: number) => next() < p,
  };
}
export type Random = ReturnType<typeof createRandom>;

function cumulative(weights: readonly number[]): number[] {
  let sum = 0;
  return weights.map((w) => {
    sum += w;
    return sum;
  });
}

export const PERSONAS = [
  'diego',
  'camille',
  'rachel',
  'alvaro',
  'martin',
  'marcus',
  'david',
  'sofia',
  'elena',
  'berny',
] as const;
const PERSONA_WEIGHTS = cumulative([30, 18, 12, 10, 9, 7, 5, 4, 3, 2]);

export const FRAMEWORKS = [
  'team-topologies',
  'okrs',
  'good-strategy-bad-strategy',
  'wardley-mapping',
  'cynefin',
  'porters-five-forces',
  'capital-allocation',
  'accelerate-dora',
  'crucial-conversations',
  'scaling-up',
  'blue-ocean',
  'jobs-to-be-done',
] as const;

/** Each persona leans on a few frameworks; the rest appear now and then. */
const PERSONA_FRAMEWORKS: Record<string, readonly string[]> = {
  diego: ['team-topologies', 'accelerate-dora', 'okrs'],
  camille: ['good-strategy-bad-strategy', 'wardley-mapping', 'capital-allocation'],
  rachel: ['jobs-to-be-done', 'crucial-conversations', 'team-topologies'],
  alvaro: ['capital-allocation', 'porters-five-forces', 'blue-ocean'],
  martin: ['wardley-mapping', 'cynefin', 'accelerate-dora'],
  marcus: ['scaling-up', 'okrs', 'jobs-to-be-done'],
  david: ['capital-allocation', 'okrs', 'porters-five-forces'],
  sofia: ['porters-five-forces', 'blue-ocean', 'good-strategy-bad-strategy'],
  elena: ['cynefin', 'crucial-conversations', 'okrs'],
  berny: ['accelerate-dora', 'team-topologies', 'cynefin'],
};

export const TOOLS = [
  ['sequential.think', 'sequential'],
  ['context7.docs', 'context7'],
  ['magic.component', 'magic'],
  ['playwright.check', 'playwright'],
  ['jira.search', 'jira'],
  ['github.review', 'github'],
  ['calendar.lookup', 'calendar'],
] as const;
const TOOL_WEIGHTS = cumulative([30, 20, 8, 6, 14, 12, 10]);

const ERROR_CODES = ['timeout', 'rate_limited', 'tool_error', 'upstream_5xx'] as const;

const SUBJECTS = [
  'the platform team',
  'our hiring plan',
  'the quarterly roadmap',
  'the migration to the new billing service',
  'vendor consolidation',
  'the design system rollout',
  'engineering onboarding',
  'incident response',
  'the budget for next year',
  'team structure across three offices',
  'the data platform',
  'technical debt in checkout',
  'the reorganisation of the mobile team',
  'our API strategy',
  'stakeholder alignment with product',
];
const ASKS = [
  'How should I think about',
  'Help me frame a decision on',
  'What are the risks in',
  'Draft talking points about',
  'Which options do we have for',
  'Give me a one-page strategy for',
  'How do other companies handle',
  'Summarise where we stand on',
];
const ANSWER_OPENERS = [
  'Start from the outcome you need:',
  'Three options stand out.',
  'The core problem is focus.',
  'Here is a short diagnosis.',
  'Look at it as a portfolio decision.',
];
const ANSWER_BODY = [
  'align the team boundaries with the flow of change',
  'measure lead time and change failure rate before and after',
  'name the one constraint that matters most this quarter',
  'separate reversible from irreversible decisions',
  'fund the platform as a product with its own roadmap',
  'agree on two objectives and at most four key results',
  'ask each stakeholder what they would stop doing',
  'run a small pilot with one team before the migration',
  'map the value chain and mark what is commodity',
  'keep the budget conversation tied to outcomes',
  'reduce cognitive load on the stream-aligned teams',
  'write down the trade-off and who owns it',
];
/** Search vocabulary with known frequencies: one rare term, a two-term pair, one common term. */
export const SEARCH_TERMS = {
  rare: 'kubernetes',
  rareRate: 0.0005,
  andPair: ['platform', 'migration'] as const,
  common: 'team',
};

export interface TurnData {
  turns: Turn[];
  sessions: string[];
  users: string[];
  from: number;
  to: number;
}

/** Data ends here, so time buckets and the 90-day window are the same in every run. */
export const DATA_END = Date.UTC(2026, 10, 1);
export const DAY = 86_400_000;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped, time-ordered id whose random part comes from the seeded PRNG. */
export function seededId(at: number, random: Random): string {
  let time = '';
  let t = at;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rest = '';
  for (let i = 0; i < 16; i++) rest += CROCKFORD[Math.floor(random.next() * 32)];
  return time + rest;
}

const HOUR_WEIGHTS = cumulative([
  1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 18, 12, 16, 18, 18, 16, 12, 8, 6, 5, 4, 3, 2,
]);
const HOURS = Array.from({ length: 24 }, (_, h) => h);

/**
 * `count` turns over `days` days ending at DATA_END, grouped in sessions (log-normal length,
 * about eight turns) by about one user per 400 turns. Sorted by time.
 */
export function generateTurns(count: number, options: { seed?: number; days?: number } = {}): TurnData {
  const random = createRandom(options.seed ?? 42);
  const days = options.days ?? 90;
  const from = DATA_END - days * DAY;
  const userCount = Math.max(5, Math.round(count / 400));
  const users = Array.from({ length: userCount }, (_, i) => `user-${i}`);
  const turns: Turn[] = [];
  const sessions: string[] = [];
  let sessionNo = 0;
  while (turns.length < count) {
    const sessionId = `s-${sessionNo++}`;
    sessions.push(sessionId);
    const userId = random.pick(users);
    // Weekends are quieter; working hours busier.
    let day = random.int(0, days);
    const weekday = new Date(from + day * DAY).getUTCDay();
    if ((weekday === 0 || weekday === 6) && random.chance(0.7)) day = (day + 2) % days;
    const hour = random.weighted(HOURS, HOUR_WEIGHTS);
    let at = from + day * DAY + hour * 3_600_000 + random.int(0, 3_600_000);
    const persona = random.weighted(PERSONAS, PERSONA_WEIGHTS);
    const length = Math.max(1, Math.min(60, Math.round(random.logNormal(6, 0.7))));
    for (let i = 0; i < length && turns.length < count; i++) {
      at += random.int(20_000, 300_000);
      if (at >= DATA_END) at = DATA_END - random.int(1, 3_600_000);
      turns.push(
        makeTurn(random, { sessionId, userId, at, persona: random.chance(0.9) ? persona : undefined }),
      );
    }
  }
  turns.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  return { turns, sessions, users, from, to: DATA_END };
}

function makeTurn(
  random: Random,
  base: { sessionId: string; userId: string; at: number; persona: string | undefined },
): Turn {
  const favourite = PERSONA_FRAMEWORKS[base.persona ?? 'diego'] ?? [];
  const frameworks = new Set<string>();
  const frameworkCount = random.weighted([0, 1, 2, 3], [40, 75, 93, 100]);
  for (let i = 0; i < frameworkCount; i++) {
    frameworks.add(random.chance(0.75) ? random.pick(favourite) : random.pick(FRAMEWORKS));
  }
  const tools = new Set<string>();
  const servers = new Set<string>();
  const toolCount = random.weighted([0, 1, 2], [55, 90, 100]);
  for (let i = 0; i < toolCount; i++) {
    const [tool, server] = random.weighted(TOOLS, TOOL_WEIGHTS);
    tools.add(tool);
    servers.add(server);
  }
  const error = random.chance(0.03);
  const subject = random.pick(SUBJECTS);
  let userInput = `${random.pick(ASKS)} ${subject}?`;
  if (random.chance(SEARCH_TERMS.rareRate)) userInput += ` We also run ${SEARCH_TERMS.rare} in two regions.`;
  if (random.chance(0.08)) userInput += ' The platform migration is on my mind.';
  else if (random.chance(0.06)) userInput += ' Keep the platform view in mind.';
  let assistantResponse = `${random.pick(ANSWER_OPENERS)} For ${subject}, ${random.pick(ANSWER_BODY)}; then ${random.pick(ANSWER_BODY)}.`;
  if (random.chance(0.3)) assistantResponse += ' Bring the team into the decision early.';
  if (random.chance(0.05)) assistantResponse += ' Plan the migration in small steps.';
  const latency = random.logNormal(error ? 4200 : 1800, 0.55);
  const turn: Turn = {
    id: seededId(base.at, random),
    sessionId: base.sessionId,
    userId: base.userId,
    at: base.at,
    userInput,
    assistantResponse,
    frameworks: [...frameworks],
    tools: [...tools],
    mcpServers: [...servers],
    latencyMs: Math.round(latency * 10) / 10,
    tokens: {
      input: Math.round(random.logNormal(600, 0.5)),
      output: error ? 0 : Math.round(random.logNormal(900, 0.6)),
    },
    outcome: error ? 'error' : 'ok',
  };
  if (base.persona) turn.persona = base.persona;
  if (error) turn.errorCode = random.pick(ERROR_CODES);
  if (random.chance(0.15)) turn.feedback = random.pick([-1, 1, 1, 1, 0.5]);
  return turn;
}

/** A context data object whose JSON is `bytes` long (default 1 KB), like a session's working state. */
export function contextData(random: Random, bytes = 1024): JsonObject {
  const data: JsonObject = {
    goal: `Decide on ${random.pick(SUBJECTS)}`,
    persona: random.pick(PERSONAS),
    frameworks: [random.pick(FRAMEWORKS), random.pick(FRAMEWORKS)],
    openQuestions: [random.pick(SUBJECTS), random.pick(SUBJECTS)],
    preferences: { detail: random.pick(['brief', 'full']), charts: random.chance(0.5), tz: 'Europe/Madrid' },
    step: random.int(1, 20),
    notes: '',
  };
  const size = JSON.stringify(data).length;
  data.notes = 'n'.repeat(Math.max(0, bytes - size));
  return data;
}

export const ONE_KB = contextData(createRandom(7), 1024);

/** A stored context as the store contract wants it (version 1, times and counters set). */
export function makeContext(
  id: string,
  data: JsonObject,
  at: number,
  extra: { scope?: ContextScope; ownerId?: string; sessionId?: string; expiresAt?: number } = {},
): Context {
  const context: Context = {
    id,
    scope: extra.scope ?? 'session',
    ownerId: extra.ownerId ?? 'user-1',
    sessionId: extra.sessionId ?? 's-1',
    data,
    metadata: {},
    version: 1,
    createdAt: at,
    updatedAt: at,
    accessCount: 0,
    lastAccessedAt: at,
  };
  if (extra.expiresAt !== undefined) context.expiresAt = extra.expiresAt;
  return context;
}

/** Sessions with at least 20 turns, so "the last 20" always reads a full page. */
export function longSessions(turns: readonly Turn[], limit = 512): string[] {
  const counts = new Map<string, number>();
  for (const t of turns) counts.set(t.sessionId, (counts.get(t.sessionId) ?? 0) + 1);
  return [...counts]
    .filter(([, n]) => n >= 20)
    .map(([id]) => id)
    .slice(0, limit);
}
