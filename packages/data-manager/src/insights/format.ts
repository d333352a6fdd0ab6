import { DAY_MS } from '@convokit/core';
import type { Period } from '../period.js';

/** 0.4512 -> "45.1%". */
export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** 0.25 -> "+25.0 points", a difference of two fractions. */
export function points(diff: number): string {
  return `${diff >= 0 ? '+' : '-'}${Math.abs(diff * 100).toFixed(1)} points`;
}

/** 0.35 -> "+35.0%". */
export function signedPercent(fraction: number): string {
  return `${fraction >= 0 ? '+' : '-'}${Math.abs(fraction * 100).toFixed(1)}%`;
}

export function millis(ms: number): string {
  return `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)} ms`;
}

/** How the two periods are named in sentences. */
export function comparison(period: Period, previous: Period): string {
  const length = period.to - period.from;
  if (length === 7 * DAY_MS && previous.to - previous.from === length) return 'week over week';
  const days = Number((length / DAY_MS).toFixed(2));
  return `over the ${days} days to ${new Date(period.to).toISOString()} against the ${days} days before`;
}
