/** `part / whole`, or null when `whole` is 0: a share of nothing is unknown, not zero. */
export function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}

/** Nearest-rank percentile (the value at rank ceil(q * n) of the sorted values); null when empty. */
export function nearestRank(sorted: ArrayLike<number>, q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] ?? null;
}

export function mean(values: ArrayLike<number>): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** Aggregate measure values are `number | null | undefined`; most figures want a number. */
export function num(value: number | null | undefined): number {
  return value ?? 0;
}

export function nullable(value: number | null | undefined): number | null {
  return value ?? null;
}
