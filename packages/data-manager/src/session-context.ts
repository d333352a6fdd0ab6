import type { Measure, Turn, TurnStore } from '@convokit/core';

export interface SessionContext {
  sessionId: string;
  turns: number;
  errors: number;
  /** errors / turns. */
  errorRate: number;
  firstAt: number;
  lastAt: number;
  /** lastAt - firstAt. */
  durationMs: number;
  /** Distinct user ids of the session's turns, ascending. */
  users: string[];
  /** Most turns first, ties by name; turns without a persona left out. */
  personas: Array<{ persona: string; turns: number }>;
  frameworks: Array<{ framework: string; turns: number }>;
  tools: Array<{ tool: string; turns: number }>;
  latency: { count: number; avg: number | null; p50: number | null; p95: number | null };
  tokens: { input: number; output: number };
  feedback: { count: number; avg: number | null };
  /** The latest turns, newest first. */
  recentTurns: Turn[];
}

const MEASURES: Measure[] = [
  'count',
  'errors',
  'errorRate',
  'firstAt',
  'lastAt',
  'latencyCount',
  'latencyAvg',
  'latencyP50',
  'latencyP95',
  'tokensIn',
  'tokensOut',
  'feedbackAvg',
  'feedbackCount',
];

/** A summary of every stored turn of one session (no period); undefined when it has none. */
export async function sessionContext(
  turns: TurnStore,
  sessionId: string,
  recent: number,
): Promise<SessionContext | undefined> {
  const filter = { sessionId };
  const byCount = { measure: 'count', direction: 'desc' } as const;
  const [totals, personas, frameworks, tools, users, latest] = await Promise.all([
    turns.aggregate({ filter, measures: MEASURES }),
    turns.aggregate({ filter, groupBy: ['persona'], measures: ['count'], orderBy: byCount }),
    turns.aggregate({ filter, groupBy: ['framework'], measures: ['count'], orderBy: byCount }),
    turns.aggregate({ filter, groupBy: ['tool'], measures: ['count'], orderBy: byCount }),
    turns.aggregate({ filter, groupBy: ['user'], measures: ['count'] }),
    turns.list(filter, { limit: recent, order: 'desc' }),
  ]);
  const v = totals.rows[0]?.values ?? {};
  const count = v.count ?? 0;
  if (count === 0) return undefined;
  const named = (rows: typeof personas.rows) =>
    rows
      .filter((r) => r.keys[0] !== null)
      .map((r) => ({ name: String(r.keys[0]), turns: r.values.count ?? 0 }));
  return {
    sessionId,
    turns: count,
    errors: v.errors ?? 0,
    errorRate: v.errorRate ?? 0,
    firstAt: v.firstAt ?? 0,
    lastAt: v.lastAt ?? 0,
    durationMs: (v.lastAt ?? 0) - (v.firstAt ?? 0),
    users: users.rows.filter((r) => r.keys[0] !== null).map((r) => String(r.keys[0])),
    personas: named(personas.rows).map((x) => ({ persona: x.name, turns: x.turns })),
    frameworks: named(frameworks.rows).map((x) => ({ framework: x.name, turns: x.turns })),
    tools: named(tools.rows).map((x) => ({ tool: x.name, turns: x.turns })),
    latency: {
      count: v.latencyCount ?? 0,
      avg: v.latencyAvg ?? null,
      p50: v.latencyP50 ?? null,
      p95: v.latencyP95 ?? null,
    },
    tokens: { input: v.tokensIn ?? 0, output: v.tokensOut ?? 0 },
    feedback: { count: v.feedbackCount ?? 0, avg: v.feedbackAvg ?? null },
    recentTurns: latest.items,
  };
}
