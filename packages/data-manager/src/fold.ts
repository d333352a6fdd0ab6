import {
  type AggregateResult,
  type AggregateRow,
  type AggregateSpecInput,
  type GroupKey,
  type GroupValue,
  groupValuesOf,
  type Measure,
  MULTI_VALUED_KEYS,
  matchesTurnFilter,
  nextBucketStart,
  normalizeTurnFilter,
  sortAggregateRows,
  stableStringify,
  type TimeBucket,
  type Turn,
  type TurnFilter,
  type TurnStore,
} from '@convokit/core';

/**
 * Folding: bringing a cached answer up to date with turns this manager wrote, without computing
 * the query again.
 *
 * A foldable answer keeps the result of every `aggregate` call its computation made (the
 * mergeable state). Turns written through the manager are folded into those results, then the
 * query module runs again over a store that answers from the folded results (no storage read).
 * Per call, a written turn matching its filter changes only the groups it falls in:
 *
 * - measures that are sums, counts, minima or maxima (`count`, `errors`, `latencyCount`,
 *   `tokensIn`, `tokensOut`, `feedbackCount`, `firstAt`, `lastAt`, and `errorRate` next to
 *   `errors`) are updated with the turn's own values: integers and timestamps, exact in any order;
 * - distinct sessions and users and latency percentiles cannot be merged from the figures the
 *   store returns (session sets and histograms are not part of the storage contract): those
 *   groups are read again with the call's filter narrowed to them (the written turns' time
 *   buckets and persona, framework, session, user... values). A narrowed read is the same
 *   aggregate over exactly the turns of those groups, and these figures are integers or come
 *   from integer histogram counts, so its rows are what the full call returns for them;
 * - float means (`latencyAvg`, `feedbackAvg`) depend on the order their sum was taken in, which
 *   differs between an adapter's plans: such a call is read again with its own spec.
 *
 * A call that cannot be narrowed (no group key, or only keys no filter can express: a `null`
 * persona or user, `outcome`, `hourOfDay`, `dayOfWeek`), a paginated call (`limit`, `offset`),
 * or a fold in which every changed call would be read again in full makes the answer unfoldable:
 * it is recomputed.
 */

/** One aggregate call of a computation and its (possibly folded) result. */
export interface RecordedCall {
  spec: AggregateSpecInput;
  result: AggregateResult;
}

/** What an answer keeps to be folded: its calls by canonical spec. */
export type FoldState = ReadonlyMap<string, RecordedCall>;

/** Answers keeping more rows than this are not made foldable (their state would cost too much memory). */
export const MAX_FOLD_ROWS = 20_000;

export class Unfoldable extends Error {}

const ADDITIVE: ReadonlySet<Measure> = new Set<Measure>([
  'count',
  'errors',
  'latencyCount',
  'tokensIn',
  'tokensOut',
  'feedbackCount',
  'firstAt',
  'lastAt',
]);

const TIME_KEYS: ReadonlySet<GroupKey> = new Set<GroupKey>(['hour', 'day', 'week', 'month']);
const MULTI: ReadonlySet<GroupKey> = new Set<GroupKey>(MULTI_VALUED_KEYS);
/** Group keys a filter field can select, and that field. */
const FILTER_FIELD: Partial<Record<GroupKey, keyof TurnFilter>> = {
  persona: 'persona',
  framework: 'framework',
  tool: 'tool',
  mcpServer: 'mcpServer',
  session: 'sessionId',
  user: 'userId',
  conversation: 'conversationId',
};

function groupByOf(spec: AggregateSpecInput): GroupKey[] {
  return spec.groupBy ?? [];
}

/**
 * Float means (`latencyAvg`, `feedbackAvg`) are float sums divided by counts, and a float sum
 * depends on the order its terms are added in: an adapter may serve a narrowed filter from
 * another plan than the full call (rollup cells summed, or the turns scanned), whose sum can
 * differ in the last bit (both the memory and the sqlite adapter do). A call asking for one is
 * never narrowed: it is read again with its own spec, which gives exactly what a recomputation
 * gives.
 */
