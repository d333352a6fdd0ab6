/** Records kept in arrays sorted by (`at`, `id`) ascending: turns and audit events. */
export interface Timed {
  readonly at: number;
  readonly id: string;
}

export function compareTimed(a: Timed, b: Timed): number {
  if (a.at !== b.at) return a.at - b.at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** First index whose key is >= (at, id); `id = ''` gives the first index with key.at >= at. */
export function lowerBound(list: readonly Timed[], at: number, id: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const item = list[mid]!;
    if (item.at < at || (item.at === at && item.id < id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > (at, id). */
export function upperBound(list: readonly Timed[], at: number, id: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const item = list[mid]!;
    if (item.at < at || (item.at === at && item.id <= id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Inserts a batch already sorted by (`at`, `id`) into a sorted list. Time-ordered appends land at
 * the end (a push); older ones cost a merge of the tail they fall into.
 */
export function insertSorted<T extends Timed>(list: T[], batch: readonly T[]): void {
  if (batch.length === 0) return;
  const last = list[list.length - 1];
  if (last === undefined || compareTimed(last, batch[0]!) < 0) {
    for (const item of batch) list.push(item);
    return;
  }
  const start = upperBound(list, batch[0]!.at, batch[0]!.id);
  const tail = list.splice(start);
  let i = 0;
  let j = 0;
  while (i < tail.length && j < batch.length) {
    list.push(compareTimed(tail[i]!, batch[j]!) <= 0 ? tail[i++]! : batch[j++]!);
  }
  while (i < tail.length) list.push(tail[i++]!);
  while (j < batch.length) list.push(batch[j++]!);
}

/** Inserts one item into a sorted list (posting lists receive items one at a time). */
export function insertOne<T extends Timed>(list: T[], item: T): void {
  const last = list[list.length - 1];
  if (last === undefined || compareTimed(last, item) < 0) {
    list.push(item);
    return;
  }
  list.splice(upperBound(list, item.at, item.id), 0, item);
}
