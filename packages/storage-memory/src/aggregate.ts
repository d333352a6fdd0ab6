import {
  type AggregateResult,
  type AggregateRow,
  type AggregateSpec,
  type GroupKey,
  type GroupValue,
  LatencyHistogram,
  type Measure,
  MULTI_VALUED_KEYS,
  type MultiValuedKey,
  multiGroupValues,
  singleGroupValue,
  sortAggregateRows,
  type Turn,
} from '@convokit/core';

/**
 * The query engine: grouped measures over turns that already match the spec's filter, with the
 * semantics documented on AggregateSpecSchema. It holds no state; the store picks the turns
 * through its indexes.
 */
export function aggregateTurns(turns: Iterable<Turn>, spec: AggregateSpec): AggregateResult {
  const plan = planDimensions(spec.groupBy);
  const needs = measureNeeds(spec.measures);
  const groups = new Map<GroupValue, Group>();
  const tuple: GroupValue[] = new Array(spec.groupBy.length);

  for (const turn of turns) {
    if (plan.length === 0) {
      addTo(groups, '', [], turn, needs);
      continue;
    }
    // Every combination of this turn's values along each dimension.
    const visit = (d: number): void => {
      if (d === plan.length) {
        // One key is its own map key (null, numbers and strings stay distinct in a Map).
        addTo(groups, tuple.length === 1 ? tuple[0]! : JSON.stringify(tuple), tuple, turn, needs);
        return;
      }
      const dim = plan[d]!;
      if (dim.kind === 'pair') {
        const names = [...multiGroupValues(turn, dim.key)].sort(compareStrings);
        for (let i = 0; i < names.length; i++) {
          for (let j = i + 1; j < names.length; j++) {
            tuple[dim.first] = names[i]!;
            tuple[dim.second] = names[j]!;
            visit(d + 1);
          }
        }
      } else if (dim.kind === 'multi') {
        for (const name of multiGroupValues(turn, dim.key)) {
          tuple[dim.at] = name;
          visit(d + 1);
        }
      } else {
        tuple[dim.at] = singleGroupValue(turn, dim.key);
        visit(d + 1);
      }
    };
    visit(0);
  }

  if (plan.length === 0 && groups.size === 0) groups.set('', new Group([], needs));

  const rows: Array<{ keys: GroupValue[]; values: Partial<Record<Measure, number | null>> }> = [];
  for (const group of groups.values()) rows.push({ keys: group.keys, values: group.values(spec.measures) });

  sortAggregateRows(rows, spec.orderBy);

  const end = spec.limit === undefined ? undefined : spec.offset + spec.limit;
  return { rows: rows.slice(spec.offset, end) as AggregateRow[], totalGroups: rows.length };
}

type Dimension =
  | { kind: 'single'; key: Exclude<GroupKey, MultiValuedKey>; at: number }
  | { kind: 'multi'; key: MultiValuedKey; at: number }
  | { kind: 'pair'; key: MultiValuedKey; first: number; second: number };
function isMulti(key: GroupKey): key is MultiValuedKey {
  return (MULTI_VALUED_KEYS as readonly string[]).includes(key);
}

/** A multi-valued key named twice becomes one dimension of pairs filling both positions. */
function planDimensions(groupBy: readonly GroupKey[]): Dimension[] {
  const plan: Dimension[] = [];
  groupBy.forEach((key, at) => {
    if (!isMulti(key)) {
      plan.push({ kind: 'single', key, at });
      return;
    }
    const second = groupBy.indexOf(key, at + 1);
    if (groupBy.indexOf(key) < at) return; // the second of a pair, planned with the first
    plan.push(second === -1 ? { kind: 'multi', key, at } : { kind: 'pair', key, first: at, second });
  });
  return plan;
}

interface Needs {
  sessions: boolean;
  users: boolean;
  histogram: boolean;
}

function measureNeeds(measures: readonly Measure[]): Needs {
  return {
    sessions: measures.includes('sessions'),
    users: measures.includes('users'),
    histogram: measures.some((m) => m === 'latencyP50' || m === 'latencyP95' || m === 'latencyP99'),
  };
}

function addTo(
  groups: Map<GroupValue, Group>,
  id: GroupValue,
  keys: readonly GroupValue[],
  turn: Turn,
  needs: Needs,
): void {
  let group = groups.get(id);
  if (group === undefined) {
    group = new Group(keys.slice(), needs);
    groups.set(id, group);
  }
  group.add(turn);
}

class Group {
  count = 0;
  errors = 0;
  readonly sessions: Set<string> | undefined;
  readonly users: Set<string> | undefined;
  readonly histogram: LatencyHistogram | undefined;
  latencySum = 0;
  latencyCount = 0;
  tokensIn = 0;
  tokensOut = 0;
  feedbackSum = 0;
  feedbackCount = 0;
  firstAt = Number.POSITIVE_INFINITY;
  lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly keys: GroupValue[],
    needs: Needs,
  ) {
    this.sessions = needs.sessions ? new Set() : undefined;
    this.users = needs.users ? new Set() : undefined;
    this.histogram = needs.histogram ? new LatencyHistogram() : undefined;
  }

  add(turn: Turn): void {
    this.count++;
    if (turn.outcome === 'error') this.errors++;
    this.sessions?.add(turn.sessionId);
    if (turn.userId !== undefined) this.users?.add(turn.userId);
    if (turn.latencyMs !== undefined) {
      this.latencySum += turn.latencyMs;
      this.latencyCount++;
      this.histogram?.add(turn.latencyMs);
    }
    if (turn.tokens !== undefined) {
      this.tokensIn += turn.tokens.input;
      this.tokensOut += turn.tokens.output;
    }
    if (turn.feedback !== undefined) {
      this.feedbackSum += turn.feedback;
      this.feedbackCount++;
    }
    if (turn.at < this.firstAt) this.firstAt = turn.at;
    if (turn.at > this.lastAt) this.lastAt = turn.at;
  }

  values(measures: readonly Measure[]): Partial<Record<Measure, number | null>> {
    const out: Partial<Record<Measure, number | null>> = {};
    for (const m of measures) out[m] = this.value(m);
    return out;
  }

  value(measure: Measure): number | null {
    switch (measure) {
      case 'count':
        return this.count;
      case 'errors':
        return this.errors;
      case 'errorRate':
        return this.count === 0 ? null : this.errors / this.count;
      case 'sessions':
        return this.sessions!.size;
      case 'users':
        return this.users!.size;
      case 'latencyAvg':
        return this.latencyCount === 0 ? null : this.latencySum / this.latencyCount;
      case 'latencyP50':
        return this.histogram!.quantile(0.5);
      case 'latencyP95':
        return this.histogram!.quantile(0.95);
      case 'latencyP99':
        return this.histogram!.quantile(0.99);
      case 'latencyCount':
        return this.latencyCount;
      case 'tokensIn':
        return this.tokensIn;
      case 'tokensOut':
        return this.tokensOut;
      case 'feedbackAvg':
        return this.feedbackCount === 0 ? null : this.feedbackSum / this.feedbackCount;
      case 'feedbackCount':
        return this.feedbackCount;
      case 'firstAt':
        return this.count === 0 ? null : this.firstAt;
      case 'lastAt':
        return this.count === 0 ? null : this.lastAt;
    }
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
