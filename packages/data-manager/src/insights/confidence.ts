/**
 * Confidence from sample size: n / (n + k). 0 with no data, 0.5 at n = k, 0.9 at n = 9k. It
 * says how much data backs an insight, not how likely it is to be true.
 */
export function confidence(sampleSize: number, halfSample: number): number {
  if (sampleSize <= 0) return 0;
  return sampleSize / (sampleSize + halfSample);
}
