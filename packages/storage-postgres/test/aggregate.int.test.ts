import { LatencyHistogram, type Turn } from '@convokit/core';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { turn } from './fixtures.js';
import { referenceAggregate } from './reference-aggregate.js';
import { freshStorage, reportSkip, url } from './support.js';

reportSkip('aggregate.int.test.ts');

// Sunday 2026-03-01 23:59:59.999 UTC, and the Monday that follows.
const SUN_LAST = Date.UTC(2026, 2, 1, 23, 59, 59, 999);
const MON = Date.UTC(2026, 2, 2);
const END = 8.64e15;

describe.skipIf(!url)('aggregate (postgres)', () => {
  let ctx: ReturnType<typeof freshStorage>;
  beforeAll(() => {
    ctx = freshStorage();
  });
  afterAll(() => ctx.drop());
  beforeEach(async () => {
    await ctx.storage.turns.deleteBefore(END);
  });

  test('UTC time buckets: ISO week starts Monday, dayOfWeek 0 = Monday', async () => {
    await ctx.storage.turns.append([
      turn({ at: SUN_LAST }),
      turn({ at: MON }),
      turn({ at: MON + 5 * 3_600_000 }),
    ]);
    const r = await ctx.storage.turns.aggregate({
      groupBy: ['week', 'dayOfWeek', 'month'],
      measures: ['count'],
    });
    expect(r.rows).toEqual([
      { keys: [Date.UTC(2026, 1, 23), 6, Date.UTC(2026, 2, 1)], values: { count: 1 } },
      { keys: [MON, 0, Date.UTC(2026, 2, 1)], values: { count: 2 } },
    ]);
    const h = await ctx.storage.turns.aggregate({
      groupBy: ['hourOfDay', 'day', 'hour'],
      measures: ['count'],
    });
    expect(h.rows.map((row) => row.keys)).toEqual([
      [0, MON, MON],
      [5, MON, MON + 5 * 3_600_000],
      [23, Date.UTC(2026, 2, 1), Date.UTC(2026, 2, 1, 23)],
    ]);
  });

  test('pairs are unordered distinct names, smaller first in byte order; null groups first', async () => {
    await ctx.storage.turns.append([
      turn({ at: MON, frameworks: ['a', 'B', 'c'], persona: 'p' }),
      turn({ at: MON + 1, frameworks: ['B', 'a'] }),
      turn({ at: MON + 2, frameworks: ['c'] }),
    ]);
    const pairs = await ctx.storage.turns.aggregate({
      groupBy: ['framework', 'framework'],
      measures: ['count'],
    });
    expect(pairs.rows).toEqual([
      { keys: ['B', 'a'], values: { count: 2 } },
      { keys: ['B', 'c'], values: { count: 1 } },
      { keys: ['a', 'c'], values: { count: 1 } },
    ]);
    const byPersona = await ctx.storage.turns.aggregate({
      groupBy: ['persona', 'framework'],
      measures: ['count'],
    });
    expect(byPersona.rows).toEqual([
      { keys: [null, 'B'], values: { count: 1 } },
      { keys: [null, 'a'], values: { count: 1 } },
      { keys: [null, 'c'], values: { count: 1 } },
      { keys: ['p', 'B'], values: { count: 1 } },
      { keys: ['p', 'a'], values: { count: 1 } },
      { keys: ['p', 'c'], values: { count: 1 } },
    ]);
  });

  test('measures by hand, percentiles from the core histogram, order and paging', async () => {
    await ctx.storage.turns.append([
      turn({
        at: MON,
        persona: 'x',
        latencyMs: 10,
        tokens: { input: 3, output: 4 },
        feedback: 1,
        userId: 'u1',
      }),
      turn({ at: MON + 10, persona: 'x', latencyMs: 20, outcome: 'error', sessionId: 's2', feedback: 0 }),
      turn({ at: MON + 20, persona: 'x', latencyMs: 30, userId: 'u1' }),
      turn({ at: MON + 30, persona: 'y', latencyMs: 1000, tokens: { input: 1, output: 0 } }),
      turn({ at: MON + 40, persona: 'z' }),
    ]);
    const r = await ctx.storage.turns.aggregate({
      groupBy: ['persona'],
      measures: [
        'count',
        'errors',
        'errorRate',
        'sessions',
        'users',
        'latencyAvg',
        'latencyP50',
        'latencyP99',
        'latencyCount',
        'tokensIn',
        'tokensOut',
        'feedbackAvg',
        'feedbackCount',
        'firstAt',
        'lastAt',
      ],
    });
    const hx = new LatencyHistogram().add(10).add(20).add(30);
    expect(r.totalGroups).toBe(3);
    expect(r.rows[0]).toEqual({
      keys: ['x'],
      values: {
        count: 3,
        errors: 1,
        errorRate: 1 / 3,
        sessions: 2,
        users: 1,
        latencyAvg: 20,
        latencyP50: hx.quantile(0.5),
        latencyP99: 30,
        latencyCount: 3,
        tokensIn: 3,
        tokensOut: 4,
        feedbackAvg: 0.5,
        feedbackCount: 2,
        firstAt: MON,
        lastAt: MON + 20,
      },
    });
    expect(r.rows[0]!.values.latencyP50).toBeCloseTo(20, -0.7); // within 1%
    expect(r.rows[2]!.values).toMatchObject({
      latencyAvg: null,
      latencyP50: null,
      latencyCount: 0,
      feedbackAvg: null,
    });
    const ordered = await ctx.storage.turns.aggregate({
      groupBy: ['persona'],
      measures: ['latencyAvg'],
      orderBy: { measure: 'latencyAvg', direction: 'desc' },
      offset: 1,
      limit: 5,
    });
    // y (1000) then x (20) then z (null, last); offset 1 drops y.
    expect(ordered).toEqual({
      rows: [
        { keys: ['x'], values: { latencyAvg: 20 } },
        { keys: ['z'], values: { latencyAvg: null } },
      ],
      totalGroups: 3,
    });
  });

  test('no keys: one row even when nothing matches; retention is reflected', async () => {
    await ctx.storage.turns.append([turn({ at: MON, latencyMs: 5 }), turn({ at: MON + 1000, latencyMs: 7 })]);
    expect(await ctx.storage.turns.deleteBefore(MON + 1)).toBe(1);
    const r = await ctx.storage.turns.aggregate({ measures: ['count', 'latencyP50', 'tokensIn', 'firstAt'] });
    expect(r).toEqual({
      rows: [{ keys: [], values: { count: 1, latencyP50: 7, tokensIn: 0, firstAt: MON + 1000 } }],
      totalGroups: 1,
    });
    const none = await ctx.storage.turns.aggregate({
      filter: { persona: 'nobody' },
      measures: ['count', 'errorRate', 'lastAt'],
    });
    expect(none.rows).toEqual([{ keys: [], values: { count: 0, errorRate: null, lastAt: null } }]);
  });

  test('matches a plain JS reading of the spec on random data', async () => {
    const names = fc.constantFrom('a', 'B', 'c', 'é', 'Z');
    const turnArb = fc.record({
      at: fc.integer({ min: MON - 40 * 86_400_000, max: MON + 40 * 86_400_000 }),
      persona: fc.option(fc.constantFrom('p', 'Q', 'r'), { nil: undefined }),
      userId: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
      sessionId: fc.constantFrom('s1', 's2', 's3'),
      frameworks: fc.uniqueArray(names, { maxLength: 4 }),
      tools: fc.uniqueArray(names, { maxLength: 2 }),
      latencyMs: fc.option(fc.double({ min: 0, max: 5000, noNaN: true }), { nil: undefined }),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
      feedback: fc.option(fc.constantFrom(-1, 0, 0.5, 1), { nil: undefined }),
    });
    const keys = fc.constantFrom(
      [],
      ['persona'],
      ['framework'],
      ['framework', 'framework'],
      ['tool', 'persona'],
      ['week', 'dayOfWeek'],
      ['month'],
      ['hourOfDay', 'user'],
      ['session', 'outcome'],
      ['framework', 'tool', 'framework'],
    ) as fc.Arbitrary<never[]>;
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnArb, { maxLength: 25 }),
        keys,
        fc.option(fc.constantFrom('B', 'c'), { nil: undefined }),
        async (partial, groupBy, framework) => {
          await ctx.storage.turns.deleteBefore(END);
          const turns: Turn[] = partial.map((t) => turn(t));
          await ctx.storage.turns.append(turns);
          const spec = {
            groupBy,
            filter: framework ? { framework } : {},
            measures: [
              'count',
              'sessions',
              'users',
              'latencyP50',
              'latencyP95',
              'latencyCount',
              'errorRate',
              'feedbackAvg',
              'firstAt',
            ] as never[],
          };
          const got = await ctx.storage.turns.aggregate(spec);
          const want = referenceAggregate(turns, spec);
          expect(got.totalGroups).toBe(want.totalGroups);
          expect(got.rows.map((r) => r.keys)).toEqual(want.rows.map((r) => r.keys));
          got.rows.forEach((row, i) => {
            for (const [m, v] of Object.entries(want.rows[i]!.values)) {
              if (v === null) expect(row.values[m as never], m).toBeNull();
              else expect(row.values[m as never], m).toBeCloseTo(v, 9);
            }
          });
        },
      ),
      { numRuns: 30 },
    );
  });
  test('rollup plans (whole hours and days, edges scanned) match a reading of the turns, after deleteBefore too', async () => {
    const HOUR = 3_600_000;
    const DAY = 86_400_000;
    const turnArb = fc.record({
      at: fc.integer({ min: MON - 3 * DAY, max: MON + 3 * DAY }),
      persona: fc.option(fc.constantFrom('p', 'Q'), { nil: undefined }),
      userId: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
      sessionId: fc.constantFrom('s1', 's2', 's3', 's4'),
      frameworks: fc.uniqueArray(fc.constantFrom('a', 'B', 'c'), { maxLength: 3 }),
      tools: fc.uniqueArray(fc.constantFrom('t1', 't2'), { maxLength: 2 }),
      latencyMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
      tokens: fc.option(fc.record({ input: fc.nat(100), output: fc.nat(100) }), { nil: undefined }),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
      feedback: fc.option(fc.constantFrom(-1, 0, 0.5, 1), { nil: undefined }),
    });
    // Mostly whole days and hours, which the rollups serve; sometimes any millisecond.
    const bound = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: -3, max: 3 }).map((d) => MON + d * DAY) },
      { weight: 2, arbitrary: fc.integer({ min: -72, max: 72 }).map((h) => MON + h * HOUR) },
      { weight: 1, arbitrary: fc.integer({ min: MON - 3 * DAY, max: MON + 3 * DAY }) },
    );
    const groupBy = fc.constantFrom(
      [],
      ['persona'],
      ['framework'],
      ['tool'],
      ['outcome', 'day'],
      ['day'],
      ['hour'],
      ['hourOfDay'],
      ['week', 'persona'],
      ['month', 'dayOfWeek'],
      ['session'],
      // The pair rows of the daily totals (schema 7).
      ['framework', 'persona'],
      ['framework', 'framework'],
      // Sessions by user (session_totals' user, schema 9) and (user, persona) totals.
      ['session', 'user'],
      ['user', 'session'],
      ['user', 'persona'],
      ['persona', 'user'],
    ) as fc.Arbitrary<never[]>;
    const filterDim = fc.oneof(
      { weight: 4, arbitrary: fc.constant({}) },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          { persona: 'p' },
          { framework: 'B' },
          { outcome: 'error' as const },
          { tool: ['t1', 't2'] as string[] },
        ),
      },
    );
    const additive = fc.subarray(
      [
        'count',
        'errors',
        'errorRate',
        'latencyAvg',
        'latencyP50',
        'latencyP95',
        'latencyCount',
        'tokensIn',
        'tokensOut',
        'feedbackAvg',
        'feedbackCount',
        'firstAt',
        'lastAt',
      ] as const,
      { minLength: 1 },
    );
    const measures = fc
      .tuple(additive, fc.subarray(['sessions', 'users'] as const), fc.boolean())
      .map(([a, d, withDistinct]) => (withDistinct ? [...a, ...d] : a));
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnArb, { maxLength: 30 }),
        fc.array(turnArb, { maxLength: 10 }),
        fc.option(bound, { nil: undefined }),
        fc.option(bound, { nil: undefined }),
        groupBy,
        filterDim,
        measures,
        fc.option(bound, { nil: undefined }),
        fc.boolean(),
        async (first, second, a, b, keys, dim, ms, cut, page) => {
          // A window needs from <= to.
          const [from, to] = a !== undefined && b !== undefined && a > b ? [b, a] : [a, b];
          await ctx.storage.turns.deleteBefore(END);
          let turns: Turn[] = first.map((t) => turn(t));
          const more: Turn[] = second.map((t) => turn(t));
          await ctx.storage.turns.append(turns);
          await ctx.storage.turns.append(more);
          turns = [...turns, ...more];
          if (cut !== undefined) {
            await ctx.storage.turns.deleteBefore(cut);
            turns = turns.filter((t) => t.at >= cut);
          }
          const spec = {
            groupBy: keys,
            filter: { ...dim, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) },
            measures: [...ms] as never[],
            ...(page
              ? { orderBy: { measure: ms[0]!, direction: 'desc' as const }, limit: 2, offset: 1 }
              : {}),
          };
          // Per-session totals over whole days (the session rollup), a page cut by SQL.
          const days = {
            ...(from !== undefined ? { from: from - (from % DAY) } : {}),
            ...(to !== undefined ? { to: to - (to % DAY) } : {}),
          };
          const bySession = {
            groupBy: ['session'] as never[],
            filter: days,
            measures: ['count', 'errors', 'tokensIn', 'firstAt', 'lastAt'] as never[],
            orderBy: { measure: page ? ('lastAt' as const) : ('count' as const), direction: 'desc' as const },
            limit: 2,
            offset: page ? 1 : 0,
          };
          const window = {
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
          };
          // The data manager's engagement and history calls: sessions by user over any window,
          // (user, persona) counts (from the totals less the turns outside when that reads
          // fewer), sessions with errors paged by lastAt, and names of a few sessions' turns.
          const manager = [
            {
              groupBy: ['session', 'user'] as never[],
              filter: window,
              measures: ['count', 'errors', 'firstAt', 'lastAt'] as never[],
            },
            {
              groupBy: ['user', 'persona'] as never[],
              filter: window,
              measures: ['count'] as never[],
              orderBy: { measure: 'count' as const, direction: 'desc' as const },
            },
            {
              groupBy: ['session'] as never[],
              filter: window,
              measures: ['count', 'errors', 'firstAt', 'lastAt'] as never[],
              orderBy: { measure: 'lastAt' as const, direction: 'desc' as const },
              limit: 2,
            },
            {
              groupBy: (page ? ['session', 'framework'] : ['framework', 'framework']) as never[],
              filter: { ...window, sessionId: ['s1', 's3'] },
              measures: ['count'] as never[],
            },
          ];
          for (const s of [spec, bySession, ...manager]) {
            const got = await ctx.storage.turns.aggregate(s);
            const want = referenceAggregate(turns, s);
            expect(got.totalGroups).toBe(want.totalGroups);
            expect(got.rows.map((r) => r.keys)).toEqual(want.rows.map((r) => r.keys));
            got.rows.forEach((row, i) => {
              for (const [m, v] of Object.entries(want.rows[i]!.values)) {
                if (v === null) expect(row.values[m as never], m).toBeNull();
                else expect(row.values[m as never], m).toBeCloseTo(v, 9);
              }
            });
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});
