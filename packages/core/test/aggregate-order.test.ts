import { describe, expect, it } from 'vitest';
import { type AggregateRow, compareGroupKeys, sortAggregateRows } from '../src/index.js';

const row = (keys: AggregateRow['keys'], count: number | null): AggregateRow => ({ keys, values: { count } });

describe('aggregate row order', () => {
  it('orders keys null first, then numbers ascending, then strings by code unit, key by key', () => {
    const keys: AggregateRow['keys'][] = [
      ['b', 1],
      ['a', 2],
      [null, 5],
      [10, 0],
      [9, 0],
      ['a', 1],
      ['B', 0],
    ];
    keys.sort(compareGroupKeys);
    expect(keys).toEqual([
      [null, 5],
      [9, 0],
      [10, 0],
      ['B', 0],
      ['a', 1],
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('orders by the measure (desc by default, nulls last), ties by keys', () => {
    const rows = () => [row(['c'], 2), row(['a'], null), row(['b'], 2), row(['d'], 7)];
    const keysOf = (rs: AggregateRow[]) => rs.map((r) => r.keys[0]);
    expect(keysOf(sortAggregateRows(rows(), { measure: 'count' }))).toEqual(['d', 'b', 'c', 'a']);
    expect(keysOf(sortAggregateRows(rows(), { measure: 'count', direction: 'asc' }))).toEqual([
      'b',
      'c',
      'd',
      'a',
    ]);
    expect(keysOf(sortAggregateRows(rows()))).toEqual(['a', 'b', 'c', 'd']);
  });
});
