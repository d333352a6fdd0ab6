import type { AggregateRow, GroupValue, Measure } from './schemas/aggregate.js';

/**
 * Group keys in the aggregate contract's order (AggregateSpecSchema `orderBy`): null first, then
 * numbers ascending, then strings in code-unit order; key by key.
 */
export function compareGroupKeys(a: readonly GroupValue[], b: readonly GroupValue[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Sorts `rows` in place in the contract's row order and returns them: by `orderBy`'s measure
 * (direction default `desc`, nulls last), ties by keys; without `orderBy`, by keys.
 */
export function sortAggregateRows<R extends AggregateRow>(
  rows: R[],
  orderBy?: { measure: Measure; direction?: 'asc' | 'desc' },
): R[] {
  if (!orderBy) return rows.sort((a, b) => compareGroupKeys(a.keys, b.keys));
  const sign = orderBy.direction === 'asc' ? 1 : -1;
  const { measure } = orderBy;
  return rows.sort((a, b) => {
    const x = a.values[measure] ?? null;
    const y = b.values[measure] ?? null;
    if (x !== y) {
      if (x === null) return 1;
      if (y === null) return -1;
      return sign * (x - y);
    }
    return compareGroupKeys(a.keys, b.keys);
  });
}