function hasFloatMean(spec: AggregateSpecInput): boolean {
  return spec.measures.some((m) => m === 'latencyAvg' || m === 'feedbackAvg');
}

/** Whether a call's measures can all be folded with the turns' own values. */
function additive(spec: AggregateSpecInput): boolean {
  const measures = new Set(spec.measures);
  for (const m of measures) {
    if (m === 'errorRate') {
      if (!measures.has('errors') || !measures.has('count')) return false;
    } else if (!ADDITIVE.has(m)) return false;
  }
  return true;
}

/** Whether a call could ever be folded (paginated or un-narrowable non-additive calls never can). */
function foldableCall(spec: AggregateSpecInput): boolean {
  if (spec.limit !== undefined || (spec.offset ?? 0) > 0) return false;
  if (additive(spec) || hasFloatMean(spec)) return true;
  return groupByOf(spec).some((k) => TIME_KEYS.has(k) || FILTER_FIELD[k] !== undefined);
}

/**
 * A store that passes every call through, keeping each aggregate's spec and result; any other
 * read (list, count, get, search) makes the computation unfoldable.
 */
export function recordAggregates(turns: TurnStore): {
  store: TurnStore;
  state(): FoldState | undefined;
} {
  const calls = new Map<string, RecordedCall>();
  let foldable = true;
  const store: TurnStore = {
    append: (batch, options) => turns.append(batch, options),
    deleteBefore: (before) => turns.deleteBefore(before),
    get: (id) => {
      foldable = false;
      return turns.get(id);
    },
    search: (text, options) => {
      foldable = false;
      return turns.search(text, options);
    },
    list: (filter, options) => {
      foldable = false;
      return turns.list(filter, options);
    },
    count: (filter) => {
      foldable = false;
      return turns.count(filter);
    },
    aggregate: async (spec) => {
      const result = await turns.aggregate(spec);
      if (!foldableCall(spec)) foldable = false;
      else calls.set(stableStringify(spec), { spec, result });
      return result;
    },
  };
  return {
    store,
    state() {
      if (!foldable) return undefined;
      return stateRows(calls) > MAX_FOLD_ROWS ? undefined : calls;
    },
  };
}

/** Rows the recorded results of `state` hold (its memory cost). */
export function stateRows(state: FoldState): number {
  let rows = 0;
  for (const call of state.values()) rows += call.result.rows.length;
  return rows;
}

/** A read-only store answering exactly the recorded aggregate calls (a rerun of the same query). */
export function replayStore(state: FoldState): TurnStore {
  const refuse = (): never => {
    throw new Unfoldable('a folded answer reads only its recorded aggregates');
  };
  return {
    append: refuse,
    deleteBefore: refuse,
    get: refuse,
    search: refuse,
    list: refuse,
    count: refuse,
    aggregate: async (spec) => {
      const call = state.get(stableStringify(spec));
      if (!call) refuse();
      return call!.result;
    },
  };
}

/**
 * The state with `written` (turns stored through the manager since the state was read, oldest
 * first) folded in. Reads the store only for narrowed re-reads; throws `Unfoldable` when a call
 * the turns change cannot be folded.
 */
export async function foldTurns(
  state: FoldState,
  written: readonly Turn[],
  turns: TurnStore,
): Promise<{ state: FoldState; fullReads: number }> {
  const changed: Array<[string, RecordedCall, Turn[]]> = [];
  for (const [key, call] of state) {
    const filter = normalizeTurnFilter(call.spec.filter ?? {});
    const matching = written.filter((t) => matchesTurnFilter(t, filter));
    if (matching.length > 0) changed.push([key, call, matching]);
  }
  const full = changed.filter(([, call]) => hasFloatMean(call.spec));
  // Every changed call read again with its own spec would be a recomputation, not a fold.
  if (changed.length > 0 && full.length === changed.length) {
    throw new Unfoldable('every call the turns change would be read again in full');
  }
  // A copy in the original call order, with the changed calls replaced.
  const out = new Map<string, RecordedCall>(state);
  await Promise.all(
    changed.map(async ([key, call, matching]) => {
      if (hasFloatMean(call.spec)) {
        out.set(key, { spec: call.spec, result: await turns.aggregate(call.spec) });
        return;
      }
      const rows = additive(call.spec)
        ? foldAdditive(call, matching)
        : await rereadGroups(call, matching, turns);
      out.set(key, {
        spec: call.spec,
        result: { rows: sortAggregateRows(rows, call.spec.orderBy), totalGroups: rows.length },
      });
    }),
  );
  return { state: out, fullReads: full.length };
}

