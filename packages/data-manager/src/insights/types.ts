import type { Period } from '../period.js';

export const INSIGHT_KINDS = [
  'persona_share_shift',
  'latency_regression',
  'error_rate_spike',
  'framework_rising',
  'framework_declining',
  'frameworks_used_together',
] as const;
export type InsightKind = (typeof INSIGHT_KINDS)[number];

export interface InsightEvidence {
  /** `persona_share`, `latency_p95_ms`, `error_rate`, `framework_detections` or `framework_pair_jaccard`. */
  metric: string;
  current: number;
  /** Null when the previous period has no value for the metric. */
  previous: number | null;
  /** current - previous (`absolute`) or (current - previous) / previous (`relative`); null when undefined. */
  change: number | null;
  changeKind: 'absolute' | 'relative';
  period: Period;
  previousPeriod: Period;
  /** The n of the confidence formula (each detector says what it counts). */
  sampleSize: number;
}

export interface Insight {
  kind: InsightKind;
  /** The persona, framework or `a + b` pair the insight is about; null for store-wide figures. */
  subject: string | null;
  /** Generated from the evidence numbers only. */
  sentence: string;
  evidence: InsightEvidence;
  /** n / (n + confidenceHalfSample), n = evidence.sampleSize: 0 without data, towards 1 with more. */
  confidence: number;
}

/** Figures of one period, as the detectors read them (all from the store's aggregates). */
export interface PeriodStats {
  period: Period;
  turns: number;
  errors: number;
  latencyCount: number;
  latencyP95: number | null;
  /** Turns per persona (turns without a persona left out). */
  personas: Map<string, number>;
  /** Detections per framework. */
  frameworks: Map<string, number>;
  /** Turns per unordered framework pair, keyed by `pairKey(a, b)` with a < b. */
  pairs: Map<string, number>;
}

export interface DetectorOutput {
  insights: Insight[];
  /** Why a detector could not judge (too little data); shown to the caller. */
  notes: string[];
}

export function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

export function splitPairKey(key: string): [string, string] {
  const [a = '', b = ''] = key.split('\u0000');
  return [a, b];
}
