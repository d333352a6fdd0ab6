import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../src/index.js';
import { turn } from './helpers.js';

const at = (iso: string) => Date.parse(iso);
const MON = at('2026-03-02T00:00:00Z');
const NEXT_MON = at('2026-03-09T00:00:00Z');

// Hand-made data: expected values below are worked out from these four turns.
const TURNS = [
  turn({
    id: 'a',
    sessionId: 's1',
    userId: 'u1',
    at: at('2026-03-02T10:15:00Z'),
    persona: 'analyst',
    frameworks: ['swot', 'pest'],
    tools: ['search'],
    latencyMs: 100,
    tokens: { input: 10, output: 20 },
    feedback: 1,
  }),
  turn({
    id: 'b',
    sessionId: 's1',
    userId: 'u1',
    at: at('2026-03-02T10:45:00Z'),
    persona: 'analyst',
    frameworks: ['pest', 'okr', 'swot'],
    latencyMs: 300,
    tokens: { input: 5, output: 5 },
    outcome: 'error',
  }),
  turn({
    id: 'c',
    sessionId: 's2',
    at: at('2026-03-03T23:59:00Z'),
    tools: ['search', 'chart'],
    feedback: -1,
  }),
  turn({
    id: 'd',
    sessionId: 's3',
    userId: 'u2',
    at: NEXT_MON,
    persona: 'coach',
    frameworks: ['okr'],
    latencyMs: 200,
    tokens: { input: 1, output: 1 },
    feedback: 0.5,
  }),
];

async function store() {
  const s = createMemoryStorage();
  await s.turns.append(TURNS);
  return s;
}

const rows = (r: { rows: Array<{ keys: unknown[]; values: Record<string, unknown> }> }) =>
  r.rows.map((row) => [...row.keys, ...Object.values(row.values)]);