/** The group keys of `turn` for `groupBy`: several tuples for multi-valued keys and pairs. */
export function groupTuples(turn: Turn, groupBy: readonly GroupKey[]): GroupValue[][] {
  let tuples: GroupValue[][] = [[]];
  for (let i = 0; i < groupBy.length; i++) {
    const key = groupBy[i]!;
    const pairedWith = MULTI.has(key) ? groupBy.indexOf(key) : i;
    if (pairedWith < i) {
      // Second mention of a multi-valued key: the pair's larger name (filled in below).
      continue;
    }
    const second = MULTI.has(key) ? groupBy.indexOf(key, i + 1) : -1;
    const names = groupValuesOf(turn, key);
    const next: GroupValue[][] = [];
    if (second >= 0) {
      const distinct = [...new Set(names as string[])].sort(compareStrings);
      for (const tuple of tuples) {
        for (let a = 0; a < distinct.length; a++) {
          for (let b = a + 1; b < distinct.length; b++) {
            const t = [...tuple];
            t[i] = distinct[a]!;
            t[second] = distinct[b]!;
            next.push(t);
          }
        }
      }
    } else {
      const distinct = MULTI.has(key) ? [...new Set(names)] : names;
      for (const tuple of tuples) {
        for (const v of distinct) {
          const t = [...tuple];
          t[i] = v;
          next.push(t);
        }
      }
    }
    tuples = next;
  }
  return tuples;
}

const rowKey = (keys: readonly GroupValue[]): string => JSON.stringify(keys);

function foldAdditive(call: RecordedCall, matching: readonly Turn[]): AggregateRow[] {
  const measures = [...new Set(call.spec.measures)];
  const groupBy = groupByOf(call.spec);
  const tuples = matching.map((turn) => groupTuples(turn, groupBy));
  // Only rows whose first key a turn falls under can change: index just those (a call may hold
  // thousands of rows, a fold touches a few).
  const firsts = new Set<GroupValue>();
  for (const list of tuples) for (const keys of list) firsts.add(keys[0] ?? null);
  const out = [...call.result.rows];
  const index = new Map<string, number>();
  for (let i = 0; i < out.length; i++) {
    const keys = out[i]!.keys;
    if (firsts.has(keys[0] ?? null)) index.set(rowKey(keys), i);
  }
  // Rows are copied before their first change: the cached ones are frozen inside answers.
  const copied = new Set<number>();
  for (let t = 0; t < matching.length; t++) {
    for (const keys of tuples[t]!) {
      const k = rowKey(keys);
      let i = index.get(k);
      if (i === undefined) {
        i = out.push({ keys, values: emptyRow(measures) }) - 1;
        index.set(k, i);
        copied.add(i);
      } else if (!copied.has(i)) {
        out[i] = { keys: out[i]!.keys, values: { ...out[i]!.values } };
        copied.add(i);
      }
      addTurn(out[i]!.values, matching[t]!, measures);
    }
  }
  return out;
}

function emptyRow(measures: readonly Measure[]): AggregateRow['values'] {
  const values: AggregateRow['values'] = {};
  for (const m of measures) values[m] = m === 'firstAt' || m === 'lastAt' || m === 'errorRate' ? null : 0;
  return values;
}

