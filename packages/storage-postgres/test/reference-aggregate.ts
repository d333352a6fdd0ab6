import {
  type AggregateRow,
  type AggregateSpecInput,
  AggregateSpecSchema,
  bucketStart,
  dayOfWeek,
  type GroupKey,
  type GroupValue,
  hourOfDay,
  LatencyHistogram,
  matchesTurnFilter,
  normalizeTurnFilter,
  type Turn,
} from '@convokit/core';

/** A plain JS reading of the aggregate spec, to check the SQL against on random data. */
export function referenceAggregate(
  turns: Turn[],
  input: AggregateSpecInput,
): { rows: AggregateRow[]; totalGroups: number } {
  const spec = AggregateSpecSchema.parse(input);
  const f = normalizeTurnFilter(spec.filter);
  const groups = new Map<string, { keys: GroupValue[]; turns: Turn[] }>();
  for (const turn of turns.filter((t) => matchesTurnFilter(t, f))) {
    for (const keys of keyCombos(turn, spec.groupBy)) {
      const id = JSON.stringify(keys);
      let g = groups.get(id);
      if (!g) {
        g = { keys, turns: [] };
        groups.set(id, g);
      }
      g.turns.push(turn);
    }
  }
  if (spec.groupBy.length === 0 && groups.size === 0) groups.set('[]', { keys: [], turns: [] });
  const rows = [...groups.values()].map(({ keys, turns: ts }) => {
    const h = new LatencyHistogram();
    for (const t of ts) if (t.latencyMs !== undefined) h.add(t.latencyMs);
    const fb = ts.filter((t) => t.feedback !== undefined);
    const errors = ts.filter((t) => t.outcome === 'error').length;
    const all: Record<string, number | null> = {
      count: ts.length,
      errors,
      errorRate: ts.length ? errors / ts.length : null,
      sessions: new Set(ts.map((t) => t.sessionId)).size,
      users: new Set(ts.filter((t) => t.userId !== undefined).map((t) => t.userId)).size,
      latencyAvg: h.mean,
      latencyP50: h.quantile(0.5),
      latencyP95: h.quantile(0.95),
      latencyP99: h.quantile(0.99),
      latencyCount: h.count,
      tokensIn: ts.reduce((s, t) => s + (t.tokens?.input ?? 0), 0),
      tokensOut: ts.reduce((s, t) => s + (t.tokens?.output ?? 0), 0),
      feedbackAvg: fb.length ? fb.reduce((s, t) => s + t.feedback!, 0) / fb.length : null,
      feedbackCount: fb.length,
      firstAt: ts.length ? Math.min(...ts.map((t) => t.at)) : null,
      lastAt: ts.length ? Math.max(...ts.map((t) => t.at)) : null,
    };
    const values: Record<string, number | null> = {};
    for (const m of spec.measures) values[m] = all[m]!;
    return { keys, values };
  });
  const cmpKeys = (a: GroupValue[], b: GroupValue[]) => {
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x === y) continue;
      if (x === null) return -1;
      if (y === null) return 1;
      return x < y ? -1 : 1;
    }
    return 0;
  };
  rows.sort((a, b) => {
    if (spec.orderBy) {
      const x = a.values[spec.orderBy.measure] ?? null;
      const y = b.values[spec.orderBy.measure] ?? null;
      if (x !== y) {
        if (x === null) return 1;
        if (y === null) return -1;
        return spec.orderBy.direction === 'asc' ? x - y : y - x;
      }
    }
    return cmpKeys(a.keys, b.keys);
  });
  const end = spec.limit === undefined ? undefined : spec.offset + spec.limit;
  return { rows: rows.slice(spec.offset, end), totalGroups: rows.length };
}

const LISTS = { framework: 'frameworks', tool: 'tools', mcpServer: 'mcpServers' } as const;

function keyCombos(turn: Turn, groupBy: GroupKey[]): GroupValue[][] {
  let combos: GroupValue[][] = [[]];
  groupBy.forEach((key, i) => {
    const list = LISTS[key as keyof typeof LISTS];
    const next: GroupValue[][] = [];
    if (list) {
      const first = groupBy.indexOf(key);
      for (const c of combos) {
        for (const name of turn[list]) {
          if (first < i && !(name > (c[first] as string))) continue;
          next.push([...c, name]);
        }
      }
    } else {
      for (const c of combos) next.push([...c, single(turn, key)]);
    }
    combos = next;
  });
  return combos;
}

function single(turn: Turn, key: GroupKey): GroupValue {
  switch (key) {
    case 'persona':
      return turn.persona ?? null;
    case 'session':
      return turn.sessionId;
    case 'user':
      return turn.userId ?? null;
    case 'conversation':
      return turn.conversationId ?? null;
    case 'outcome':
      return turn.outcome;
    case 'hour':
    case 'day':
    case 'week':
    case 'month':
      return bucketStart(key, turn.at);
    case 'hourOfDay':
      return hourOfDay(turn.at);
    case 'dayOfWeek':
      return dayOfWeek(turn.at);
    default:
      throw new Error(`not single-valued: ${key}`);
  }
}
