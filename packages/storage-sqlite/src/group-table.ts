import type { GroupValue } from '@convokit/core';

type Level<T> = Map<GroupValue, Level<T> | T>;

/**
 * Groups found by their key values (the first `n` cells of a result row), in nested Maps: rows
 * from rollups arrive by the thousand and each is merged into its group, so the lookup must not
 * build a string per row. Map keys compare as the values do (`1` is not `'1'`); a missing cell
 * is the null group.
 */
export class GroupTable<T> {
  readonly #n: number;
  readonly #root: Level<T> = new Map();
  readonly #all: T[] = [];

  constructor(n: number) {
    this.#n = n;
  }

  get(row: readonly unknown[]): T | undefined {
    let level: Level<T> | T | undefined = this.#root;
    for (let i = 0; i < this.#n; i++) {
      level = (level as Level<T>).get((row[i] ?? null) as GroupValue);
      if (level === undefined) return undefined;
    }
    return this.#n === 0 ? this.#all[0] : (level as T);
  }

  /** The group of `row`, made by `make(keys)` when it is new. */
  getOrCreate(row: readonly unknown[], make: (keys: GroupValue[]) => T): T {
    if (this.#n === 0) {
      if (this.#all.length === 0) this.#all.push(make([]));
      return this.#all[0]!;
    }
    let level = this.#root;
    for (let i = 0; i < this.#n - 1; i++) {
      const key = (row[i] ?? null) as GroupValue;
      let next = level.get(key) as Level<T> | undefined;
      if (!next) {
        next = new Map();
        level.set(key, next);
      }
      level = next;
    }
    const last = (row[this.#n - 1] ?? null) as GroupValue;
    let group = level.get(last) as T | undefined;
    if (group === undefined) {
      const keys: GroupValue[] = [];
      for (let i = 0; i < this.#n; i++) keys.push((row[i] ?? null) as GroupValue);
      group = make(keys);
      level.set(last, group);
      this.#all.push(group);
    }
    return group;
  }

  values(): readonly T[] {
    return this.#all;
  }
}
