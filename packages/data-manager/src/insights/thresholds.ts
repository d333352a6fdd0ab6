/** When a detector speaks. Every figure is compared between a period and the equal period before. */
export interface InsightThresholds {
  /** Turns each of the two periods needs before any detector runs. Default 20. */
  minTurns: number;
  /** A persona's share of turns must move by at least this many share points (0.1 = 10 points). Default 0.1. */
  personaShareShift: number;
  /** p95 latency must rise by at least this fraction of the previous p95 (0.2 = +20%). Default 0.2. */
  latencyRegression: number;
  /** Turns with a latency each period needs for the latency detector. Default 20. */
  minLatencySamples: number;
  /** The error rate must rise by at least this many points (0.05 = 5 points). Default 0.05. */
  errorRateSpike: number;
  /** Detections must move by at least this fraction of the previous count (0.5 = ±50%). Default 0.5. */
  frameworkChange: number;
  /** Detections (current + previous) a framework needs before it is called rising or declining. Default 10. */
  minFrameworkDetections: number;
  /** Turns two frameworks must share in the period to be reported as used together. Default 5. */
  minPairTurns: number;
  /** Turns using both / turns using either must reach this (Jaccard index). Default 0.3. */
  coOccurrence: number;
  /** The sample size at which confidence is 0.5: confidence = n / (n + k). Default 30. */
  confidenceHalfSample: number;
}

export const DEFAULT_THRESHOLDS: Readonly<InsightThresholds> = Object.freeze({
  minTurns: 20,
  personaShareShift: 0.1,
  latencyRegression: 0.2,
  minLatencySamples: 20,
  errorRateSpike: 0.05,
  frameworkChange: 0.5,
  minFrameworkDetections: 10,
  minPairTurns: 5,
  coOccurrence: 0.3,
  confidenceHalfSample: 30,
});
