import { confidence } from './confidence.js';
import { percent } from './format.js';
import type { InsightThresholds } from './thresholds.js';
import { type DetectorOutput, type Insight, type PeriodStats, splitPairKey } from './types.js';

/**
 * Two frameworks used in the same turns: at least `minPairTurns` shared turns in the period and
 * a Jaccard index (turns with both / turns with either) of at least `coOccurrence`. Turns with
 * either = detections of a + detections of b - turns with both. n = turns with either.
 */
export function detectFrameworkPairs(
  current: PeriodStats,
  previous: PeriodStats,
  t: InsightThresholds,
): DetectorOutput {
  const insights: Insight[] = [];
  for (const [key, both] of current.pairs) {
    if (both < t.minPairTurns) continue;
    const [a, b] = splitPairKey(key);
    const either = (current.frameworks.get(a) ?? 0) + (current.frameworks.get(b) ?? 0) - both;
    const jaccard = both / either;
    if (jaccard < t.coOccurrence) continue;
    const bothBefore = previous.pairs.get(key) ?? 0;
    const eitherBefore = (previous.frameworks.get(a) ?? 0) + (previous.frameworks.get(b) ?? 0) - bothBefore;
    const before = eitherBefore === 0 ? null : bothBefore / eitherBefore;
    insights.push({
      kind: 'frameworks_used_together',
      subject: `${a} + ${b}`,
      sentence:
        `Frameworks "${a}" and "${b}" were used together in ${both} turns, ${percent(jaccard)} of the ${either} turns ` +
        `using either` +
        (before === null
          ? ' (neither was used the period before).'
          : ` (${percent(before)} the period before).`),
      evidence: {
        metric: 'framework_pair_jaccard',
        current: jaccard,
        previous: before,
        change: before === null ? null : jaccard - before,
        changeKind: 'absolute',
        period: current.period,
        previousPeriod: previous.period,
        sampleSize: either,
      },
      confidence: confidence(either, t.confidenceHalfSample),
    });
  }
  insights.sort((x, y) => y.evidence.current - x.evidence.current || (x.subject! < y.subject! ? -1 : 1));
  return { insights, notes: [] };
}
