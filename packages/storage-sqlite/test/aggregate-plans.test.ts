import {
  type AggregateSpecInput,
  AggregateSpecSchema,
  DAY_MS,
  type GroupKey,
  HOUR_MS,
  type Measure,
  normalizeTurnFilter,
  type Turn,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateTurns, dayPairPlan, rollupPlan, splitRange } from '../src/aggregate.js';
import { END_OF_TIME, rebuildWeeks } from '../src/rollups.js';
import { sessionPlanServes } from '../src/session-plan.js';
import { openConnection } from '../src/storage.js';
import { createTurnStore } from '../src/turns.js';
import { maybe, rawTurnArb, toTurns } from './turn-arbitrary.js';

// A Monday, so week and day-of-week buckets are exercised across a boundary within the span.
const START = Date.UTC(2026, 2, 1, 20);
const SPAN = 3 * DAY_MS;

const names = (pool: string[]) => fc.subarray(pool, { minLength: 0, maxLength: pool.length });
const turnArb = rawTurnArb({
  at: fc.oneof(
    fc.integer({ min: 0, max: SPAN - 1 }),
    // Many turns on hour and day boundaries, where an off-by-one in bucketing would show.
    fc.integer({ min: 0, max: 72 }).map((h) => h * HOUR_MS),
    fc.integer({ min: 1, max: 72 }).map((h) => h * HOUR_MS - 1),
  ),
  sessions: 5,
  personas: ['analyst', 'coach', 'writer'],
  frameworks: ['swot', 'okr', 'lean', 'porter'],
  conversations: ['c1', 'c2'],
  latencyMaxMs: 5000,
});

const ROLLUP_KEYS: GroupKey[] = ['persona', 'framework', 'tool', 'mcpServer', 'outcome'];
const TIME_KEYS: GroupKey[] = ['hour', 'day', 'week', 'month', 'hourOfDay', 'dayOfWeek'];
const OTHER_KEYS: GroupKey[] = ['session', 'user', 'conversation'];
const ADDITIVE: Measure[] = [
  'count',
  'errors',
  'errorRate',
  'latencyAvg',
  'latencyP50',
  'latencyP95',
  'latencyP99',
  'latencyCount',
  'tokensIn',
  'tokensOut',
  'feedbackAvg',
  'feedbackCount',
  'firstAt',
  'lastAt',
];

const instant = fc.oneof(
  fc.integer({ min: -HOUR_MS, max: SPAN + HOUR_MS }),
  fc.integer({ min: -1, max: 73 }).map((h) => h * HOUR_MS),
  fc.integer({ min: 0, max: 3 }).map((d) => d * DAY_MS + 4 * HOUR_MS),
);

const specArb: fc.Arbitrary<AggregateSpecInput> = fc
  .record({
    dim: maybe(fc.constantFrom(...ROLLUP_KEYS)),
    pair: fc.boolean(),
    time: fc.subarray(TIME_KEYS, { maxLength: 2 }),
    other: maybe(fc.constantFrom(...OTHER_KEYS)),
    useOther: fc.integer({ min: 0, max: 5 }),
    measures: fc.subarray([...ADDITIVE, 'sessions', 'users'] as Measure[], { minLength: 1 }),
    nonAdditive: fc.integer({ min: 0, max: 4 }),
    range: fc.tuple(maybe(instant), maybe(instant)),
    filterDim: maybe(fc.constantFrom('persona', 'framework', 'tool', 'outcome', 'mcpServer')),
    filterValues: fc.integer({ min: 1, max: 2 }),
    orderBy: maybe(fc.boolean()),
    offset: fc.integer({ min: 0, max: 2 }),
    limit: maybe(fc.integer({ min: 1, max: 5 })),
  })
  .map((r) => {
    const groupBy: GroupKey[] = [];
    if (r.dim) groupBy.push(r.dim);
    if (r.dim && r.pair && (r.dim === 'framework' || r.dim === 'tool' || r.dim === 'mcpServer'))
      groupBy.push(r.dim);
    for (const k of r.time) if (groupBy.length < 3) groupBy.push(k);
    if (r.other && r.useOther === 0 && groupBy.length < 3) groupBy.push(r.other);
    // Mostly additive measures, so the rollup plan is the one usually chosen.
    const measures = r.nonAdditive === 0 ? r.measures : r.measures.filter((m) => ADDITIVE.includes(m));
    if (measures.length === 0) measures.push('count');
    const [a, b] = r.range;
    const filter: Record<string, unknown> = {};
    if (a !== undefined && b !== undefined) {
      filter.from = Math.max(0, START + Math.min(a, b));
      filter.to = Math.max(0, START + Math.max(a, b));
    } else if (a !== undefined) filter.from = START + a;
    else if (b !== undefined) filter.to = START + b;
    const values: Record<string, string[]> = {
      persona: ['analyst', 'coach'],
      framework: ['okr', 'swot'],
      tool: ['calc', 'search'],
      mcpServer: ['m2', 'm1'],
    };
    if (r.filterDim === 'outcome') filter.outcome = 'error';
    else if (r.filterDim) filter[r.filterDim] = values[r.filterDim]!.slice(0, r.filterValues);
    const spec: AggregateSpecInput = { filter, groupBy, measures };
    if (r.orderBy !== undefined)
      spec.orderBy = { measure: measures[0]!, direction: r.orderBy ? 'asc' : 'desc' };
    spec.offset = r.offset;
    if (r.limit !== undefined) spec.limit = r.limit;
    return spec;
  });