describe('aggregate on hand-computed data', () => {
  it('persona: null group first, distinct counts, rates and averages', async () => {
    const s = await store();
    const r = await s.turns.aggregate({
      groupBy: ['persona'],
      measures: [
        'count',
        'sessions',
        'users',
        'errors',
        'errorRate',
        'latencyAvg',
        'feedbackAvg',
        'feedbackCount',
      ],
    });
    expect(r.totalGroups).toBe(3);
    expect(rows(r)).toEqual([
      [null, 1, 1, 0, 0, 0, null, -1, 1],
      ['analyst', 2, 1, 1, 1, 0.5, 200, 1, 1],
      ['coach', 1, 1, 1, 0, 0, 200, 0.5, 1],
    ]);
  });

  it('a multi-valued key explodes; named twice it gives unordered pairs, smaller name first', async () => {
    const s = await store();
    expect(rows(await s.turns.aggregate({ groupBy: ['framework'], measures: ['count'] }))).toEqual([
      ['okr', 2],
      ['pest', 2],
      ['swot', 2],
    ]);
    expect(
      rows(await s.turns.aggregate({ groupBy: ['framework', 'framework'], measures: ['count'] })),
    ).toEqual([
      ['okr', 'pest', 1],
      ['okr', 'swot', 1],
      ['pest', 'swot', 2],
    ]);
    const ordered = await s.turns.aggregate({
      groupBy: ['framework', 'framework'],
      measures: ['count'],
      orderBy: { measure: 'count', direction: 'desc' },
    });
    expect(rows(ordered)).toEqual([
      ['pest', 'swot', 2],
      ['okr', 'pest', 1],
      ['okr', 'swot', 1],
    ]);
    expect(rows(await s.turns.aggregate({ groupBy: ['tool', 'persona'], measures: ['count'] }))).toEqual([
      ['chart', null, 1],
      ['search', null, 1],
      ['search', 'analyst', 1],
    ]);
  });

  it('UTC time buckets, hour of day and ISO day of week', async () => {
    const s = await store();
    expect(rows(await s.turns.aggregate({ groupBy: ['week'], measures: ['count'] }))).toEqual([
      [MON, 3],
      [NEXT_MON, 1],
    ]);
    expect(rows(await s.turns.aggregate({ groupBy: ['day'], measures: ['count'] }))).toEqual([
      [MON, 2],
      [at('2026-03-03T00:00:00Z'), 1],
      [NEXT_MON, 1],
    ]);
    expect(rows(await s.turns.aggregate({ groupBy: ['hour'], measures: ['count'] }))[0]).toEqual([
      at('2026-03-02T10:00:00Z'),
      2,
    ]);
    expect(rows(await s.turns.aggregate({ groupBy: ['month'], measures: ['count'] }))).toEqual([
      [at('2026-03-01T00:00:00Z'), 4],
    ]);
    expect(rows(await s.turns.aggregate({ groupBy: ['hourOfDay'], measures: ['count'] }))).toEqual([
      [0, 1],
      [10, 2],
      [23, 1],
    ]);
    expect(rows(await s.turns.aggregate({ groupBy: ['dayOfWeek'], measures: ['count'] }))).toEqual([
      [0, 3],
      [1, 1],
    ]);
  });

  it('zero keys: one row over everything, and one row even when nothing matches', async () => {
    const s = await store();
    const all = await s.turns.aggregate({
      measures: ['count', 'tokensIn', 'tokensOut', 'latencyCount', 'firstAt', 'lastAt', 'users', 'sessions'],
    });
    expect(rows(all)).toEqual([[4, 16, 26, 3, TURNS[0]!.at, NEXT_MON, 2, 3]]);
    const p = (await s.turns.aggregate({ measures: ['latencyP50', 'latencyP95', 'latencyP99'] })).rows[0]!
      .values;
    // Nearest rank over 100, 200, 300 within the histogram's 1%.
    expect(Math.abs(p.latencyP50! - 200)).toBeLessThanOrEqual(2);
    expect(Math.abs(p.latencyP95! - 300)).toBeLessThanOrEqual(3);
    expect(p.latencyP99).toBeLessThanOrEqual(300);
    const none = await s.turns.aggregate({
      filter: { persona: 'nobody' },
      measures: [
        'count',
        'errorRate',
        'latencyAvg',
        'latencyP95',
        'tokensIn',
        'feedbackAvg',
        'firstAt',
        'sessions',
      ],
    });
    expect(none).toEqual({
      rows: [
        {
          keys: [],
          values: {
            count: 0,
            errorRate: null,
            latencyAvg: null,
            latencyP95: null,
            tokensIn: 0,
            feedbackAvg: null,
            firstAt: null,
            sessions: 0,
          },
        },
      ],
      totalGroups: 1,
    });
  });

  it('orderBy puts nulls last in both directions, ties by keys; offset and limit after ordering', async () => {
    const s = await store();
    const spec = { groupBy: ['session' as const], measures: ['latencyAvg' as const] };
    expect(
      rows(await s.turns.aggregate({ ...spec, orderBy: { measure: 'latencyAvg', direction: 'asc' } })),
    ).toEqual([
      ['s1', 200],
      ['s3', 200],
      ['s2', null],
    ]);
    expect(rows(await s.turns.aggregate({ ...spec, orderBy: { measure: 'latencyAvg' } }))).toEqual([
      ['s1', 200],
      ['s3', 200],
      ['s2', null],
    ]);
    const page = await s.turns.aggregate({
      groupBy: ['framework'],
      measures: ['count'],
      offset: 1,
      limit: 1,
    });
    expect(rows(page)).toEqual([['pest', 2]]);
    expect(page.totalGroups).toBe(3);
  });

  it('the filter applies before grouping, and deleted turns leave the aggregates', async () => {
    const s = await store();
    const r = await s.turns.aggregate({
      filter: { framework: 'okr' },
      groupBy: ['outcome'],
      measures: ['count'],
    });
    expect(rows(r)).toEqual([
      ['error', 1],
      ['ok', 1],
    ]);
    expect(await s.turns.deleteBefore(NEXT_MON)).toBe(3);
    expect(rows(await s.turns.aggregate({ groupBy: ['framework'], measures: ['count'] }))).toEqual([
      ['okr', 1],
    ]);
  });

  it('rejects a bad spec with VALIDATION naming the field', async () => {
    const s = await store();
    await expect(
      s.turns.aggregate({ groupBy: ['persona'], measures: ['count'], orderBy: { measure: 'errors' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION', details: { issues: [{ path: 'orderBy.measure' }] } });
    await expect(
      s.turns.aggregate({ groupBy: ['persona', 'persona'], measures: ['count'] }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });
});
