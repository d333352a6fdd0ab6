import { confidence } from './confidence.js';
import { comparison, percent, points } from './format.js';
import type { InsightThresholds } from './thresholds.js';
import type { DetectorOutput, PeriodStats } from './types.js';

/**
 * The error rate (errors / turns) rose by at least `errorRateSpike` points. n = the smaller of
 * the two periods' turn counts.
 */
export function detectErrorRateSpike(
  current: PeriodStats,
  previous: PeriodStats,
  t: InsightThresholds,
): DetectorOutput {
  const now = current.errors / current.turns;
  const before = previous.errors / previous.turns;
  const diff = now - before;
  if (diff < t.errorRateSpike) return { insights: [], notes: [] };
  const n = Math.min(current.turns, previous.turns);
  return {
    insights: [
      {
        kind: 'error_rate_spike',
        subject: null,
        sentence:
          `Error rate rose from ${percent(before)} to ${percent(now)} (${points(diff)}) ` +
          `${comparison(current.period, previous.period)}: ${current.errors} of ${current.turns} turns failed, ` +
          `against ${previous.errors} of ${previous.turns}.`,
        evidence: {
          metric: 'error_rate',
          current: now,
          previous: before,
          change: diff,
          changeKind: 'absolute',
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
