import type { CaseContext, ConformanceCase, StoragePart } from '../types.js';

/** Stamps `part` and `concern` on a concern's cases. */
export function defineCases(
  part: StoragePart | 'storage',
  concern: string,
  cases: Record<string, (ctx: CaseContext) => Promise<void>>,
): ConformanceCase[] {
  return Object.entries(cases).map(([name, run]) => ({ part, concern, name, run }));
}

/** Sorts turn-like items by (at, id) ascending; the order the suite states expectations in. */
export function byAtThenId<T extends { at: number; id: string }>(a: T, b: T): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A frozen snapshot may throw on mutation; that is as good as ignoring it. The re-read decides. */
export function tryMutate(mutate: () => void): void {
  try {
    mutate();
  } catch {
    // frozen: fine
  }
}
