import { confidence } from './confidence.js';
import { comparison, millis, signedPercent } from './format.js';
import type { InsightThresholds } from './thresholds.js';
import type { DetectorOutput, PeriodStats } from './types.js';

/**
 * The p95 latency of the period is at least `latencyRegression` above the previous p95.
 * Needs `minLatencySamples` timed turns in each period; n = the smaller of the two.
 */
export function detectLatencyRegression(
  current: PeriodStats,
  previous: PeriodStats,
  t: InsightThresholds,
): DetectorOutput {
  const n = Math.min(current.latencyCount, previous.latencyCount);
  if (n < t.minLatencySamples || current.latencyP95 === null || previous.latencyP95 === null) {
    return {
      insights: [],
      notes: [
        `Latency: too little data (${current.latencyCount} timed turns in the period, ${previous.latencyCount} in the previous; ${t.minLatencySamples} needed in each).`,
      ],
    };
  }
  const before = previous.latencyP95;
  const now = current.latencyP95;
  if (before <= 0) return { insights: [], notes: [] };
  const change = (now - before) / before;
  if (change < t.latencyRegression) return { insights: [], notes: [] };
  return {
    insights: [
      {
        kind: 'latency_regression',
        subject: null,
        sentence:
          `p95 latency rose ${signedPercent(change)} from ${millis(before)} to ${millis(now)} ` +
          `${comparison(current.period, previous.period)} (${current.latencyCount} and ${previous.latencyCount} timed turns).`,
        evidence: {
          metric: 'latency_p95_ms',
          current: now,
          previous: before,
          change,
          changeKind: 'relative',
          period: current.period,
          previousPeriod: previous.period,
          sampleSize: n,
        },
        confidence: confidence(n, t.confidenceHalfSample),
      },
    ],
    notes: [],
  };
}
