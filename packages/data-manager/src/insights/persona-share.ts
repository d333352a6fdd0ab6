import { confidence } from './confidence.js';
import { comparison, percent, points } from './format.js';
import type { InsightThresholds } from './thresholds.js';
import type { DetectorOutput, Insight, PeriodStats } from './types.js';

/**
 * A persona whose share of turns (its turns / all turns of the period) moved by at least
 * `personaShareShift` points. n = the smaller of the two periods' turn counts.
 */
export function detectPersonaShareShift(
  current: PeriodStats,
  previous: PeriodStats,
  t: InsightThresholds,
): DetectorOutput {
  const insights: Insight[] = [];
  const names = [...new Set([...current.personas.keys(), ...previous.personas.keys()])].sort();
  const n = Math.min(current.turns, previous.turns);
  for (const persona of names) {
    const now = (current.personas.get(persona) ?? 0) / current.turns;
    const before = (previous.personas.get(persona) ?? 0) / previous.turns;
    const diff = now - before;
    if (Math.abs(diff) < t.personaShareShift) continue;
    insights.push({
      kind: 'persona_share_shift',
      subject: persona,
      sentence:
        `Persona "${persona}" ${diff > 0 ? 'rose' : 'fell'} from ${percent(before)} to ${percent(now)} of turns ` +
        `(${points(diff)}) ${comparison(current.period, previous.period)}.`,
      evidence: {
        metric: 'persona_share',
        current: now,
        previous: before,
        change: diff,
        changeKind: 'absolute',
        period: current.period,
        previousPeriod: previous.period,
        sampleSize: n,
      },
      confidence: confidence(n, t.confidenceHalfSample),
    });
  }
  insights.sort((a, b) => Math.abs(b.evidence.change ?? 0) - Math.abs(a.evidence.change ?? 0));
  return { insights, notes: [] };
}