function addTurn(v: AggregateRow['values'], turn: Turn, measures: readonly Measure[]): void {
  for (const m of measures) {
    switch (m) {
      case 'count':
        v.count = (v.count ?? 0) + 1;
        break;
      case 'errors':
        v.errors = (v.errors ?? 0) + (turn.outcome === 'error' ? 1 : 0);
        break;
      case 'latencyCount':
        v.latencyCount = (v.latencyCount ?? 0) + (turn.latencyMs === undefined ? 0 : 1);
        break;
      case 'tokensIn':
        v.tokensIn = (v.tokensIn ?? 0) + (turn.tokens?.input ?? 0);
        break;
      case 'tokensOut':
        v.tokensOut = (v.tokensOut ?? 0) + (turn.tokens?.output ?? 0);
        break;
      case 'feedbackCount':
        v.feedbackCount = (v.feedbackCount ?? 0) + (turn.feedback === undefined ? 0 : 1);
        break;
      case 'firstAt':
        v.firstAt = v.firstAt === null || v.firstAt === undefined ? turn.at : Math.min(v.firstAt, turn.at);
        break;
      case 'lastAt':
        v.lastAt = v.lastAt === null || v.lastAt === undefined ? turn.at : Math.max(v.lastAt, turn.at);
        break;
      default:
        break;
    }
  }
  // After the counts: errors / count, as every adapter divides.
  if (measures.includes('errorRate')) v.errorRate = (v.errors ?? 0) / (v.count ?? 1);
}

/**
 * Reads again the groups the turns fall in, with the call's filter narrowed to them, and puts
 * those rows in place of the cached ones. A row of the narrowed read is exact when each of its
 * narrowed keys is one the narrowing selected: every turn of that group passes the narrowed filter.
 */
async function rereadGroups(
  call: RecordedCall,
  matching: readonly Turn[],
  turns: TurnStore,
): Promise<AggregateRow[]> {
  if (call.spec.limit !== undefined || (call.spec.offset ?? 0) > 0) throw new Unfoldable('paginated call');
  const groupBy = groupByOf(call.spec);
  const tuples = matching.flatMap((t) => groupTuples(t, groupBy));
  if (tuples.length === 0) return [...call.result.rows]; // the turns are in no group of this call
  const base = call.spec.filter ?? {};
  const narrowed: TurnFilter = { ...base };
  const tests: Array<(keys: readonly GroupValue[]) => boolean> = [];
  const fieldValues = new Map<keyof TurnFilter, Set<string>>();
  for (let i = 0; i < groupBy.length; i++) {
    const key = groupBy[i]!;
    const values = tuples.map((t) => t[i]!);
    if (TIME_KEYS.has(key)) {
      const lo = Math.min(...(values as number[]));
      const hi = nextBucketStart(key as TimeBucket, Math.max(...(values as number[])));
      narrowed.from = Math.max(narrowed.from ?? Number.NEGATIVE_INFINITY, lo);
      narrowed.to = Math.min(narrowed.to ?? Number.POSITIVE_INFINITY, hi);
      tests.push((keys) => (keys[i] as number) >= lo && (keys[i] as number) < hi);
      continue;
    }
    const field = FILTER_FIELD[key];
    // A null key (no persona, user or conversation) cannot be selected by a filter. A field the
    // call's filter already lists: for a single-valued key the written turns' values are among
    // those listed (they match the filter), so narrowing to them selects the same turns of those
    // groups; a multi-valued one (framework...) would drop turns that match through another name.
    if (field === undefined || values.some((v) => v === null)) continue;
    if (MULTI.has(key) && base[field] !== undefined) continue;
    const set = new Set(values as string[]);
    const all = fieldValues.get(field) ?? new Set<string>();
    for (const v of set) all.add(v);
    fieldValues.set(field, all);
    tests.push((keys) => set.has(keys[i] as string));
  }
  for (const [field, values] of fieldValues) (narrowed as Record<string, unknown>)[field] = [...values];
  if (tests.length === 0) throw new Unfoldable('no group key of this call can be narrowed');
  const inside = (row: AggregateRow) => tests.every((test) => test(row.keys));
  const spec: AggregateSpecInput = { filter: narrowed, groupBy, measures: call.spec.measures };
  const fresh = await turns.aggregate(spec);
  return [...call.result.rows.filter((row) => !inside(row)), ...fresh.rows.filter(inside)];
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
