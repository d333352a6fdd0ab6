import { afterEach, describe, expect, it } from 'vitest';
import type { PersonaUsageData } from '../src/index.js';
import { day, FULL } from './fixtures.js';
import { expectNear, fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
});

describe('persona_usage on the fixture', () => {
  it('gives per-persona figures over the full period', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PersonaUsageData>({ type: 'persona_usage', timeRange: FULL });
    expect(res.success).toBe(true);
    expect(res.metadata.period).toEqual(FULL);
    expect(res.totalRecords).toBe(4);
    const data = res.data!;
    expect(data.totalTurns).toBe(20);
    // cto 8, eng 6, pm 5, no persona 1 (t16): most turns first.
    expect(data.personas.map((p) => [p.persona, p.turns])).toEqual([
      ['cto', 8],
      ['eng', 6],
      ['pm', 5],
      [null, 1],
    ]);
    const [cto, eng, pm, none] = data.personas;
    // cto: t01 t02 t06 t10 t11 t12 t17 t18; sessions s1 s3 s4 s5 s7; users u1 u2 (s4 has none).
    expect(cto).toMatchObject({ sessions: 5, users: 2, share: 0.4, errors: 0, successRate: 1 });
    expect(cto!.latencyAvg).toBeCloseTo(1050 / 8, 9); // 100+200+120+90+110+130+140+160
    expectNear(cto!.latencyP95, 200); // rank 8 of 8, within the histogram's 1%
    expect(cto!.latencyCount).toBe(8);
    expect(cto!.feedbackAvg).toBeCloseTo((1 + 0.5 + 1 + 1) / 4, 9);
    expect(cto!.feedbackCount).toBe(4);
    expect(cto!.firstSeen).toBe(day(2, '09:00:00'));
    expect(cto!.lastSeen).toBe(day(21, '20:02:00'));
    // eng: t07 t08 t09 t14 t15 t20; sessions s3 s4 s6 s8; users u1 u3; errors t07 t15 t20.
    expect(eng).toMatchObject({ sessions: 4, users: 2, errors: 3, successRate: 0.5, latencyCount: 6 });
    expect(eng!.share).toBeCloseTo(0.3, 12);
    expect(eng!.latencyAvg).toBeCloseTo(2250 / 6, 9); // 400+250+80+600+700+220
    expectNear(eng!.latencyP95, 700);
    expect(eng!.feedbackAvg).toBe(-0.5);
    expect(eng!.firstSeen).toBe(day(10, '10:10:00'));
    expect(eng!.lastSeen).toBe(day(21, '12:00:30'));
    // pm: t03 t04 t05 t13 t19; latency only on t03 t04 t13.
    expect(pm).toMatchObject({
      sessions: 4,
      users: 2,
      errors: 2,
      latencyCount: 3,
      feedbackAvg: -1,
      feedbackCount: 1,
    });
    expect(pm!.share).toBeCloseTo(0.25, 12);
    expect(pm!.successRate).toBeCloseTo(0.6, 12);
    expect(pm!.latencyAvg).toBeCloseTo(950 / 3, 9);
    expectNear(pm!.latencyP95, 500);
    // no persona: t16 only.
    expect(none).toMatchObject({
      turns: 1,
      sessions: 1,
      users: 1,
      share: 0.05,
      latencyAvg: 50,
      feedbackAvg: null,
    });
    expect(data.personas.reduce((s, p) => s + p.share, 0)).toBeCloseTo(1, 12);
  });

  it('weekly series: ISO weeks starting Monday 00:00 UTC, most turns first', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PersonaUsageData>({
      type: 'persona_usage',
      timeRange: FULL,
      aggregation: 'weekly',
    });
    const series = res.data!.series;
    expect(series.map((p) => [p.start, p.end])).toEqual([
      [day(2), day(9)],
      [day(9), day(16)],
      [day(16), day(23)],
    ]);
    expect(series.map((p) => p.values.map((v) => [v.persona, v.turns]))).toEqual([
      [
        ['pm', 3],
        ['cto', 2],
      ], // t01-t05
      [
        ['eng', 3],
        ['cto', 2],
      ], // t06-t10
      [
        ['cto', 4],
        ['eng', 3],
        ['pm', 2],
        [null, 1],
      ], // t11-t20
    ]);
  });

  it('daily series: one point per UTC day of the period, empty days included', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PersonaUsageData>({ type: 'persona_usage', timeRange: FULL });
    const series = res.data!.series;
    expect(series).toHaveLength(21);
    const turnsPerDay = series.map((p) => p.values.reduce((s, v) => s + v.turns, 0));
    // Mar 2: 3, Mar 4: 2, Mar 10: 3, Mar 12: 1, Mar 13: 1 (t10 after midnight), Mar 16: 3, Mar 18: 3, Mar 21: 4.
    const expected = new Array(21).fill(0);
    for (const [d, n] of [
      [2, 3],
      [4, 2],
      [10, 3],
      [12, 1],
      [13, 1],
      [16, 3],
      [18, 3],
      [21, 4],
    ])
      expected[d! - 2] = n;
    expect(turnsPerDay).toEqual(expected);
    expect(series[19]!.values).toEqual([
      { persona: 'cto', turns: 2 },
      { persona: 'eng', turns: 1 },
      { persona: 'pm', turns: 1 },
    ]);
  });

  it('monthly series: the calendar month, reaching outside the period', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PersonaUsageData>({
      type: 'persona_usage',
      timeRange: FULL,
      aggregation: 'monthly',
    });
    expect(res.data!.series).toEqual([
      {
        key: Date.parse('2026-03-01T00:00:00Z'),
        start: Date.parse('2026-03-01T00:00:00Z'),
        end: Date.parse('2026-04-01T00:00:00Z'),
        values: [
          { persona: 'cto', turns: 8 },
          { persona: 'eng', turns: 6 },
          { persona: 'pm', turns: 5 },
          { persona: null, turns: 1 },
        ],
      },
    ]);
  });

  it('session level: the most recent sessions by last turn, newest first', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PersonaUsageData>({
      type: 'persona_usage',
      timeRange: FULL,
      aggregation: 'session',
      pagination: { limit: 3 },
    });
    expect(res.data!.series).toEqual([
      {
        key: 's7',
        start: day(21, '20:00:00'),
        end: day(21, '20:02:00'),
        values: [{ persona: 'cto', turns: 2 }],
      },
      {
        key: 's8',
        start: day(21, '12:00:00'),
        end: day(21, '12:00:30'),
        values: [
          { persona: 'eng', turns: 1 },
          { persona: 'pm', turns: 1 },
        ],
      },
      {
        key: 's6',
        start: day(18, '15:00:00'),
        end: day(18, '16:00:00'),
        values: [
          { persona: 'eng', turns: 2 },
          { persona: null, turns: 1 },
        ],
      },
    ]);
  });

  it('filters narrow every figure', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PersonaUsageData>({
      type: 'persona_usage',
      timeRange: FULL,
      filters: { userId: 'u2' },
    });
    // u2: t04 t05 t13 (pm), t11 t12 (cto).
    expect(res.data!.personas.map((p) => [p.persona, p.turns, p.share])).toEqual([
      ['pm', 3, 0.6],
      ['cto', 2, 0.4],
    ]);
    expect(res.metadata.scope).toEqual({ userId: 'u2' });
  });
});
