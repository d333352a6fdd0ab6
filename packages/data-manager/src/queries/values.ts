import type { AggregateRow, Measure } from '@convokit/core';

export type MeasureValues = Partial<Record<Measure, number | null>>;

/** What the engine reports for a group with no turns (see MeasureSchema): counts 0, the rest null. */
const ZERO_MEASURES: ReadonlySet<Measure> = new Set<Measure>([
  'count',
  'errors',
  'sessions',
  'users',
  'latencyCount',
  'tokensIn',
  'tokensOut',
  'feedbackCount',
]);

export function emptyValues(measures: readonly Measure[]): MeasureValues {
  const values: MeasureValues = {};
  for (const m of measures) values[m] = ZERO_MEASURES.has(m) ? 0 : null;
  return values;
}

/** Rows keyed by their first key, for joining a grouped answer onto a list of names or buckets. */
export function byFirstKey(rows: readonly AggregateRow[]): Map<string | number | null, MeasureValues> {
  const map = new Map<string | number | null, MeasureValues>();
  for (const row of rows) map.set(row.keys[0] ?? null, row.values);
  return map;
}

/**
 * Rows grouped by (first key, second key) into, for each first key, the second keys with their
 * values in the order the engine returned them.
 */
export function nested(
  rows: readonly AggregateRow[],
): Map<string | number | null, Array<{ key: string | number | null; values: MeasureValues }>> {
  const map = new Map<
    string | number | null,
    Array<{ key: string | number | null; values: MeasureValues }>
  >();
  for (const row of rows) {
    const outer = row.keys[0] ?? null;
    let list = map.get(outer);
    if (!list) {
      list = [];
      map.set(outer, list);
    }
    list.push({ key: row.keys[1] ?? null, values: row.values });
  }
  return map;
}
