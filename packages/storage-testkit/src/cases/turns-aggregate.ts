import { type GroupKey, type Measure, MeasureSchema } from '@convokit/core';
import { expect } from 'vitest';
import { makeTurn } from '../fixtures/builders.js';
import {
  FIXTURE_GROUP_MEASURES,
  fixtureByPersona,
  fixtureFilters,
  fixtureGroups,
  fixtureTotals,
  fixtureTurns,
} from '../fixtures/turns.js';
import type { CaseContext } from '../types.js';
import { expectClose, expectRows } from './aggregate-check.js';
import { defineCases, tryMutate } from './define.js';

const ALL_MEASURES: Measure[] = [...MeasureSchema.options];
const t = (month: number, day: number, hour: number, minute: number) =>
  Date.UTC(2026, month - 1, day, hour, minute);

const groupCases: Record<string, (ctx: CaseContext) => Promise<void>> = {};
for (const { groupBy, rows } of fixtureGroups) {
  groupCases[`group by ${groupBy.join(' + ')}`] = async ({ turns }) => {
    await turns.append(fixtureTurns);
    const result = await turns.aggregate({ groupBy, measures: [...FIXTURE_GROUP_MEASURES] });
    expectRows(result, rows, FIXTURE_GROUP_MEASURES, `groupBy ${groupBy.join('+')}`);
    expect(result.totalGroups).toBe(rows.length);
  };
}

async function keysOf(ctx: CaseContext, groupBy: GroupKey[], measure: Measure, extra: object = {}) {
  const result = await ctx.turns.aggregate({ groupBy, measures: [measure], ...extra });
  return { keys: result.rows.map((row) => row.keys), totalGroups: result.totalGroups, rows: result.rows };
}

