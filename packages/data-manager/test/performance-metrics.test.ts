import { afterEach, describe, expect, it } from 'vitest';
import type { PerformanceMetricsData } from '../src/index.js';
import { day, FULL } from './fixtures.js';
import { expectNear, fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
});

describe('performance_metrics on the fixture', () => {
  it('overall figures and weekly buckets', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PerformanceMetricsData>({
      type: 'performance_metrics',
      timeRange: FULL,
      aggregation: 'weekly',
    });
    const { overall, series } = res.data!;
    // 18 latencies, sum 4300; sorted: 50 80 90 100 110 120 130 140 150 160 200 220 250 300 400 500 600 700.
    expect(overall).toMatchObject({
      turns: 20,
      errors: 5,
      errorRate: 0.25,
      latencyCount: 18,
      tokensIn: 430,
      tokensOut: 860,
    });
    expect(overall.latencyAvg).toBeCloseTo(4300 / 18, 9);
    expectNear(overall.latencyP50, 150); // rank 9
    expectNear(overall.latencyP95, 700); // rank 18
    expectNear(overall.latencyP99, 700);
    expect(overall.throughputPerHour).toBeCloseTo(20 / 504, 12);
    expect(series.map((p) => p.start)).toEqual([day(2), day(9), day(16)]);
    const [w1, w2, w3] = series.map((p) => p.values);
    // W1: t01-t05, latencies 100 200 300 150, error t03.
    expect(w1).toMatchObject({
      turns: 5,
      errors: 1,
      errorRate: 0.2,
      latencyCount: 4,
      latencyAvg: 187.5,
      tokensIn: 75,
      tokensOut: 150,
    });
    expectNear(w1!.latencyP50, 150);
    expectNear(w1!.latencyP95, 300);
    expect(w1!.throughputPerHour).toBeCloseTo(5 / 168, 12);
    // W2: t06-t10, latencies 120 400 250 80 90, error t07.
    expect(w2).toMatchObject({
      turns: 5,
      errors: 1,
      latencyCount: 5,
      latencyAvg: 188,
      tokensIn: 94,
      tokensOut: 188,
    });
    expectNear(w2!.latencyP50, 120);
    expectNear(w2!.latencyP95, 400);
    // W3: t11-t20, 9 latencies summing 2610, errors t13 t15 t20.
    expect(w3).toMatchObject({
      turns: 10,
      errors: 3,
      errorRate: 0.3,
      latencyCount: 9,
      latencyAvg: 290,
      tokensIn: 261,
      tokensOut: 522,
    });
    expectNear(w3!.latencyP50, 160);
    expectNear(w3!.latencyP99, 700);
    expect(w3!.throughputPerHour).toBeCloseTo(10 / 168, 12);
  });

  it('daily buckets cover every day; empty days have nulls and zeros', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PerformanceMetricsData>({
      type: 'performance_metrics',
      timeRange: FULL,
    });
    const series = res.data!.series;
    expect(series).toHaveLength(21);
    expect(series[1]!.values).toEqual({
      turns: 0,
      errors: 0,
      errorRate: null,
      latencyAvg: null,
      latencyP50: null,
      latencyP95: null,
      latencyP99: null,
      latencyCount: 0,
      tokensIn: 0,
      tokensOut: 0,
      throughputPerHour: 0,
    });
    // Mar 13: t10 alone (90 ms).
    expect(series[11]!.values).toMatchObject({ turns: 1, latencyAvg: 90, latencyCount: 1, tokensIn: 9 });
    expect(series[11]!.values.throughputPerHour).toBeCloseTo(1 / 24, 12);
  });

  it('monthly: throughput over the part of the month inside the period', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PerformanceMetricsData>({
      type: 'performance_metrics',
      timeRange: FULL,
      aggregation: 'monthly',
    });
    expect(res.data!.series).toHaveLength(1);
    expect(res.data!.series[0]!.values.turns).toBe(20);
    expect(res.data!.series[0]!.values.throughputPerHour).toBeCloseTo(20 / 504, 12);
  });

  it('session level: per session, no throughput', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PerformanceMetricsData>({
      type: 'performance_metrics',
      timeRange: FULL,
      aggregation: 'session',
      pagination: { limit: 2 },
    });
    expect(
      res.data!.series.map((p) => [p.key, p.values.turns, p.values.errors, p.values.throughputPerHour]),
    ).toEqual([
      ['s7', 2, 0, null],
      ['s8', 2, 1, null],
    ]);
    expect(res.data!.series[0]!.values.latencyAvg).toBe(150);
  });

  it("includes the manager's own query latency and cache hit rate, current on cached answers", async () => {
    setup = await fixtureManager();
    const q = { type: 'performance_metrics', timeRange: FULL } as const;
    const first = await setup.manager.query<PerformanceMetricsData>(q);
    expect(first.data!.manager).toMatchObject({ queries: 1, cacheHits: 0, cacheMisses: 1, cacheHitRate: 0 });
    const second = await setup.manager.query<PerformanceMetricsData>(q);
    expect(second.metadata.cacheHit).toBe(true);
    expect(second.data!.manager).toMatchObject({
      queries: 2,
      cacheHits: 1,
      cacheMisses: 1,
      cacheHitRate: 0.5,
    });
    expect(second.data!.manager.queryLatencyMs.count).toBe(1);
  });
});
