import { detectErrorRateSpike } from './error-rate.js';
import { detectFrameworkPairs } from './framework-pairs.js';
import { detectFrameworkTrends } from './framework-trend.js';
import { detectLatencyRegression } from './latency-regression.js';
import { detectPersonaShareShift } from './persona-share.js';
import type { InsightThresholds } from './thresholds.js';
import type { DetectorOutput, PeriodStats } from './types.js';

/**
 * Every detector over two periods, in a fixed order. With fewer than `minTurns` turns in either
 * period no detector runs and the note says so.
 */
export function runDetectors(
  current: PeriodStats,
  previous: PeriodStats,
  t: InsightThresholds,
): DetectorOutput {
  if (current.turns < t.minTurns || previous.turns < t.minTurns) {
    return {
      insights: [],
      notes: [
        `Too little data for insights: ${current.turns} turns in the period and ${previous.turns} in the previous period; at least ${t.minTurns} are needed in each.`,
      ],
    };
  }
  const outputs = [
    detectPersonaShareShift(current, previous, t),
    detectLatencyRegression(current, previous, t),
    detectErrorRateSpike(current, previous, t),
    detectFrameworkTrends(current, previous, t),
    detectFrameworkPairs(current, previous, t),
  ];
  const insights = outputs.flatMap((o) => o.insights);
  const notes = outputs.flatMap((o) => o.notes);
  if (insights.length === 0) notes.push('No figure moved past its threshold: no insight for this period.');
  return { insights, notes };
}
