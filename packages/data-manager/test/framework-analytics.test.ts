import { afterEach, describe, expect, it } from 'vitest';
import type { FrameworkAnalyticsData } from '../src/index.js';
import { day, FULL, W2, W3 } from './fixtures.js';
import { expectNear, fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
});

describe('framework_analytics on the fixture', () => {
  it('gives detections, shares, co-occurrence and success over the full period', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<FrameworkAnalyticsData>({
      type: 'framework_analytics',
      timeRange: FULL,
    });
    expect(res.success).toBe(true);
    const data = res.data!;
    // okr: t01 t02 t06 t08 t11 t12 t17 t18 = 8; swot: t01 t04 t06 t11 t12 t13 t20 = 7;
    // raci: t03 t09 t12 t15 t18 = 5; porter: t07 t08 t14 t15 = 4. 24 detections.
    expect(data.totalDetections).toBe(24);
    expect(data.frameworks.map((f) => [f.framework, f.detections])).toEqual([
      ['okr', 8],
      ['swot', 7],
      ['raci', 5],
      ['porter', 4],
    ]);
    expect(data.frameworks.map((f) => f.share)).toEqual([8 / 24, 7 / 24, 5 / 24, 4 / 24]);
    const [okr, swot, raci, porter] = data.frameworks;
    expect(okr).toMatchObject({ sessions: 4, errors: 0, successRate: 1 });
    expect(okr!.latencyAvg).toBeCloseTo(1210 / 8, 9);
    expectNear(okr!.latencyP95, 250);
    expect(okr!.firstSeen).toBe(day(2, '09:00:00'));
    expect(okr!.lastSeen).toBe(day(21, '20:02:00'));
    // swot errors: t13, t20. sessions s1 s2 s3 s5 s8.
    expect(swot).toMatchObject({ sessions: 5, errors: 2 });
    expect(swot!.successRate).toBeCloseTo(5 / 7, 12);
    expect(swot!.latencyAvg).toBeCloseTo(1330 / 7, 9);
    expect(raci).toMatchObject({ sessions: 5, errors: 2 });
    expect(raci!.latencyAvg).toBeCloseTo(1370 / 5, 9);
    expect(porter).toMatchObject({ sessions: 2, errors: 2, successRate: 0.5, latencyAvg: 487.5 });
    // Pairs: okr+swot t01 t06 t11 t12 (4), okr+raci t12 t18 (2), okr+porter t08, raci+swot t12, porter+raci t15.
    expect(okr!.coFrameworks).toEqual([
      { framework: 'swot', turns: 4 },
      { framework: 'raci', turns: 2 },
      { framework: 'porter', turns: 1 },
    ]);
    expect(raci!.coFrameworks).toEqual([
      { framework: 'okr', turns: 2 },
      { framework: 'porter', turns: 1 },
      { framework: 'swot', turns: 1 },
    ]);
    expect(porter!.coFrameworks).toEqual([
      { framework: 'okr', turns: 1 },
      { framework: 'raci', turns: 1 },
    ]);
    expect(okr!.coPersonas).toEqual([
      { persona: 'cto', turns: 7 },
      { persona: 'eng', turns: 1 },
    ]);
    expect(swot!.coPersonas).toEqual([
      { persona: 'cto', turns: 4 },
      { persona: 'pm', turns: 2 },
      { persona: 'eng', turns: 1 },
    ]);
    expect(raci!.coPersonas).toEqual([
      { persona: 'cto', turns: 2 },
      { persona: 'eng', turns: 2 },
      { persona: 'pm', turns: 1 },
    ]);
    // Nothing before Mar 2: the previous 21 days are empty.
    expect(data.previousPeriod).toEqual({ from: day(2) - 21 * 86_400_000, to: day(2) });
    expect(okr!.change).toEqual({ previous: 0, absolute: 8, relative: null });
  });

  it('top N bounds the co-occurrence lists', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<FrameworkAnalyticsData>({
      type: 'framework_analytics',
      timeRange: FULL,
      options: { topN: 1 },
    });
    const okr = res.data!.frameworks[0]!;
    expect(okr.coFrameworks).toEqual([{ framework: 'swot', turns: 4 }]);
    expect(okr.coPersonas).toEqual([{ persona: 'cto', turns: 7 }]);
  });

  it('compares with the previous equal period', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<FrameworkAnalyticsData>({
      type: 'framework_analytics',
      timeRange: W3,
    });
    const data = res.data!;
    expect(data.previousPeriod).toEqual(W2);
    // W3: okr 4, swot 4, raci 3, porter 2; W2: okr 2 (t06 t08), swot 1, raci 1, porter 2.
    expect(data.totalDetections).toBe(13);
    expect(data.previousTotalDetections).toBe(6);
    expect(data.frameworks.map((f) => [f.framework, f.detections, f.change])).toEqual([
      ['okr', 4, { previous: 2, absolute: 2, relative: 1 }],
      ['swot', 4, { previous: 1, absolute: 3, relative: 3 }],
      ['raci', 3, { previous: 1, absolute: 2, relative: 2 }],
      ['porter', 2, { previous: 2, absolute: 0, relative: 0 }],
    ]);
  });

  it('weekly series of detections', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<FrameworkAnalyticsData>({
      type: 'framework_analytics',
      timeRange: FULL,
      aggregation: 'weekly',
    });
    expect(res.data!.series.map((p) => p.values.map((v) => [v.framework, v.detections]))).toEqual([
      // W1: okr t01 t02, swot t01 t04, raci t03.
      [
        ['okr', 2],
        ['swot', 2],
        ['raci', 1],
      ],
      [
        ['okr', 2],
        ['porter', 2],
        ['raci', 1],
        ['swot', 1],
      ],
      [
        ['okr', 4],
        ['swot', 4],
        ['raci', 3],
        ['porter', 2],
      ],
    ]);
  });
});

describe('framework_analytics series at the session and monthly levels', () => {
  it('session level: detections per framework in the most recent sessions', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<FrameworkAnalyticsData>({
      type: 'framework_analytics',
      timeRange: FULL,
      aggregation: 'session',
      pagination: { limit: 2 },
    });
    expect(res.data!.series.map((p) => [p.key, p.values])).toEqual([
      // s7: t17 okr, t18 okr raci; s8: t20 swot.
      [
        's7',
        [
          { framework: 'okr', detections: 2 },
          { framework: 'raci', detections: 1 },
        ],
      ],
      ['s8', [{ framework: 'swot', detections: 1 }]],
    ]);
  });

  it('monthly level: one March bucket with every detection', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<FrameworkAnalyticsData>({
      type: 'framework_analytics',
      timeRange: FULL,
      aggregation: 'monthly',
    });
    expect(res.data!.series.map((p) => p.values)).toEqual([
      [
        { framework: 'okr', detections: 8 },
        { framework: 'swot', detections: 7 },
        { framework: 'raci', detections: 5 },
        { framework: 'porter', detections: 4 },
      ],
    ]);
  });
});
