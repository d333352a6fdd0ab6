import { type AggregateResult, LatencyHistogram, type Measure } from '@convokit/core';
import { expect } from 'vitest';
import type { ExpectedGroup } from '../fixtures/turns.js';

const PERCENTILES: Partial<Record<Measure, number>> = { latencyP50: 0.5, latencyP95: 0.95, latencyP99: 0.99 };

/** Relative closeness for averages and rates, which adapters may sum in another order. */
export function expectClose(actual: unknown, expected: number, label: string): void {
  expect(typeof actual, `${label} is a number (got ${JSON.stringify(actual)})`).toBe('number');
  const tolerance = Math.max(1e-9, Math.abs(expected) * 1e-9);
  expect(Math.abs((actual as number) - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    tolerance,
  );
}

/**
 * Percentiles must be what core's LatencyHistogram gives for the group's latencies (so rollups
 * and scans agree everywhere), and that must be within 1% of the exact nearest-rank value.
 */
export function expectPercentile(
  actual: unknown,
  latencies: number[],
  q: number,
  exact: number,
  label: string,
): void {
  const histogram = new LatencyHistogram();
  for (const value of latencies) histogram.add(value);
  const fromHistogram = histogram.quantile(q)!;
  expect(
    Math.abs(fromHistogram - exact),
    `${label}: histogram ${fromHistogram} within 1% of ${exact}`,
  ).toBeLessThanOrEqual(exact * 0.01 + 1e-9);
  expectClose(actual, fromHistogram, `${label} (LatencyHistogram value)`);
}

/** Rows in order, keys exactly, only the requested measures, each value as expected. */
export function expectRows(
  result: AggregateResult,
  expected: readonly ExpectedGroup[],
  measures: readonly Measure[],
  label: string,
): void {
  expect(
    result.rows.map((row) => row.keys),
    `${label}: row keys in order`,
  ).toEqual(expected.map((row) => row.keys));
  result.rows.forEach((row, i) => {
    const want = expected[i]!;
    const where = `${label} [${row.keys.map((k) => JSON.stringify(k)).join(', ')}]`;
    expect(Object.keys(row.values).sort(), `${where}: measures returned`).toEqual([...measures].sort());
    for (const measure of measures) {
      const value = row.values[measure];
      const exact = want.values[measure];
      if (exact === undefined) continue;
      if (exact === null) {
        expect(value, `${where} ${measure}`).toBeNull();
        continue;
      }
      const q = PERCENTILES[measure];
      if (q !== undefined && want.latencies) {
        expectPercentile(value, want.latencies, q, exact, `${where} ${measure}`);
      } else {
        expectClose(value, exact, `${where} ${measure}`);
      }
    }
  });
}
