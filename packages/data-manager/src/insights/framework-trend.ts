import { confidence } from './confidence.js';
import { comparison, signedPercent } from './format.js';
import type { InsightThresholds } from './thresholds.js';
import type { DetectorOutput, Insight, PeriodStats } from './types.js';

/**
 * Frameworks whose detections moved by at least `frameworkChange` of the previous count, up
 * (rising; a framework absent before counts as rising, change null) or down (declining).
 * Frameworks with fewer than `minFrameworkDetections` detections over both periods are skipped.
 * n = detections over both periods.
 */
export function detectFrameworkTrends(
  current: PeriodStats,
  previous: PeriodStats,
  t: InsightThresholds,
): DetectorOutput {
  const rising: Insight[] = [];
  const declining: Insight[] = [];
  const names = [...new Set([...current.frameworks.keys(), ...previous.frameworks.keys()])].sort();
  const phrase = comparison(current.period, previous.period);
  for (const name of names) {
    const now = current.frameworks.get(name) ?? 0;
    const before = previous.frameworks.get(name) ?? 0;
    const n = now + before;
    if (n < t.minFrameworkDetections) continue;
    const change = before === 0 ? null : (now - before) / before;
    const evidence = {
      metric: 'framework_detections',
      current: now,
      previous: before,
      change,
      changeKind: 'relative' as const,
      period: current.period,
      previousPeriod: previous.period,
      sampleSize: n,
    };
    if (change === null) {
      rising.push({
        kind: 'framework_rising',
        subject: name,
        sentence: `Framework "${name}" appeared with ${now} detections ${phrase}, none the period before.`,
        evidence,
        confidence: confidence(n, t.confidenceHalfSample),
      });
    } else if (change >= t.frameworkChange) {
      rising.push({
        kind: 'framework_rising',
        subject: name,
        sentence: `Framework "${name}" rose from ${before} to ${now} detections (${signedPercent(change)}) ${phrase}.`,
        evidence,
        confidence: confidence(n, t.confidenceHalfSample),
      });
    } else if (change <= -t.frameworkChange) {
      declining.push({
        kind: 'framework_declining',
        subject: name,
        sentence: `Framework "${name}" fell from ${before} to ${now} detections (${signedPercent(change)}) ${phrase}.`,
        evidence,
        confidence: confidence(n, t.confidenceHalfSample),
      });
    }
  }
  // Largest moves first; a newly appeared framework (change null) by its detections, before the rest.
  const order = (a: Insight, b: Insight) =>
    (a.evidence.change === null ? 0 : 1) - (b.evidence.change === null ? 0 : 1) ||
    (a.evidence.change === null
      ? b.evidence.current - a.evidence.current
      : Math.abs(b.evidence.change ?? 0) - Math.abs(a.evidence.change ?? 0));
  return { insights: [...rising.sort(order), ...declining.sort(order)], notes: [] };
}
