import { type AggregateResult, type AggregateSpecInput, createLogger, type Turn } from '@convokit/core';
import fc from 'fast-check';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aggregateTurns } from '../src/aggregate.js';
import { Db, type PgSql } from '../src/db.js';
import { turn } from './fixtures.js';
import { referenceAggregate } from './reference-aggregate.js';
import { freshSchema, freshStorage, reportSkip, url } from './support.js';

reportSkip('rollups.int.test.ts');

const DAY = 86_400_000;
const HOUR = 3_600_000;
// A Monday: windows of several ISO weeks around it.
const MON = Date.UTC(2026, 2, 2);
const END = 8.64e15;

/** Every figure equal (sums to 9 digits: rollups add in another order than a scan). */
function expectSame(got: AggregateResult, want: AggregateResult): void {
  expect(got.totalGroups).toBe(want.totalGroups);
  expect(got.rows.map((r) => r.keys)).toEqual(want.rows.map((r) => r.keys));
  got.rows.forEach((row, i) => {
    for (const [m, v] of Object.entries(want.rows[i]!.values)) {
      if (v === null) expect(row.values[m as never], m).toBeNull();
      else expect(row.values[m as never], m).toBeCloseTo(v, 9);
    }
  });
}

describe.skipIf(!url)('schema-4 rollups (postgres)', () => {
  const schema = freshSchema();
  let ctx: ReturnType<typeof freshStorage>;
  let db: Db;
  beforeAll(async () => {
    ctx = freshStorage({ schema });
    await ctx.storage.migrate();
    // A second handle on the same schema, to ask for the plain GROUP BY scan of the turns.
    db = new Db({
      makeSql: () =>
        postgres(url!, {
          max: 2,
          onnotice: () => {},
          types: {
            int8: {
              to: 20,
              from: [20],
              serialize: (x: number) => String(x),
              parse: (x: string) => Number(x),
            },
          },
        } as never) as unknown as PgSql,
      schema,
      S: `"${schema}"`,
      clock: { now: () => Date.now() },
      log: createLogger('test', undefined),
      server: { host: '127.0.0.1', port: 5432 } as never,
      deadlineMs: 60_000,
    });
  });
  afterAll(async () => {
    db.markClosed();
    await db.end(1);
    await ctx.drop();
  });

  test('histograms by day and week, first-appearance distinct counts and session totals equal a GROUP BY scan', async () => {
    const turnArb = fc.record({
      at: fc.oneof(
        fc.integer({ min: MON - 16 * DAY, max: MON + 16 * DAY }),
        // Sessions and users coming back on nearby days.
        fc.integer({ min: -3, max: 3 }).map((d) => MON + d * DAY + 10 * HOUR),
      ),
      persona: fc.option(fc.constantFrom('p', 'Q'), { nil: undefined }),
      userId: fc.option(fc.constantFrom('u1', 'u2', 'u3', 'u4'), { nil: undefined }),
      sessionId: fc.constantFrom('s1', 's2', 's3', 's4', 's5', 's6'),
      frameworks: fc.uniqueArray(fc.constantFrom('a', 'B', 'c'), { maxLength: 2 }),
      latencyMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
    });
    const dayBound = fc.integer({ min: -17, max: 17 }).map((d) => MON + d * DAY);
    const window = fc
      .tuple(fc.option(dayBound, { nil: undefined }), fc.option(dayBound, { nil: undefined }))
      .map(([a, b]) =>
        a !== undefined && b !== undefined && a > b ? { from: b, to: a } : { from: a, to: b },
      )
      .map((w) => Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)));
    const shape = fc.constantFrom<Omit<AggregateSpecInput, 'filter'>[]>(
      [{ groupBy: ['persona'], measures: ['count', 'sessions', 'users', 'latencyP95', 'lastAt'] }],
      [{ groupBy: ['framework'], measures: ['sessions', 'latencyP50', 'latencyP99'] }],
      [{ groupBy: ['week', 'persona'], measures: ['count', 'latencyP95', 'users', 'sessions'] }],
      [{ groupBy: ['day'], measures: ['sessions', 'users', 'latencyP50'] }],
      [{ groupBy: ['month'], measures: ['sessions', 'users', 'latencyP99'] }],
      [{ groupBy: ['hourOfDay'], measures: ['count', 'sessions', 'users'] }],
      [{ groupBy: [], measures: ['sessions', 'users', 'latencyP95'] }],
      [
        {
          groupBy: ['session'],
          measures: ['count', 'firstAt', 'lastAt'],
          orderBy: { measure: 'lastAt', direction: 'desc' },
          limit: 2,
          offset: 1,
        },
      ],
      [
        {
          groupBy: ['session'],
          measures: ['lastAt', 'count', 'firstAt'],
          orderBy: { measure: 'firstAt', direction: 'asc' },
          limit: 3,
        },
      ],
      [{ groupBy: ['session'], measures: ['count', 'firstAt'] }],
    );
    const extra = fc.constantFrom(
      {},
      { persona: 'p' },
      { framework: 'B' },
      // Several keys of a multi-valued dimension fold into one group: a member counts once.
      { persona: ['p', 'Q'] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(turnArb, { maxLength: 15 }), { minLength: 1, maxLength: 3 }),
        window,
        shape,
        extra,
        fc.option(fc.integer({ min: MON - 17 * DAY, max: MON + 17 * DAY }), { nil: undefined }),
        async (batches, w, [s], dims, cut) => {
          await ctx.storage.turns.deleteBefore(END);
          // Batches in any time order: a new member day may fall before days already stored.
          let stored: Turn[] = [];
          for (const batch of batches) {
            const turns = batch.map((t) => turn(t));
            await ctx.storage.turns.append(turns);
            stored = [...stored, ...turns];
          }
          if (cut !== undefined) {
            await ctx.storage.turns.deleteBefore(cut);
            stored = stored.filter((t) => t.at >= cut);
          }
          const filter = s!.groupBy?.includes('session') ? w : { ...w, ...dims };
          const spec = { ...s!, filter } as AggregateSpecInput;
          const got = await ctx.storage.turns.aggregate(spec);
          expectSame(got, await aggregateTurns(db, spec, { plan: 'base' }));
          expectSame(got, referenceAggregate(stored, spec as never));
        },
      ),
      { numRuns: 120 },
    );
  });
  test('appends in any order, overlapping stored member days: member rows and distinct_days equal a rebuild from the turns', async () => {
    const S = `"${schema}"`;
    const turnArb = fc.record({
      at: fc
        .integer({ min: -3, max: 3 })
        .chain((d) => fc.integer({ min: 0, max: DAY - 1 }).map((ms) => MON + d * DAY + ms)),
      persona: fc.option(fc.constantFrom('p', 'Q'), { nil: undefined }),
      userId: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
      sessionId: fc.constantFrom('s1', 's2', 's3'),
      frameworks: fc.uniqueArray(fc.constantFrom('a', 'B'), { maxLength: 2 }),
      tools: fc.uniqueArray(fc.constantFrom('t1', 't2'), { maxLength: 1 }),
    });
    // What the member rows and distinct_days hold when built from the stored turns at once.
    const members = `SELECT dim, kind::text AS kind, key, member, day FROM ${S}.rollup_members ORDER BY 1, 2, 3, 4, 5`;
    const distinct = `SELECT dim, kind::text AS kind, day, key, prev, n FROM ${S}.distinct_days WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5`;
    const rebuiltDistinct = `SELECT dim, kind::text AS kind, day, key, prev, count(*)::bigint AS n FROM (
        SELECT dim, kind, key, day, coalesce(lag(day) OVER (PARTITION BY dim, kind, key, member ORDER BY day), -1) AS prev
        FROM ${S}.rollup_members) m GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(turnArb, { maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        async (batches) => {
          await ctx.storage.turns.deleteBefore(END);
          const stored: Turn[] = [];
          for (const batch of batches) {
            const turns = batch.map((t) => turn(t));
            await ctx.storage.turns.append(turns);
            stored.push(...turns);
          }
          // The member rows by hand: per dimension value, the sessions ('s') and users ('u') of each day.
          const want = new Set<string>();
          for (const t of stored) {
            const day = t.at - (t.at % DAY);
            const hour = String(Math.floor((t.at % DAY) / HOUR));
            const withUsers: [string, string][] = [
              ['', ''],
              ['persona', t.persona ?? ''],
              ['hourOfDay', hour],
            ];
            const sessionOnly: [string, string][] = [
              ...t.frameworks.map((n): [string, string] => ['framework', n]),
              ...t.tools.map((n): [string, string] => ['tool', n]),
            ];
            for (const [dim, key] of [...withUsers, ...sessionOnly])
              want.add(JSON.stringify([dim, 's', key, t.sessionId, day]));
            if (t.userId !== undefined)
              for (const [dim, key] of withUsers) want.add(JSON.stringify([dim, 'u', key, t.userId, day]));
          }
          const rows = await db.read('test', (sql) =>
            sql.unsafe<{ dim: string; kind: string; key: string; member: string; day: number }[]>(members),
          );
          expect(new Set(rows.map((r) => JSON.stringify([r.dim, r.kind, r.key, r.member, r.day])))).toEqual(
            want,
          );
          const got = await db.read('test', (sql) => sql.unsafe(distinct));
          const rebuilt = await db.read('test', (sql) => sql.unsafe(rebuiltDistinct));
          expect(got.map((r) => ({ ...r }))).toEqual(rebuilt.map((r) => ({ ...r })));
        },
      ),
      { numRuns: 60 },
    );
  });
  test('retention: a member whose only turns on the cut day went is counted from its next day', async () => {
    await ctx.storage.turns.deleteBefore(END);
    const D0 = MON + 7 * DAY;
    await ctx.storage.turns.append([
      turn({ at: D0 + HOUR, sessionId: 'a', userId: 'u1', persona: 'p' }),
      turn({ at: D0 + 3 * HOUR, sessionId: 'b', userId: 'u2', persona: 'p' }),
      turn({ at: D0 - DAY, sessionId: 'b', userId: 'u2', persona: 'p' }),
    ]);
    // Appended later, on a later day: its prev is the cut day.
    await ctx.storage.turns.append([turn({ at: D0 + 2 * DAY, sessionId: 'a', userId: 'u1', persona: 'p' })]);
    await ctx.storage.turns.deleteBefore(D0 + 2 * HOUR);
    const spec = (from: number) => ({
      filter: { from, to: D0 + 3 * DAY },
      groupBy: ['persona'],
      measures: ['count', 'sessions', 'users'],
    });
    // a: D0 + 2d only now; b: D0 + 3h.
    for (const from of [D0 - 2 * DAY, D0, D0 + DAY, D0 + 2 * DAY]) {
      const want = from <= D0 ? { count: 2, sessions: 2, users: 2 } : { count: 1, sessions: 1, users: 1 };
      const got = await ctx.storage.turns.aggregate(spec(from) as never);
      expect(got.rows).toEqual([{ keys: ['p'], values: want }]);
    }
    const byDay = await ctx.storage.turns.aggregate({
      filter: { from: D0, to: D0 + 3 * DAY },
      groupBy: ['day'],
      measures: ['sessions', 'users'],
    });
    expect(byDay.rows).toEqual([
      { keys: [D0], values: { sessions: 1, users: 1 } },
      { keys: [D0 + 2 * DAY], values: { sessions: 1, users: 1 } },
    ]);
  });
  test('sessions in a window: the count by first day (session_first_days) equals a reading of the turns, any millisecond window', async () => {
    const turnArb = fc.record({
      at: fc.oneof(
        fc.integer({ min: MON - 4 * DAY, max: MON + 4 * DAY }),
        fc.integer({ min: -4, max: 4 }).map((d) => MON + d * DAY),
      ),
      sessionId: fc.constantFrom('s1', 's2', 's3', 's4', 's5', 's6', 's7'),
    });
    const bound = fc.oneof(
      fc.integer({ min: -5, max: 5 }).map((d) => MON + d * DAY),
      fc.integer({ min: MON - 5 * DAY, max: MON + 5 * DAY }),
    );
    const window = fc
      .tuple(fc.option(bound, { nil: undefined }), fc.option(bound, { nil: undefined }))
      .map(([a, b]) =>
        a !== undefined && b !== undefined && a > b ? { from: b, to: a } : { from: a, to: b },
      )
      .map((w) => Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)));
    const page = fc.constantFrom(
      { orderBy: { measure: 'lastAt', direction: 'desc' }, limit: 2 },
      { orderBy: { measure: 'firstAt', direction: 'asc' }, limit: 1, offset: 1 },
      {},
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(turnArb, { maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        window,
        page,
        fc.option(fc.integer({ min: MON - 5 * DAY, max: MON + 5 * DAY }), { nil: undefined }),
        async (batches, w, p, cut) => {
          await ctx.storage.turns.deleteBefore(END);
          // Batches in any time order: a session's first turn may move to an earlier day.
          let stored: Turn[] = [];
          for (const batch of batches) {
            const turns = batch.map((t) => turn(t));
            await ctx.storage.turns.append(turns);
            stored = [...stored, ...turns];
          }
          if (cut !== undefined) {
            await ctx.storage.turns.deleteBefore(cut);
            stored = stored.filter((t) => t.at >= cut);
          }
          const spec = { filter: w, groupBy: ['session'], measures: ['count', 'firstAt', 'lastAt'], ...p };
          const got = await ctx.storage.turns.aggregate(spec as AggregateSpecInput);
          expectSame(got, referenceAggregate(stored, spec as never));
        },
      ),
      { numRuns: 120 },
    );
  });
  test('session_first_days: a session whose first turn moves to an earlier day moves there', async () => {
    await ctx.storage.turns.deleteBefore(END);
    await ctx.storage.turns.append([
      turn({ at: MON + 2 * DAY + HOUR, sessionId: 'a' }),
      turn({ at: MON + 2 * DAY + 2 * HOUR, sessionId: 'b' }),
    ]);
    // Session a now starts a day earlier; c is new on that day too.
    await ctx.storage.turns.append([
      turn({ at: MON + DAY + 5, sessionId: 'a' }),
      turn({ at: MON + DAY + 6, sessionId: 'c' }),
    ]);
    const days = await db.sql.unsafe(
      `SELECT day, n FROM "${schema}".session_first_days WHERE n <> 0 ORDER BY day`,
    );
    expect(days.map((r) => [r.day, r.n])).toEqual([
      [MON + DAY, 2],
      [MON + 2 * DAY, 1],
    ]);
    // Sessions wholly inside [MON, MON + 3d): a, b, c; inside [MON + 2d, MON + 3d): b only.
    const count = async (from: number, to: number) =>
      (
        await ctx.storage.turns.aggregate({
          filter: { from, to },
          groupBy: ['session'],
          measures: ['count'],
          limit: 1,
        })
      ).totalGroups;
    expect(await count(MON, MON + 3 * DAY)).toBe(3);
    // b inside; a is cut by the window's start and still counts (its turn inside the window).
    expect(await count(MON + 2 * DAY, MON + 3 * DAY)).toBe(2);
    // Only a's and c's first turns, and a crosses the end: a and c, as groups of their turns inside.
    expect(await count(MON + DAY, MON + 2 * DAY)).toBe(2);
  });
  test('(framework, persona) and framework pairs from the daily pair rows equal a GROUP BY scan, any window', async () => {
    const turnArb = fc.record({
      at: fc.integer({ min: MON - 4 * DAY, max: MON + 4 * DAY }),
      persona: fc.option(fc.constantFrom('p', 'Q'), { nil: undefined }),
      sessionId: fc.constantFrom('s1', 's2', 's3'),
      frameworks: fc.uniqueArray(fc.constantFrom('a', 'B', 'c', 'é'), { maxLength: 3 }),
      latencyMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
      tokens: fc.option(fc.record({ input: fc.nat(100), output: fc.nat(100) }), { nil: undefined }),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
      feedback: fc.option(fc.constantFrom(-1, 0, 0.5, 1), { nil: undefined }),
    });
    const bound = fc.oneof(
      fc.integer({ min: -5, max: 5 }).map((d) => MON + d * DAY),
      fc.integer({ min: MON - 5 * DAY, max: MON + 5 * DAY }),
    );
    const window = fc
      .tuple(fc.option(bound, { nil: undefined }), fc.option(bound, { nil: undefined }))
      .map(([a, b]) =>
        a !== undefined && b !== undefined && a > b ? { from: b, to: a } : { from: a, to: b },
      )
      .map((w) => Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)));
    const measures = fc.subarray(
      ['count', 'errors', 'errorRate', 'latencyAvg', 'tokensIn', 'feedbackAvg', 'firstAt', 'lastAt'] as const,
      { minLength: 1 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(turnArb, { maxLength: 15 }), { minLength: 1, maxLength: 3 }),
        window,
        fc.constantFrom(['framework', 'persona'], ['framework', 'framework']),
        measures,
        fc.option(fc.integer({ min: MON - 5 * DAY, max: MON + 5 * DAY }), { nil: undefined }),
        async (batches, w, groupBy, ms, cut) => {
          await ctx.storage.turns.deleteBefore(END);
          let stored: Turn[] = [];
          for (const batch of batches) {
            const turns = batch.map((t) => turn(t));
            await ctx.storage.turns.append(turns);
            stored = [...stored, ...turns];
          }
          if (cut !== undefined) {
            await ctx.storage.turns.deleteBefore(cut);
            stored = stored.filter((t) => t.at >= cut);
          }
          const spec = {
            filter: w,
            groupBy: [...groupBy],
            measures: [...ms],
            orderBy: { measure: ms[0], direction: 'desc' },
          } as AggregateSpecInput;
          const got = await ctx.storage.turns.aggregate(spec);
          expectSame(got, await aggregateTurns(db, spec, { plan: 'base' }));
          expectSame(got, referenceAggregate(stored, spec as never));
        },
      ),
      { numRuns: 100 },
    );
  });
});