export const turnsAggregateCases = defineCases('turns', 'turns-aggregate', {
  'every measure over all turns (no groupBy)': async ({ turns }) => {
    await turns.append(fixtureTurns);
    const result = await turns.aggregate({ measures: ALL_MEASURES });
    expectRows(result, [fixtureTotals], ALL_MEASURES, 'totals');
    expect(result.totalGroups).toBe(1);
  },

  'every measure grouped by persona (null group first)': async ({ turns }) => {
    await turns.append(fixtureTurns);
    const result = await turns.aggregate({ groupBy: ['persona'], measures: ALL_MEASURES });
    expectRows(result, fixtureByPersona, ALL_MEASURES, 'groupBy persona');
    expect(result.totalGroups).toBe(3);
  },

  'each measure alone gives the same value as in a full request': async ({ turns }) => {
    await turns.append(fixtureTurns);
    for (const measure of ALL_MEASURES) {
      const result = await turns.aggregate({ groupBy: ['persona'], measures: [measure] });
      expectRows(result, fixtureByPersona, [measure], `persona, ${measure} alone`);
    }
  },

  ...groupCases,

  'string keys sort by UTF-16 code unit (case-sensitive), pairs too': async ({ turns }) => {
    await turns.append([
      makeTurn({ id: '1', persona: 'beta', frameworks: ['beta', 'Alpha'] }),
      makeTurn({ id: '2', persona: 'Alpha', frameworks: ['alpha', 'Beta'] }),
      makeTurn({ id: '3', persona: 'alpha' }),
      makeTurn({ id: '4', persona: '_x' }),
    ]);
    const personas = await turns.aggregate({ groupBy: ['persona'], measures: ['count'] });
    expect(personas.rows.map((row) => row.keys[0])).toEqual(['Alpha', '_x', 'alpha', 'beta']);
    const pairs = await turns.aggregate({ groupBy: ['framework', 'framework'], measures: ['count'] });
    expect(pairs.rows.map((row) => row.keys)).toEqual([
      ['Alpha', 'beta'],
      ['Beta', 'alpha'],
    ]);
  },

  'a multi-valued pair needs two distinct names in one turn': async ({ turns }) => {
    await turns.append([
      makeTurn({ id: 'one', frameworks: ['a'] }),
      makeTurn({ id: 'none' }),
      makeTurn({ id: 'two', frameworks: ['b', 'a'], tools: ['x', 'y'] }),
    ]);
    const frameworks = await turns.aggregate({ groupBy: ['framework', 'framework'], measures: ['count'] });
    expect(frameworks.rows).toEqual([{ keys: ['a', 'b'], values: { count: 1 } }]);
    const tools = await turns.aggregate({ groupBy: ['tool', 'tool'], measures: ['count'] });
    expect(tools.rows).toEqual([{ keys: ['x', 'y'], values: { count: 1 } }]);
  },

  'orderBy a measure, descending by default, ties by keys ascending': async (ctx) => {
    await ctx.turns.append(fixtureTurns);
    const byCount = await keysOf(ctx, ['persona'], 'count', { orderBy: { measure: 'count' } });
    expect(byCount.keys).toEqual([['analyst'], ['coach'], [null]]);
    expect(byCount.rows.map((row) => row.values.count)).toEqual([6, 5, 3]);
    const ties = await keysOf(ctx, ['dayOfWeek'], 'count', {
      orderBy: { measure: 'count', direction: 'asc' },
    });
    expect(ties.keys).toEqual([[5], [6], [0], [1], [2], [4]]);
    const tiesDesc = await keysOf(ctx, ['dayOfWeek'], 'count', {
      orderBy: { measure: 'count', direction: 'desc' },
    });
    expect(tiesDesc.keys).toEqual([[0], [1], [2], [4], [5], [6]]);
  },

  'orderBy puts null values last in both directions': async (ctx) => {
    await ctx.turns.append(fixtureTurns);
    const desc = await keysOf(ctx, ['dayOfWeek'], 'latencyAvg', { orderBy: { measure: 'latencyAvg' } });
    expect(desc.keys).toEqual([[0], [5], [1], [2], [4], [6]]);
    expectClose(desc.rows[0]?.values.latencyAvg, 1420 / 3, 'Monday latencyAvg');
    expect(desc.rows[5]?.values.latencyAvg).toBeNull();
    const asc = await keysOf(ctx, ['dayOfWeek'], 'latencyAvg', {
      orderBy: { measure: 'latencyAvg', direction: 'asc' },
    });
    expect(asc.keys).toEqual([[4], [2], [1], [5], [0], [6]]);
  },

  'offset and limit page the ordered rows; totalGroups counts them all': async (ctx) => {
    await ctx.turns.append(fixtureTurns);
    const middle = await keysOf(ctx, ['persona'], 'count', {
      orderBy: { measure: 'count' },
      offset: 1,
      limit: 1,
    });
    expect(middle.keys).toEqual([['coach']]);
    expect(middle.totalGroups).toBe(3);
    const firstTwo = await keysOf(ctx, ['session'], 'count', { limit: 2 });
    expect(firstTwo.keys).toEqual([['s1'], ['s2']]);
    expect(firstTwo.totalGroups).toBe(6);
    const tail = await keysOf(ctx, ['session'], 'count', { offset: 4 });
    expect(tail.keys).toEqual([['s5'], ['s6']]);
    const past = await keysOf(ctx, ['session'], 'count', { offset: 10 });
    expect(past.keys).toEqual([]);
    expect(past.totalGroups).toBe(6);
  },

  'no groupBy gives one row even when no turn matches': async ({ turns }) => {
    const empty = {
      count: 0,
      errors: 0,
      errorRate: null,
      sessions: 0,
      users: 0,
      latencyAvg: null,
      latencyP50: null,
      latencyP95: null,
      latencyP99: null,
      latencyCount: 0,
      tokensIn: 0,
      tokensOut: 0,
      feedbackAvg: null,
      feedbackCount: 0,
      firstAt: null,
      lastAt: null,
    };
    const onEmptyStore = await turns.aggregate({ measures: ALL_MEASURES });
    expect(onEmptyStore).toEqual({ rows: [{ keys: [], values: empty }], totalGroups: 1 });
    await turns.append(fixtureTurns);
    const noMatch = await turns.aggregate({ filter: { persona: 'nobody' }, measures: ALL_MEASURES });
    expect(noMatch).toEqual({ rows: [{ keys: [], values: empty }], totalGroups: 1 });
  },

  'a groupBy with no matching turns gives no rows': async ({ turns }) => {
    expect(await turns.aggregate({ groupBy: ['persona'], measures: ['count'] })).toEqual({
      rows: [],
      totalGroups: 0,
    });
    await turns.append(fixtureTurns);
    expect(
      await turns.aggregate({ groupBy: ['day'], filter: { from: t(5, 1, 0, 0) }, measures: ['count'] }),
    ).toEqual({ rows: [], totalGroups: 0 });
  },

  'the filter applies to aggregate (each field; lists mean any of)': async ({ turns }) => {
    await turns.append(fixtureTurns);
    for (const { name, filter, ids } of fixtureFilters) {
      const result = await turns.aggregate({ filter, measures: ['count'] });
      expect(result.rows[0]?.values.count, `count with filter ${name}`).toBe(ids.length);
    }
    const coachFrameworks = await turns.aggregate({
      filter: { persona: 'coach' },
      groupBy: ['framework'],
      measures: ['count', 'tokensIn'],
    });
    // coach turns: t03 okr, t04 -, t08 swot+okr, t10 pestel, t12 okr+pestel.
    expect(coachFrameworks.rows).toEqual([
      { keys: ['okr'], values: { count: 3, tokensIn: 38 } },
      { keys: ['pestel'], values: { count: 2, tokensIn: 30 } },
      { keys: ['swot'], values: { count: 1, tokensIn: 0 } },
    ]);
  },

  'a framework filter selects turns, not names: grouping still shows their other frameworks': async ({
    turns,
  }) => {
    await turns.append(fixtureTurns);
    const result = await turns.aggregate({
      filter: { framework: 'pestel' },
      groupBy: ['framework'],
      measures: ['count'],
    });
    // pestel turns: t05 pestel, t06 swot+pestel+okr, t10 pestel, t12 okr+pestel.
    expect(result.rows).toEqual([
      { keys: ['okr'], values: { count: 2 } },
      { keys: ['pestel'], values: { count: 4 } },
      { keys: ['swot'], values: { count: 1 } },
    ]);
  },

  'deleteBefore removes turns before the instant and aggregates follow': async ({ turns }) => {
    await turns.append(fixtureTurns);
    expect(await turns.deleteBefore(t(3, 2, 9, 0))).toBe(5); // t01..t05; t06 is exactly at the boundary
    expect(await turns.get('t05')).toBeUndefined();
    expect(await turns.get('t06')).toBeDefined();
    expect(await turns.count()).toBe(9);
    const measures: Measure[] = [
      'count',
      'errors',
      'sessions',
      'users',
      'tokensIn',
      'latencyAvg',
      'latencyP50',
      'firstAt',
    ];
    const totals = await turns.aggregate({ measures });
    expectRows(
      totals,
      [
        {
          keys: [],
          values: {
            count: 9,
            errors: 2,
            sessions: 6,
            users: 3,
            tokensIn: 210,
            latencyAvg: 2575 / 8,
            latencyP50: 150,
            firstAt: t(3, 2, 9, 0),
          },
          latencies: [300, 1000, 150, 250, 75, 120, 600, 80],
        },
      ],
      measures,
      'after deleteBefore',
    );
    const months = await turns.aggregate({ groupBy: ['month'], measures: ['count'] });
    expect(months.rows).toEqual([
      { keys: [t(3, 1, 0, 0)], values: { count: 8 } },
      { keys: [t(4, 1, 0, 0)], values: { count: 1 } },
    ]);
    expect(await turns.deleteBefore(t(3, 2, 9, 0))).toBe(0);
    expect(await turns.deleteBefore(t(12, 31, 0, 0))).toBe(9);
    expect((await turns.aggregate({ measures: ['count'] })).rows[0]?.values.count).toBe(0);
  },

  'aggregates are the same however the turns were batched': async ({ turns }) => {
    for (const turn of [...fixtureTurns].reverse()) await turns.append([turn]);
    const week = fixtureGroups.find((g) => g.groupBy.join() === 'week')!;
    expectRows(
      await turns.aggregate({ groupBy: ['week'], measures: [...FIXTURE_GROUP_MEASURES] }),
      week.rows,
      FIXTURE_GROUP_MEASURES,
      'week, one turn per batch',
    );
    expectRows(
      await turns.aggregate({ measures: ALL_MEASURES }),
      [fixtureTotals],
      ALL_MEASURES,
      'totals, one per batch',
    );
  },

  'time buckets split exactly at UTC boundaries (ISO weeks across years, epoch 0)': async ({ turns }) => {
    const sunday = Date.UTC(2026, 2, 8, 23, 59, 59, 999);
    const monday = Date.UTC(2026, 2, 9);
    const newYearsEve = Date.UTC(2026, 11, 31, 23, 59, 59, 999); // a Thursday
    const newYear = Date.UTC(2027, 0, 1); // a Friday, in the ISO week starting Monday 2026-12-28
    await turns.append([
      makeTurn({ id: 'b1', at: sunday }),
      makeTurn({ id: 'b2', at: monday }),
      makeTurn({ id: 'b3', at: newYearsEve }),
      makeTurn({ id: 'b4', at: newYear }),
      makeTurn({ id: 'b5', at: 0 }), // Thursday 1970-01-01: its week starts Monday 1969-12-29
    ]);
    const counts = async (key: GroupKey) =>
      (await turns.aggregate({ groupBy: [key], measures: ['count'] })).rows.map((row) => [
        row.keys[0],
        row.values.count,
      ]);
    expect(await counts('week')).toEqual([
      [-3 * 86_400_000, 1],
      [Date.UTC(2026, 2, 2), 1],
      [Date.UTC(2026, 2, 9), 1],
      [Date.UTC(2026, 11, 28), 2],
    ]);
    expect(await counts('month')).toEqual([
      [0, 1],
      [Date.UTC(2026, 2, 1), 2],
      [Date.UTC(2026, 11, 1), 1],
      [Date.UTC(2027, 0, 1), 1],
    ]);
    expect(await counts('day')).toEqual([
      [0, 1],
      [Date.UTC(2026, 2, 8), 1],
      [Date.UTC(2026, 2, 9), 1],
      [Date.UTC(2026, 11, 31), 1],
      [Date.UTC(2027, 0, 1), 1],
    ]);
    expect(await counts('hour')).toEqual([
      [0, 1],
      [Date.UTC(2026, 2, 8, 23), 1],
      [Date.UTC(2026, 2, 9), 1],
      [Date.UTC(2026, 11, 31, 23), 1],
      [Date.UTC(2027, 0, 1), 1],
    ]);
    expect(await counts('hourOfDay')).toEqual([
      [0, 3],
      [23, 2],
    ]);
    expect(await counts('dayOfWeek')).toEqual([
      [0, 1],
      [3, 2],
      [4, 1],
      [6, 1],
    ]);
  },

  'latencies of zero and below a microsecond fall in the zero bucket': async ({ turns }) => {
    const latencies = [0, 0.0005, 0, 7];
    await turns.append(latencies.map((latencyMs, i) => makeTurn({ id: `z${i}`, latencyMs })));
    const measures: Measure[] = ['latencyAvg', 'latencyP50', 'latencyP95', 'latencyP99', 'latencyCount'];
    expectRows(
      await turns.aggregate({ measures }),
      [
        {
          keys: [],
          values: { latencyAvg: 7.0005 / 4, latencyP50: 0, latencyP95: 7, latencyP99: 7, latencyCount: 4 },
          latencies,
        },
      ],
      measures,
      'zero latencies',
    );
  },

  "aggregate results are the caller's own: mutating them changes no later answer": async ({ turns }) => {
    await turns.append(fixtureTurns);
    const spec = { groupBy: ['persona'] as GroupKey[], measures: ['count', 'latencyP50'] as Measure[] };
    const first = await turns.aggregate(spec);
    const snapshot = structuredClone(first);
    tryMutate(() => {
      first.rows[0]!.keys[0] = 'mutated';
    });
    tryMutate(() => {
      first.rows[0]!.values.count = 999;
    });
    tryMutate(() => {
      first.rows.pop();
    });
    expect(await turns.aggregate(spec)).toEqual(snapshot);
  },

  'three group keys at once': async ({ turns }) => {
    await turns.append(fixtureTurns);
    const result = await turns.aggregate({
      filter: { sessionId: ['s1', 's4'] },
      groupBy: ['session', 'persona', 'day'],
      measures: ['count'],
    });
    expect(result.rows).toEqual([
      { keys: ['s1', 'analyst', t(2, 27, 0, 0)], values: { count: 2 } },
      { keys: ['s1', 'analyst', t(3, 9, 0, 0)], values: { count: 1 } },
      { keys: ['s4', 'analyst', t(3, 2, 0, 0)], values: { count: 1 } },
      { keys: ['s4', 'coach', t(3, 3, 0, 0)], values: { count: 1 } },
    ]);
  },
});