describe('aggregate: rollup plan, base plan and the memory adapter agree', () => {
  it('splitRange keeps aligned interiors and unaligned edges', () => {
    expect(splitRange({ from: 10, to: 3 * HOUR_MS + 5 }, HOUR_MS)).toEqual({
      interior: { from: HOUR_MS, to: 3 * HOUR_MS },
      edges: [
        { from: 10, to: HOUR_MS },
        { from: 3 * HOUR_MS, to: 3 * HOUR_MS + 5 },
      ],
    });
    expect(splitRange({ from: 10, to: 20 }, HOUR_MS)).toEqual({ edges: [{ from: 10, to: 20 }] });
    expect(splitRange({}, HOUR_MS)).toEqual({ interior: { from: undefined, to: undefined }, edges: [] });
  });

  it('the planner picks rollups only where they are exact', () => {
    const plan = (spec: AggregateSpecInput) => {
      const s = AggregateSpecSchema.parse(spec);
      return rollupPlan(s, normalizeTurnFilter(s.filter));
    };
    expect(plan({ groupBy: ['persona', 'day'], measures: ['count', 'latencyP95'] })).toEqual({
      dim: 'persona',
    });
    expect(plan({ groupBy: ['week'], measures: ['count'], filter: { from: 5, to: 9e6 } })).toEqual({
      dim: '',
    });
    expect(plan({ filter: { framework: 'okr' }, measures: ['count'] })).toEqual({
      dim: 'framework',
      keys: ['okr'],
    });
    expect(plan({ filter: { persona: ['a', 'b'] }, groupBy: ['persona'], measures: ['count'] })).toEqual({
      dim: 'persona',
      keys: ['a', 'b'],
    });
    // Distinct counts from their own rollups, over whole days only.
    expect(plan({ groupBy: ['persona'], measures: ['sessions'] })).toEqual({
      dim: 'persona',
      distinct: 'persona',
    });
    expect(
      plan({ groupBy: ['hourOfDay'], measures: ['users'], filter: { from: DAY_MS, to: 9 * DAY_MS } }),
    ).toEqual({ dim: '', distinct: 'hourOfDay' });
    expect(plan({ groupBy: ['week'], measures: ['sessions'], filter: { framework: 'okr' } })).toEqual({
      dim: 'framework',
      keys: ['okr'],
      distinct: 'framework',
    });
    // Unaligned ends: whole days from the rollups, the partial days' entities checked against them.
    expect(
      plan({ groupBy: ['persona'], measures: ['sessions'], filter: { from: DAY_MS + HOUR_MS } }),
    ).toEqual({ dim: 'persona', distinct: 'persona' });
    expect(
      plan({ groupBy: ['persona'], measures: ['sessions'], filter: { from: HOUR_MS, to: DAY_MS + HOUR_MS } }),
    ).toBeUndefined();
    expect(
      plan({ groupBy: ['persona', 'day'], measures: ['sessions'], filter: { from: DAY_MS + HOUR_MS } }),
    ).toBeUndefined();
    expect(plan({ groupBy: ['hour'], measures: ['sessions'] })).toBeUndefined();
    // A session under both personas must count once.
    expect(plan({ measures: ['sessions'], filter: { persona: ['a', 'b'] } })).toBeUndefined();
    expect(plan({ groupBy: ['framework', 'framework'], measures: ['latencyP95'] })).toBeUndefined();
    expect(plan({ groupBy: ['dayOfWeek'], measures: ['users'] })).toBeUndefined();
    expect(plan({ groupBy: ['tool'], measures: ['sessions'] })).toBeUndefined();
    expect(plan({ groupBy: ['hourOfDay', 'persona'], measures: ['sessions'] })).toBeUndefined();
    // Framework pairs have rollups of their own.
    expect(plan({ groupBy: ['framework', 'framework', 'day'], measures: ['count'] })).toEqual({
      dim: 'frameworkPair',
    });
    expect(
      plan({ groupBy: ['framework', 'framework'], measures: ['count'], filter: { persona: 'a' } }),
    ).toBeUndefined();
    expect(plan({ groupBy: ['framework', 'framework'], measures: ['sessions'] })).toBeUndefined();
    // Not additive, or not a rollup dimension, or two dimensions at once: the base table.
    expect(plan({ groupBy: ['session'], measures: ['count'] })).toBeUndefined();
    expect(plan({ groupBy: ['persona', 'framework'], measures: ['count'] })).toBeUndefined();
    expect(plan({ filter: { framework: ['okr', 'swot'] }, measures: ['count'] })).toBeUndefined();
    expect(
      plan({ filter: { framework: 'okr' }, groupBy: ['framework'], measures: ['count'] }),
    ).toBeUndefined();
    expect(plan({ filter: { userId: 'u' }, measures: ['count'] })).toBeUndefined();
  });

  it('the planner reads (framework, persona) and (user, persona) from daily rollups only where exact', () => {
    const plan = (spec: AggregateSpecInput) => {
      const s = AggregateSpecSchema.parse(spec);
      return dayPairPlan(s, normalizeTurnFilter(s.filter));
    };
    expect(plan({ groupBy: ['framework', 'persona'], measures: ['count'] })).toEqual({
      dim: 'frameworkPersona',
      swapped: false,
    });
    expect(
      plan({ groupBy: ['persona', 'user'], measures: ['count', 'errorRate'], filter: { from: 7, to: 9 } }),
    ).toEqual({ dim: 'userPersona', swapped: true });
    // No histogram, no distinct counts, no filter but the range.
    expect(plan({ groupBy: ['framework', 'persona'], measures: ['latencyP95'] })).toBeUndefined();
    expect(plan({ groupBy: ['user', 'persona'], measures: ['sessions'] })).toBeUndefined();
    expect(
      plan({ groupBy: ['user', 'persona'], measures: ['count'], filter: { persona: 'a' } }),
    ).toBeUndefined();
    expect(plan({ groupBy: ['user', 'framework'], measures: ['count'] })).toBeUndefined();
    expect(plan({ groupBy: ['user', 'persona', 'day'], measures: ['count'] })).toBeUndefined();
  });

  it('on random turns, specs and retention cuts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnArb, { maxLength: 60 }),
        fc.array(specArb, { minLength: 1, maxLength: 6 }),
        maybe(fc.integer({ min: 0, max: SPAN })),
        async (raw, specs, cut) => {
          const turns = toTurns(raw, START);
          const conn = openConnection({ path: ':memory:' });
          const store = createTurnStore(conn);
          const memory = createMemoryStorage();
          try {
            // Two batches, so rollup rows are also merged by upsert, not only within one batch.
            const half = Math.floor(turns.length / 2);
            for (const part of [turns.slice(0, half), turns.slice(half)]) {
              await store.append(part);
              await memory.turns.append(part);
            }
            if (cut !== undefined) {
              expect(await store.deleteBefore(START + cut)).toBe(
                await memory.turns.deleteBefore(START + cut),
              );
            }
            for (const spec of specs) {
              const viaRollups = await aggregateTurns(conn, spec);
              const viaBase = await aggregateTurns(conn, spec, 'turns.aggregate', { plan: 'base' });
              const reference = await memory.turns.aggregate(spec);
              expect(viaRollups, JSON.stringify(spec)).toEqual(viaBase);
              expect(viaBase, JSON.stringify(spec)).toEqual(reference);
            }
          } finally {
            conn.db.close();
            await memory.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

/**
 * The distinct-count and session rollups, on data built to stress them: sessions and users that
 * come back after days away, batches appended out of time order (a new active day lands between
 * two known ones), retention cuts through a day, and ranges of whole days (what the distinct plan
 * serves) or not (what the session plan must still get right).
 */
describe('aggregate: distinct and session rollups agree with the memory adapter', () => {
  const DAY0 = Date.UTC(2026, 1, 23); // a Monday: weeks and a month boundary fall inside 20 days
  const DAYS = 20;
  const wideTurnArb = fc.record({
    day: fc.integer({ min: 0, max: DAYS - 1 }),
    ms: fc.oneof(fc.integer({ min: 0, max: DAY_MS - 1 }), fc.constantFrom(0, DAY_MS - 1, 13 * HOUR_MS)),
    session: fc.integer({ min: 0, max: 6 }),
    user: maybe(fc.constantFrom('u1', 'u2', 'u3', 'u4')),
    persona: maybe(fc.constantFrom('analyst', 'coach')),
    frameworks: names(['swot', 'okr', 'lean']),
    latencyMs: maybe(fc.integer({ min: 1, max: 5000 })),
    error: fc.boolean(),
    tokens: maybe(fc.record({ input: fc.nat(500), output: fc.nat(500) })),
  });
  const dayInstant = fc.oneof(
    fc.integer({ min: 0, max: DAYS + 1 }).map((d) => DAY0 + d * DAY_MS),
    fc.integer({ min: 0, max: DAYS * 24 }).map((h) => DAY0 + h * HOUR_MS + 7),
  );
  const distinctGroupBys: GroupKey[][] = [
    [],
    ['persona'],
    ['framework'],
    ['hourOfDay'],
    ['day'],
    ['week'],
    ['month'],
    ['persona', 'week'],
    ['day', 'hourOfDay'],
    ['framework', 'month'],
  ];
  const distinctSpecArb: fc.Arbitrary<AggregateSpecInput> = fc
    .record({
      groupBy: fc.constantFrom(...distinctGroupBys),
      measures: fc.subarray(['sessions', 'users', 'count', 'latencyP95'] as Measure[], { minLength: 1 }),
      distinct: fc.constantFrom('sessions', 'users') as fc.Arbitrary<Measure>,
      range: fc.tuple(maybe(dayInstant), maybe(dayInstant)),
      filter: fc.constantFrom(undefined, 'persona', 'framework'),
    })
    .map((r) => {
      const filter: Record<string, unknown> = {};
      const [a, b] = r.range;
      if (a !== undefined) filter.from = b === undefined ? a : Math.min(a, b);
      if (b !== undefined) filter.to = a === undefined ? b : Math.max(a, b);
      // Only filters the distinct plan serves: on the grouped dimension, or one framework alone.
      const dims = r.groupBy.filter((k) => k === 'persona' || k === 'framework' || k === 'hourOfDay');
      if (r.filter === 'persona' && dims[0] === 'persona') filter.persona = ['analyst', 'coach'];
      if (r.filter === 'persona' && dims.length === 0) filter.persona = 'coach';
      if (r.filter === 'framework' && dims.length === 0) filter.framework = 'okr';
      const measures = [...new Set([r.distinct, ...r.measures])];
      return { filter, groupBy: r.groupBy, measures };
    });
  const sessionSpecArb: fc.Arbitrary<AggregateSpecInput> = fc
    .record({
      measures: fc.subarray(['count', 'errors', 'firstAt', 'lastAt'] as Measure[], { minLength: 1 }),
      byUser: fc.boolean(),
      range: fc.tuple(maybe(dayInstant), maybe(dayInstant)),
      order: fc.constantFrom(undefined, 'lastAt-desc', 'count-desc', 'lastAt-asc', 'errors-desc'),
      offset: fc.integer({ min: 0, max: 3 }),
      limit: maybe(fc.integer({ min: 1, max: 4 })),
    })
    .map((r) => {
      const filter: Record<string, unknown> = {};
      const [a, b] = r.range;
      if (a !== undefined) filter.from = b === undefined ? a : Math.min(a, b);
      if (b !== undefined) filter.to = a === undefined ? b : Math.max(a, b);
      const spec: AggregateSpecInput = {
        filter,
        groupBy: r.byUser ? ['session', 'user'] : ['session'],
        measures: r.measures,
        offset: r.offset,
      };
      if (r.order) {
        const [measure, direction] = r.order.split('-') as [Measure, 'asc' | 'desc'];
        spec.orderBy = { measure, direction };
        if (!r.measures.includes(measure)) spec.measures = [...r.measures, measure];
      }
      if (r.limit !== undefined) spec.limit = r.limit;
      return spec;
    });

  const pairSpecArb: fc.Arbitrary<AggregateSpecInput> = fc
    .record({
      groupBy: fc.constantFrom<GroupKey[]>(
        ['framework', 'persona'],
        ['persona', 'framework'],
        ['user', 'persona'],
        ['persona', 'user'],
      ),
      measures: fc.subarray(
        [
          'count',
          'errors',
          'errorRate',
          'latencyAvg',
          'latencyCount',
          'tokensIn',
          'firstAt',
          'lastAt',
        ] as Measure[],
        { minLength: 1 },
      ),
      range: fc.tuple(maybe(dayInstant), maybe(dayInstant)),
      order: fc.boolean(),
      limit: maybe(fc.integer({ min: 1, max: 4 })),
    })
    .map((r) => {
      const filter: Record<string, unknown> = {};
      const [a, b] = r.range;
      if (a !== undefined) filter.from = b === undefined ? a : Math.min(a, b);
      if (b !== undefined) filter.to = a === undefined ? b : Math.max(a, b);
      const spec: AggregateSpecInput = { filter, groupBy: r.groupBy, measures: r.measures };
      if (r.order) spec.orderBy = { measure: r.measures[0]!, direction: 'desc' };
      if (r.limit !== undefined) spec.limit = r.limit;
      return spec;
    });

  it('counts the sessions of whole days once each, however many days they were active', async () => {
    const conn = openConnection({ path: ':memory:' });
    try {
      const turn = (id: string, sessionId: string, day: number, error = false): Turn => ({
        id,
        sessionId,
        at: DAY0 + day * DAY_MS + HOUR_MS,
        userInput: 'q',
        assistantResponse: 'a',
        frameworks: [],
        tools: [],
        mcpServers: [],
        outcome: error ? 'error' : 'ok',
      });
      await createTurnStore(conn).append([
        turn('a', 's1', 0),
        turn('b', 's1', 2, true),
        turn('c', 's2', 1),
        turn('d', 's3', 3),
      ]);
      const latest = (from: number, to: number) =>
        aggregateTurns(conn, {
          filter: { from: DAY0 + from * DAY_MS, to: DAY0 + to * DAY_MS },
          groupBy: ['session'],
          measures: ['count', 'errors', 'lastAt'],
          orderBy: { measure: 'lastAt', direction: 'desc' },
          limit: 1,
        });
      expect(await latest(0, 3)).toEqual({
        rows: [{ keys: ['s1'], values: { count: 2, errors: 1, lastAt: DAY0 + 2 * DAY_MS + HOUR_MS } }],
        totalGroups: 2,
      });
      expect((await latest(1, 4)).totalGroups).toBe(3);
      expect((await latest(1, 2)).totalGroups).toBe(1);
    } finally {
      conn.db.close();
    }
  });

  it('distinct counts over ranges with partial days at the ends', async () => {
    // Few days and many turns, so sessions and users are often active both in a partial day at
    // an end and in the whole days between.
    const denseTurnArb = fc.record({
      at: fc.integer({ min: 0, max: 4 * DAY_MS - 1 }),
      session: fc.integer({ min: 0, max: 5 }),
      user: maybe(fc.constantFrom('u1', 'u2', 'u3')),
      persona: maybe(fc.constantFrom('analyst', 'coach')),
      frameworks: names(['swot', 'okr', 'lean']),
    });
    const edgeInstant = fc.integer({ min: 0, max: 4 * 24 }).map((h) => DAY0 + h * HOUR_MS + 11);
    const edgeSpecArb = fc
      .record({
        groupBy: fc.constantFrom<GroupKey[]>([], ['persona'], ['framework'], ['hourOfDay']),
        measures: fc.subarray(['sessions', 'users', 'count'] as Measure[], { minLength: 1 }),
        range: fc.tuple(maybe(edgeInstant), maybe(edgeInstant)),
        filter: fc.constantFrom(undefined, 'persona', 'framework'),
      })
      .map((r): AggregateSpecInput => {
        const filter: Record<string, unknown> = {};
        const [a, b] = r.range;
        if (a !== undefined) filter.from = b === undefined ? a : Math.min(a, b);
        if (b !== undefined) filter.to = a === undefined ? b : Math.max(a, b);
        if (r.filter === 'persona' && r.groupBy[0] === 'persona') filter.persona = ['analyst', 'coach'];
        if (r.filter === 'persona' && r.groupBy.length === 0) filter.persona = 'coach';
        if (r.filter === 'framework' && r.groupBy.length === 0) filter.framework = 'okr';
        const measures = r.measures.includes('count') ? [...r.measures, 'sessions' as const] : r.measures;
        return { filter, groupBy: r.groupBy, measures: [...new Set(measures)] };
      });
    await fc.assert(
      fc.asyncProperty(
        fc.array(denseTurnArb, { minLength: 10, maxLength: 60 }),
        fc.array(edgeSpecArb, { minLength: 1, maxLength: 6 }),
        maybe(edgeInstant),
        async (raw, specs, cut) => {
          const turns: Turn[] = raw.map((r, i) => {
            const t: Turn = {
              id: `t${String(i).padStart(4, '0')}`,
              sessionId: `s${r.session}`,
              at: DAY0 + r.at,
              userInput: 'question',
              assistantResponse: 'answer',
              frameworks: r.frameworks,
              tools: [],
              mcpServers: [],
              outcome: 'ok',
            };
            if (r.user) t.userId = r.user;
            if (r.persona) t.persona = r.persona;
            return t;
          });
          const conn = openConnection({ path: ':memory:' });
          const store = createTurnStore(conn);
          const memory = createMemoryStorage();
          try {
            const half = Math.ceil(turns.length / 2);
            for (const part of [turns.slice(half), turns.slice(0, half)]) {
              await store.append(part);
              await memory.turns.append(part);
            }
            if (cut !== undefined) {
              expect(await store.deleteBefore(cut)).toBe(await memory.turns.deleteBefore(cut));
            }
            for (const spec of specs) {
              expect(await aggregateTurns(conn, spec), JSON.stringify(spec)).toEqual(
                await memory.turns.aggregate(spec),
              );
            }
          } finally {
            conn.db.close();
            await memory.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('on random turns in out-of-order batches, with retention cuts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(wideTurnArb, { maxLength: 80 }),
        fc.array(fc.oneof(distinctSpecArb, sessionSpecArb, pairSpecArb), { minLength: 1, maxLength: 8 }),
        maybe(
          fc.oneof(
            dayInstant,
            fc.integer({ min: 0, max: DAYS * DAY_MS }).map((x) => DAY0 + x),
          ),
        ),
        async (raw, specs, cut) => {
          const turns: Turn[] = raw.map((r, i) => {
            const t: Turn = {
              id: `t${String(i).padStart(4, '0')}`,
              sessionId: `s${r.session}`,
              at: DAY0 + r.day * DAY_MS + r.ms,
              userInput: 'question',
              assistantResponse: 'answer',
              frameworks: r.frameworks,
              tools: [],
              mcpServers: [],
              outcome: r.error ? 'error' : 'ok',
            };
            if (r.user) t.userId = r.user;
            if (r.persona) t.persona = r.persona;
            if (r.latencyMs !== undefined) t.latencyMs = r.latencyMs;
            if (r.tokens) t.tokens = r.tokens;
            return t;
          });
          const conn = openConnection({ path: ':memory:' });
          const store = createTurnStore(conn);
          const memory = createMemoryStorage();
          try {
            // Three batches in generated (not time) order: later batches fill gaps between days.
            const third = Math.ceil(turns.length / 3);
            for (let i = 0; i < turns.length; i += third) {
              const part = turns.slice(i, i + third);
              await store.append(part);
              await memory.turns.append(part);
            }
            if (cut !== undefined) {
              expect(await store.deleteBefore(cut)).toBe(await memory.turns.deleteBefore(cut));
            }
            for (const spec of specs) {
              const s = AggregateSpecSchema.parse(spec);
              const f = normalizeTurnFilter(s.filter);
              const aligned = [f.from, f.to].every((x) => x === undefined || x % DAY_MS === 0);
              if (s.groupBy[0] === 'session') expect(sessionPlanServes(s, f)).toBe(true);
              else if (
                s.groupBy.includes('user') ||
                (s.groupBy.includes('framework') && s.groupBy.includes('persona'))
              ) {
                expect(dayPairPlan(s, f), JSON.stringify(spec)).toBeDefined();
              } else {
                const wholeDay = splitRange(f, DAY_MS).interior !== undefined;
                const buckets = s.groupBy.some((k) => k === 'day' || k === 'week' || k === 'month');
                expect(rollupPlan(s, f)?.distinct !== undefined, JSON.stringify(spec)).toBe(
                  aligned || (wholeDay && !buckets),
                );
              }
              expect(await aggregateTurns(conn, spec), JSON.stringify(spec)).toEqual(
                await memory.turns.aggregate(spec),
              );
            }
          } finally {
            conn.db.close();
            await memory.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

/**
 * Weekly rollups: ranges of several weeks (whole weeks from `rollups_week`, the days around them
 * daily, hours and partial hours around those), appends out of time order, and retention cuts
 * through a week. Every plan must give what a scan of the turns gives; and what appends wrote
 * into the weekly rows must equal those rows summed again from the daily ones.
 */
describe('aggregate: weekly rollups agree with the base plan and the memory adapter', () => {
  const MONDAY = Date.UTC(2026, 1, 23);
  const WEEK = 7 * DAY_MS;
  const SPAN_W = 5 * WEEK;
  // Instants on and around week, day and hour boundaries, and anywhere.
  const weekInstant = fc.oneof(
    fc.integer({ min: 0, max: 5 }).map((w) => MONDAY + w * WEEK),
    fc.integer({ min: 0, max: 35 }).map((d) => MONDAY + d * DAY_MS),
    fc.integer({ min: 0, max: 35 * 24 }).map((h) => MONDAY + h * HOUR_MS),
    fc.integer({ min: 1, max: 5 }).map((w) => MONDAY + w * WEEK - 1),
    fc.integer({ min: 0, max: SPAN_W }).map((x) => MONDAY + x),
  );
  const weekTurnArb = rawTurnArb({
    at: fc.oneof(
      fc.integer({ min: 0, max: SPAN_W - 1 }),
      fc.integer({ min: 0, max: 4 }).map((w) => w * WEEK),
      fc.integer({ min: 1, max: 5 }).map((w) => w * WEEK - 1),
    ),
    sessions: 6,
    personas: ['analyst', 'coach'],
    frameworks: ['swot', 'okr', 'lean'],
    latencyMaxMs: 5000,
  });
  const weekSpecArb: fc.Arbitrary<AggregateSpecInput> = fc
    .record({
      groupBy: fc.constantFrom<GroupKey[]>(
        [],
        ['persona'],
        ['framework'],
        ['week'],
        ['week', 'persona'],
        ['outcome', 'week'],
        ['tool'],
        ['framework', 'framework'],
        ['framework', 'persona'],
        ['persona', 'framework'],
        ['month'],
      ),
      measures: fc.subarray([...ADDITIVE, 'sessions'] as Measure[], { minLength: 1 }),
      range: fc.tuple(maybe(weekInstant), maybe(weekInstant)),
      filter: fc.constantFrom(undefined, 'persona', 'outcome', 'framework'),
    })
    .map((r): AggregateSpecInput => {
      const filter: Record<string, unknown> = {};
      const [a, b] = r.range;
      if (a !== undefined) filter.from = b === undefined ? a : Math.min(a, b);
      if (b !== undefined) filter.to = a === undefined ? b : Math.max(a, b);
      if (r.filter === 'persona') filter.persona = ['analyst', 'coach'];
      if (r.filter === 'outcome') filter.outcome = 'error';
      if (r.filter === 'framework') filter.framework = 'okr';
      return { filter, groupBy: r.groupBy, measures: r.measures };
    });

  it('on random turns over five weeks, in out-of-order batches, with retention cuts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(weekTurnArb, { minLength: 1, maxLength: 80 }),
        fc.array(weekSpecArb, { minLength: 1, maxLength: 6 }),
        maybe(weekInstant),
        async (raw, specs, cut) => {
          const turns = toTurns(raw, MONDAY);
          const conn = openConnection({ path: ':memory:' });
          const store = createTurnStore(conn);
          const memory = createMemoryStorage();
          try {
            // Three batches in generated (not time) order: weekly rows are merged by upsert.
            const third = Math.ceil(turns.length / 3);
            for (let i = 0; i < turns.length; i += third) {
              const part = turns.slice(i, i + third);
              await store.append(part);
              await memory.turns.append(part);
            }
            if (cut !== undefined) {
              expect(await store.deleteBefore(cut)).toBe(await memory.turns.deleteBefore(cut));
            }
            const weeks = () => conn.db.prepare('SELECT * FROM rollups_week ORDER BY dim, week, key').all();
            const written = weeks();
            rebuildWeeks(conn.db, 0, END_OF_TIME);
            expect(weeks()).toEqual(written);
            for (const spec of specs) {
              const viaRollups = await aggregateTurns(conn, spec);
              const viaBase = await aggregateTurns(conn, spec, 'turns.aggregate', { plan: 'base' });
              expect(viaRollups, JSON.stringify(spec)).toEqual(viaBase);
              expect(viaBase, JSON.stringify(spec)).toEqual(await memory.turns.aggregate(spec));
            }
          } finally {
            conn.db.close();
            await memory.close();
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('reads whole weeks from the weekly rows', async () => {
    const conn = openConnection({ path: ':memory:' });
    try {
      const turn = (id: string, at: number, latencyMs: number): Turn => ({
        id,
        sessionId: 's',
        at,
        userInput: 'q',
        assistantResponse: 'a',
        frameworks: [],
        tools: [],
        mcpServers: [],
        outcome: 'ok',
        persona: 'analyst',
        latencyMs,
      });
      await createTurnStore(conn).append([
        turn('a', MONDAY + HOUR_MS, 100),
        turn('b', MONDAY + 3 * DAY_MS, 300),
        turn('c', MONDAY + WEEK + DAY_MS, 200),
      ]);
      const spec = {
        filter: { from: MONDAY, to: MONDAY + 2 * WEEK },
        groupBy: ['persona'] as GroupKey[],
        measures: ['count', 'latencyP50'] as Measure[],
      };
      expect((await aggregateTurns(conn, spec)).rows).toEqual([
        { keys: ['analyst'], values: { count: 3, latencyP50: expect.closeTo(200, -1) } },
      ]);
      // Without the daily rows of those weeks the answer is unchanged: it came from the weekly ones.
      conn.db.prepare('DELETE FROM rollups_day').run();
      expect((await aggregateTurns(conn, spec)).rows[0]?.values.count).toBe(3);
      // Grouped by day the weekly rows cannot serve, and the emptied daily rows show.
      expect((await aggregateTurns(conn, { ...spec, groupBy: ['day'] })).rows).toEqual([]);
    } finally {
      conn.db.close();
    }
  });
});
