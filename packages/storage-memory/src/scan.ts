import {
  type AggregateResult,
  type AggregateRow,
  type AggregateSpec,
  bucketStart,
  dayOfWeek,
  type GroupKey,
  type GroupValue,
  HOUR_MS,
  hourOfDay,
  LatencyHistogram,
  type Measure,
  type NormalizedTurnFilter,
  ZERO_BUCKET,
} from '@convokit/core';
import type { Dictionary, MultiColumn, TurnColumns } from './columns.js';
import { Scratch } from './scratch.js';

/**
 * `aggregateTurns` over the column rows `lo..hi` (a time range of the sorted turns) that pass
 * `f`, with the same answer: the same groups, keys, order and values, sums taken in the same
 * (time) order. Each dimension value becomes a small integer code, a group is found by the
 * combined code (a dense table when the codes are few), and the measures accumulate in typed
 * arrays, so the loop allocates nothing per turn. Undefined when the combined codes of the
 * dimensions would not fit in a double's integers.
 */
export function aggregateColumns(
  c: TurnColumns,
  lo: number,
  hi: number,
  f: NormalizedTurnFilter,
  spec: AggregateSpec,
  limits: ScanLimits = DEFAULT_LIMITS,
  scratch?: Scratch,
): AggregateResult | undefined {
  const rows = filterRows(c, lo, hi, f, scratch);
  const m = rows === null ? hi - lo : rows.length;
  const dims = planDims(c, spec.groupBy, c.at, lo, hi);
  const acc = new Accumulator(c, new Set<Measure>(spec.measures), limits, scratch);

  // The combined code of a group: sum of code * stride over the dimensions, the dimension with
  // the most codes at stride 1 (it heads the lookup chains below).
  const product = assignStrides(dims);
  // Codes past 2^53 would collide: the caller scans the turns instead.
  if (product === undefined) return undefined;
  const groups = new GroupTable(
    dims.length === 0 ? 1 : Math.max(...dims.map((d) => d.card)),
    product,
    limits.denseCells,
    scratch,
  );

  const d0 = dims[0];
  const d1 = dims[1];
  const d2 = dims[2];
  for (let k = 0; k < m; k++) {
    const i = rows === null ? lo + k : rows[k]!;
    if (d0 === undefined) {
      acc.add(groups.find(0, acc), i);
      continue;
    }
    const n0 = d0.codes(i);
    if (n0 === 0) continue;
    const s0 = d0.stride;
    if (d1 === undefined) {
      for (let a = 0; a < n0; a++) acc.add(groups.find(d0.out[a]! * s0, acc), i);
      continue;
    }
    const n1 = d1.codes(i);
    if (n1 === 0) continue;
    const s1 = d1.stride;
    if (d2 === undefined) {
      for (let a = 0; a < n0; a++) {
        const base = d0.out[a]! * s0;
        for (let b = 0; b < n1; b++) acc.add(groups.find(base + d1.out[b]! * s1, acc), i);
      }
      continue;
    }
    const n2 = d2.codes(i);
    const s2 = d2.stride;
    for (let a = 0; a < n0; a++) {
      for (let b = 0; b < n1; b++) {
        const base = d0.out[a]! * s0 + d1.out[b]! * s1;
        for (let e = 0; e < n2; e++) acc.add(groups.find(base + d2.out[e]! * s2, acc), i);
      }
    }
  }
  if (dims.length === 0 && acc.size === 0) groups.find(0, acc);
  return groupRows(spec, dims, groups, acc);
}

/** Strides for the dimensions (the one with most codes at 1), or undefined past 2^53 codes. */
export function assignStrides(dims: readonly Dim[]): number | undefined {
  let product = 1;
  for (const d of [...dims].sort((a, b) => b.card - a.card)) {
    d.stride = product;
    product *= d.card;
  }
  return product > Number.MAX_SAFE_INTEGER ? undefined : product;
}

/** The rows of the groups in spec order, after offset and limit. */
export function groupRows(
  spec: AggregateSpec,
  dims: readonly Dim[],
  groups: GroupTable,
  acc: Accumulator,
): AggregateResult {
  const n = acc.size;
  const codes = groups.codes;

  // Each group's place in key order (core compareGroupKeys), as one number: the rank of its key at each
  // position, the first position weighing most.
  const width = spec.groupBy.length;
  const weights: number[] = new Array(width).fill(0);
  const rankCards: number[] = new Array(width).fill(1);
  for (const d of dims) for (const [position, card] of d.slots) rankCards[position] = card;
  for (let p = width - 1, w = 1; p >= 0; p--) {
    weights[p] = w;
    w *= rankCards[p]!;
  }
  const keyOrder = new Float64Array(n);
  const ranks: number[] = new Array(width).fill(0);
  for (let g = 0; g < n; g++) {
    let sum = 0;
    for (const d of dims) d.rank(Math.floor(codes[g]! / d.stride) % d.card, ranks);
    for (let p = 0; p < width; p++) sum += ranks[p]! * weights[p]!;
    keyOrder[g] = sum;
  }

  let compare: (a: number, b: number) => number;
  const order = spec.orderBy;
  if (order) {
    const sign = order.direction === 'asc' ? 1 : -1;
    const value = new Float64Array(n);
    for (let g = 0; g < n; g++) value[g] = acc.value(g, order.measure) ?? Number.NaN;
    compare = (a, b) => {
      const va = value[a]!;
      const vb = value[b]!;
      if (va !== vb) {
        const na = Number.isNaN(va);
        const nb = Number.isNaN(vb);
        if (!(na && nb)) {
          if (na) return 1;
          if (nb) return -1;
          return sign * (va - vb);
        }
      }
      return keyOrder[a]! - keyOrder[b]!;
    };
  } else {
    compare = (a, b) => keyOrder[a]! - keyOrder[b]!;
  }
  const end = spec.limit === undefined ? n : Math.min(n, spec.offset + spec.limit);
  const ids = end * 4 < n ? smallest(n, end, compare) : Array.from({ length: n }, (_, g) => g).sort(compare);

  const out: AggregateRow[] = [];
  for (let r = spec.offset; r < end; r++) {
    const g = ids[r]!;
    const keys: GroupValue[] = new Array(width);
    for (const d of dims) d.decode(Math.floor(codes[g]! / d.stride) % d.card, keys);
    const values: Partial<Record<Measure, number | null>> = {};
    for (const measure of spec.measures) values[measure] = acc.value(g, measure);
    out.push({ keys, values });
  }
  return { rows: out, totalGroups: n };
}

/** The first `k` of `0..n-1` in `compare` order, sorted, kept in a bounded sorted list. */
function smallest(n: number, k: number, compare: (a: number, b: number) => number): number[] {
  const top: number[] = [];
  if (k === 0) return top;
  for (let g = 0; g < n; g++) {
    if (top.length === k && compare(g, top[k - 1]!) >= 0) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(top[mid]!, g) <= 0) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, g);
    if (top.length > k) top.pop();
  }
  return top;
}

/**
 * Group numbers by combined code: a dense table when the codes are few, else chains headed by
 * the code of the stride-1 dimension (the one with most codes), so two-dimension groupings such
 * as (session, user) cost one table read and a short walk, with no hashing.
 */
export class GroupTable {
  /** Each group's combined code, by group number (`size` of them). */
  codes: Float64Array;
  size = 0;
  readonly #dense: Int32Array | null;
  readonly #heads: Int32Array | null;
  readonly #headCard: number;
  #next: Int32Array;
  readonly #sparse: Map<number, number> | null;

  constructor(
    headCard: number,
    product: number,
    denseCells: number,
    private readonly scratch: Scratch = new Scratch(),
  ) {
    this.#headCard = headCard;
    this.codes = scratch.float64('group codes', 16);
    this.#next = scratch.int32('group chains', 16);
    this.#dense = product <= denseCells ? scratch.int32('group table', product).fill(-1, 0, product) : null;
    this.#heads =
      this.#dense === null && headCard <= 1 << 24
        ? scratch.int32('group heads', headCard).fill(-1, 0, headCard)
        : null;
    this.#sparse = this.#dense === null && this.#heads === null ? new Map() : null;
  }

  find(code: number, acc: Accumulator): number {
    const dense = this.#dense;
    if (dense !== null) {
      let g = dense[code]!;
      if (g < 0) {
        g = this.#add(code, acc);
        dense[code] = g;
      }
      return g;
    }
    const heads = this.#heads;
    if (heads !== null) {
      const head = code % this.#headCard;
      let g = heads[head]!;
      while (g >= 0 && this.codes[g] !== code) g = this.#next[g]!;
      if (g < 0) {
        g = this.#add(code, acc);
        if (g >= this.#next.length) this.#next = this.scratch.int32('group chains', g + 1, g);
        this.#next[g] = heads[head]!;
        heads[head] = g;
      }
      return g;
    }
    let g = this.#sparse!.get(code);
    if (g === undefined) {
      g = this.#add(code, acc);
      this.#sparse!.set(code, g);
    }
    return g;
  }

  #add(code: number, acc: Accumulator): number {
    const g = this.size++;
    if (g >= this.codes.length) this.codes = this.scratch.float64('group codes', g + 1, g);
    this.codes[g] = code;
    acc.addGroup();
    return g;
  }
}

/**
 * The rows of `lo..hi` that pass the filter's fields other than time, or null when it names none
 * (every row passes). Written into `scratch` when given: valid until the next scan borrows it.
 */
export function filterRows(
  c: TurnColumns,
  lo: number,
  hi: number,
  f: NormalizedTurnFilter,
  scratch?: Scratch,
): Int32Array | null {
  const checks: Array<(i: number) => boolean> = [];
  if (f.outcome !== undefined) {
    const want = f.outcome === 'error' ? 1 : 0;
    const error = c.error;
    checks.push((i) => error[i] === want);
  }
  const single = (values: string[] | undefined, column: Int32Array, dict: Dictionary) => {
    if (values === undefined) return;
    const mask = maskOf(values, dict);
    checks.push((i) => {
      const id = column[i]!;
      return id >= 0 && mask[id] === 1;
    });
  };
  single(f.sessionId, c.session, c.sessions);
  single(f.userId, c.user, c.users);
  single(f.persona, c.persona, c.personas);
  single(f.conversationId, c.conversation, c.conversations);
  const multi = (values: string[] | undefined, column: MultiColumn) => {
    if (values === undefined) return;
    const mask = maskOf(values, column.dict);
    const { offsets, values: ids } = column;
    checks.push((i) => {
      for (let k = offsets[i]!; k < offsets[i + 1]!; k++) if (mask[ids[k]!] === 1) return true;
      return false;
    });
  };
  multi(f.framework, c.frameworks);
  multi(f.tool, c.tools);
  multi(f.mcpServer, c.mcpServers);
  if (checks.length === 0) return null;
  const rows = scratch === undefined ? new Int32Array(hi - lo) : scratch.int32('filtered rows', hi - lo);
  let n = 0;
  next: for (let i = lo; i < hi; i++) {
    for (const check of checks) if (!check(i)) continue next;
    rows[n++] = i;
  }
  return rows.subarray(0, n);
}

function maskOf(values: readonly string[], dict: Dictionary): Uint8Array {
  const mask = new Uint8Array(dict.size);
  for (const v of values) {
    const id = dict.find(v);
    if (id >= 0) mask[id] = 1;
  }
  return mask;
}

/** One grouping dimension: the codes of row i (written to `out`), and back to a key. */
export interface Dim {
  readonly key: GroupKey;
  /** A multi-valued key named twice: pairs of names. */
  readonly pair?: boolean;
  card: number;
  stride: number;
  out: Int32Array;
  codes(i: number): number;
  decode(code: number, tuple: GroupValue[]): void;
  /** The key positions this dimension fills, each with how many ranks its keys take. */
  slots: Array<[position: number, ranks: number]>;
  /** Writes the rank (in core compareGroupKeys order) of each of its positions' keys into `ranks`. */
  rank(code: number, ranks: number[]): void;
}

const MULTI: Partial<Record<GroupKey, 'frameworks' | 'tools' | 'mcpServers'>> = {
  framework: 'frameworks',
  tool: 'tools',
  mcpServer: 'mcpServers',
};

export function planDims(
  c: TurnColumns,
  groupBy: readonly GroupKey[],
  times: Float64Array,
  lo: number,
  hi: number,
): Dim[] {
  const dims: Dim[] = [];
  groupBy.forEach((key, at) => {
    const multi = MULTI[key];
    if (multi === undefined) {
      dims.push(singleDim(c, key, at, times, lo, hi));
      return;
    }
    if (groupBy.indexOf(key) < at) return; // the second of a pair, planned with the first
    const second = groupBy.indexOf(key, at + 1);
    dims.push(second === -1 ? multiDim(key, c[multi], at) : pairDim(key, c[multi], at, second));
  });
  return dims;
}

function dictDim(key: GroupKey, column: Int32Array, dict: Dictionary, at: number): Dim {
  const out = new Int32Array(1);
  const byName = dict.ranks();
  return {
    key,
    slots: [[at, dict.size + 1]],
    rank(code, ranks) {
      ranks[at] = code === 0 ? 0 : 1 + byName[code - 1]!;
    },
    card: dict.size + 1,
    stride: 1,
    out,
    codes(i) {
      out[0] = column[i]! + 1;
      return 1;
    },
    decode(code, tuple) {
      tuple[at] = code === 0 ? null : dict.names[code - 1]!;
    },
  };
}

function singleDim(
  c: TurnColumns,
  key: GroupKey,
  at: number,
  times: Float64Array,
  lo: number,
  hi: number,
): Dim {
  switch (key) {
    case 'persona':
      return dictDim(key, c.persona, c.personas, at);
    case 'session':
      return dictDim(key, c.session, c.sessions, at);
    case 'user':
      return dictDim(key, c.user, c.users, at);
    case 'conversation':
      return dictDim(key, c.conversation, c.conversations, at);
    case 'outcome': {
      const out = new Int32Array(1);
      const error = c.error;
      return {
        key,
        slots: [[at, 2]],
        rank(code, ranks) {
          ranks[at] = code === 1 ? 0 : 1; // 'error' < 'ok'
        },
        card: 2,
        stride: 1,
        out,
        codes(i) {
          out[0] = error[i]!;
          return 1;
        },
        decode(code, tuple) {
          tuple[at] = code === 1 ? 'error' : 'ok';
        },
      };
    }
    default:
      return timeDim(times, key, at, lo, hi);
  }
}

/**
 * A time dimension, computed once per UTC hour: rows are in time order, so consecutive rows
 * share their hour and the calendar arithmetic runs only where the hour changes.
 */
function timeDim(times: Float64Array, key: GroupKey, at: number, lo: number, hi: number): Dim {
  const out = new Int32Array(1);
  const of = timeValue(key);
  // Buckets get codes in order of appearance (ascending time), at most one per hour of the range.
  const bounded = key === 'hourOfDay' || key === 'dayOfWeek';
  const card = bounded
    ? key === 'hourOfDay'
      ? 24
      : 7
    : hi > lo
      ? Math.floor(times[hi - 1]! / HOUR_MS) - Math.floor(times[lo]! / HOUR_MS) + 1
      : 1;
  const values: number[] = [];
  let hour = Number.NaN;
  let code = 0;
  return {
    key,
    // Codes follow time (or are the hour or weekday themselves), so they are the ranks.
    slots: [[at, card]],
    rank(code, ranks) {
      ranks[at] = code;
    },
    card,
    stride: 1,
    out,
    codes(i) {
      const t = times[i]!;
      const h = Math.floor(t / HOUR_MS);
      if (h !== hour) {
        hour = h;
        const v = of(t);
        if (bounded) code = v;
        else if (values.length === 0 || values[values.length - 1] !== v) {
          code = values.length;
          values.push(v);
        }
      }
      out[0] = code;
      return 1;
    },
    decode(code, tuple) {
      tuple[at] = bounded ? code : values[code]!;
    },
  };
}

function timeValue(key: GroupKey): (at: number) => number {
  switch (key) {
    case 'hour':
    case 'day':
    case 'week':
    case 'month':
      return (t) => bucketStart(key, t);
    case 'hourOfDay':
      return hourOfDay;
    case 'dayOfWeek':
      return dayOfWeek;
    default:
      throw new Error(`not a single-valued group key: ${key}`);
  }
}

function multiDim(key: GroupKey, column: MultiColumn, at: number): Dim {
  const out = new Int32Array(101);
  const { offsets } = column;
  const byName = column.dict.ranks();
  return {
    key,
    slots: [[at, Math.max(1, column.dict.size)]],
    rank(code, ranks) {
      ranks[at] = byName[code]!;
    },
    card: Math.max(1, column.dict.size),
    stride: 1,
    out,
    codes(i) {
      const start = offsets[i]!;
      const n = offsets[i + 1]! - start;
      for (let k = 0; k < n; k++) out[k] = column.values[start + k]!;
      return n;
    },
    decode(code, tuple) {
      tuple[at] = column.dict.names[code]!;
    },
  };
}

/** Unordered pairs of distinct names of one turn, coded by name rank, the smaller first. */
function pairDim(key: GroupKey, column: MultiColumn, first: number, second: number): Dim {
  const names = column.dict.names;
  const n = names.length;
  const rank = column.dict.ranks();
  const byName = new Int32Array(n);
  for (let id = 0; id < n; id++) byName[rank[id]!] = id;
  const card = Math.max(1, n * n);
  const out = new Int32Array((100 * 99) / 2);
  const ranks = new Int32Array(100);
  const { offsets } = column;
  return {
    key,
    pair: true,
    slots: [
      [first, Math.max(1, n)],
      [second, Math.max(1, n)],
    ],
    rank(code, ranks) {
      ranks[first] = Math.floor(code / n);
      ranks[second] = code % n;
    },
    card,
    stride: 1,
    out,
    codes(i) {
      const start = offsets[i]!;
      const k = offsets[i + 1]! - start;
      if (k < 2) return 0;
      // Insertion sort by rank: a turn holds few names.
      for (let a = 0; a < k; a++) {
        const r = rank[column.values[start + a]!]!;
        let b = a;
        while (b > 0 && ranks[b - 1]! > r) {
          ranks[b] = ranks[b - 1]!;
          b--;
        }
        ranks[b] = r;
      }
      let count = 0;
      for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) out[count++] = ranks[a]! * n + ranks[b]!;
      return count;
    },
    decode(code, tuple) {
      tuple[first] = names[byName[Math.floor(code / n)]!]!;
      tuple[second] = names[byName[code % n]!]!;
    },
  };
}

/** Sums over some turns, as a rollup keeps them; `histogram` (bucket -> turns) when kept. */
export interface CellSums {
  count: number;
  errors: number;
  latencySum: number;
  latencyCount: number;
  latencyMin: number;
  latencyMax: number;
  tokensIn: number;
  tokensOut: number;
  feedbackSum: number;
  feedbackCount: number;
  firstAt: number;
  lastAt: number;
  histogram: Map<number, number> | null;
}

/** How much one scan may allocate for each table before it falls back to a slower, smaller one. */
export interface ScanLimits {
  /** Cells of a dense group table (else lookup chains). */
  denseCells: number;
  /** Bytes of distinct-value marks (else sets). */
  markBytes: number;
  /** Cells of dense latency histograms (else maps). */
  histogramCells: number;
}

export const DEFAULT_LIMITS: ScanLimits = {
  denseCells: 1 << 21,
  markBytes: 64 << 20,
  histogramCells: 8 << 20,
};

/**
 * Measures per group, in typed arrays indexed by group number, borrowed from the scratch (so a
 * scan of many groups reallocates nothing once a query of that size has run).
 */
export class Accumulator {
  size = 0;
  count: Int32Array;
  errors: Int32Array;
  latencySum: Float64Array;
  latencyCount: Int32Array;
  latencyMin: Float64Array;
  latencyMax: Float64Array;
  tokensIn: Float64Array;
  tokensOut: Float64Array;
  feedbackSum: Float64Array;
  feedbackCount: Int32Array;
  firstAt: Float64Array;
  lastAt: Float64Array;
  readonly sessions: Distinct | null;
  readonly users: Distinct | null;
  readonly histogram: Histograms | null;

  constructor(
    private readonly c: TurnColumns,
    needs: ReadonlySet<Measure>,
    limits: ScanLimits,
    private readonly scratch: Scratch = new Scratch(),
  ) {
    this.count = scratch.int32('acc count', 0);
    this.errors = scratch.int32('acc errors', 0);
    this.latencySum = scratch.float64('acc latency sum', 0);
    this.latencyCount = scratch.int32('acc latency count', 0);
    this.latencyMin = scratch.float64('acc latency min', 0);
    this.latencyMax = scratch.float64('acc latency max', 0);
    this.tokensIn = scratch.float64('acc tokens in', 0);
    this.tokensOut = scratch.float64('acc tokens out', 0);
    this.feedbackSum = scratch.float64('acc feedback sum', 0);
    this.feedbackCount = scratch.int32('acc feedback count', 0);
    this.firstAt = scratch.float64('acc first', 0);
    this.lastAt = scratch.float64('acc last', 0);
    this.sessions = needs.has('sessions')
      ? new Distinct('sessions', c.session, c.sessions.size, limits.markBytes, scratch)
      : null;
    this.users = needs.has('users')
      ? new Distinct('users', c.user, c.users.size, limits.markBytes, scratch)
      : null;
    this.histogram =
      needs.has('latencyP50') || needs.has('latencyP95') || needs.has('latencyP99')
        ? new Histograms(c, limits.histogramCells, scratch)
        : null;
  }

  addGroup(): number {
    const g = this.size++;
    if (g >= this.count.length) this.#grow(g + 1);
    this.count[g] = 0;
    this.errors[g] = 0;
    this.latencySum[g] = 0;
    this.latencyCount[g] = 0;
    this.latencyMin[g] = Number.POSITIVE_INFINITY;
    this.latencyMax[g] = Number.NEGATIVE_INFINITY;
    this.tokensIn[g] = 0;
    this.tokensOut[g] = 0;
    this.feedbackSum[g] = 0;
    this.feedbackCount[g] = 0;
    this.firstAt[g] = 0;
    this.lastAt[g] = 0;
    this.sessions?.addGroup(g);
    this.users?.addGroup(g);
    this.histogram?.addGroup(g);
    return g;
  }

  add(g: number, i: number): void {
    const c = this.c;
    const at = c.at[i]!;
    if (this.count[g] === 0) this.firstAt[g] = at;
    this.lastAt[g] = at;
    this.count[g]!++;
    this.errors[g]! += c.error[i]!;
    const latency = c.latency[i]!;
    if (!Number.isNaN(latency)) {
      this.latencySum[g]! += latency;
      this.latencyCount[g]!++;
      if (latency < this.latencyMin[g]!) this.latencyMin[g] = latency;
      if (latency > this.latencyMax[g]!) this.latencyMax[g] = latency;
      this.histogram?.add(g, c.latencyBucket[i]!);
    }
    this.tokensIn[g]! += c.tokensIn[i]!;
    this.tokensOut[g]! += c.tokensOut[i]!;
    const feedback = c.feedback[i]!;
    if (!Number.isNaN(feedback)) {
      this.feedbackSum[g]! += feedback;
      this.feedbackCount[g]!++;
    }
    this.sessions?.add(g, i);
    this.users?.add(g, i);
  }

  /** Adds a rollup cell: the sums of turns whose latency buckets it holds. */
  addCell(g: number, cell: CellSums): void {
    if (this.count[g] === 0 || cell.firstAt < this.firstAt[g]!) this.firstAt[g] = cell.firstAt;
    if (this.count[g] === 0 || cell.lastAt > this.lastAt[g]!) this.lastAt[g] = cell.lastAt;
    this.count[g]! += cell.count;
    this.errors[g]! += cell.errors;
    this.latencySum[g]! += cell.latencySum;
    this.latencyCount[g]! += cell.latencyCount;
    if (cell.latencyMin < this.latencyMin[g]!) this.latencyMin[g] = cell.latencyMin;
    if (cell.latencyMax > this.latencyMax[g]!) this.latencyMax[g] = cell.latencyMax;
    const h = this.histogram;
    // forEach hands over key and value without an entry array per bucket (a 90-day answer adds
    // a couple of million buckets).
    if (h !== null)
      cell.histogram!.forEach((n, bucket) => {
        h.add(g, bucket, n);
      });
    this.tokensIn[g]! += cell.tokensIn;
    this.tokensOut[g]! += cell.tokensOut;
    this.feedbackSum[g]! += cell.feedbackSum;
    this.feedbackCount[g]! += cell.feedbackCount;
  }

  value(g: number, measure: Measure): number | null {
    const count = this.count[g]!;
    switch (measure) {
      case 'count':
        return count;
      case 'errors':
        return this.errors[g]!;
      case 'errorRate':
        return count === 0 ? null : this.errors[g]! / count;
      case 'sessions':
        return this.sessions!.count(g);
      case 'users':
        return this.users!.count(g);
      case 'latencyAvg':
        return this.latencyCount[g] === 0 ? null : this.latencySum[g]! / this.latencyCount[g]!;
      case 'latencyP50':
        return this.#quantile(g, 0.5);
      case 'latencyP95':
        return this.#quantile(g, 0.95);
      case 'latencyP99':
        return this.#quantile(g, 0.99);
      case 'latencyCount':
        return this.latencyCount[g]!;
      case 'tokensIn':
        return this.tokensIn[g]!;
      case 'tokensOut':
        return this.tokensOut[g]!;
      case 'feedbackAvg':
        return this.feedbackCount[g] === 0 ? null : this.feedbackSum[g]! / this.feedbackCount[g]!;
      case 'feedbackCount':
        return this.feedbackCount[g]!;
      case 'firstAt':
        return count === 0 ? null : this.firstAt[g]!;
      case 'lastAt':
        return count === 0 ? null : this.lastAt[g]!;
    }
  }

  #quantile(g: number, q: number): number | null {
    if (this.latencyCount[g] === 0) return null;
    const h = new LatencyHistogram().addBuckets(this.histogram!.entries(g), {
      sum: this.latencySum[g]!,
      min: this.latencyMin[g]!,
      max: this.latencyMax[g]!,
    });
    return h.quantile(q);
  }

  /** Room for `n` groups, keeping the `size - 1` set up so far. */
  #grow(n: number): void {
    const keep = this.size - 1;
    const s = this.scratch;
    this.count = s.int32('acc count', n, keep);
    this.errors = s.int32('acc errors', n, keep);
    this.latencySum = s.float64('acc latency sum', n, keep);
    this.latencyCount = s.int32('acc latency count', n, keep);
    this.latencyMin = s.float64('acc latency min', n, keep);
    this.latencyMax = s.float64('acc latency max', n, keep);
    this.tokensIn = s.float64('acc tokens in', n, keep);
    this.tokensOut = s.float64('acc tokens out', n, keep);
    this.feedbackSum = s.float64('acc feedback sum', n, keep);
    this.feedbackCount = s.int32('acc feedback count', n, keep);
    this.firstAt = s.float64('acc first', n, keep);
    this.lastAt = s.float64('acc last', n, keep);
  }
}

/**
 * Distinct dictionary ids per group: a bit per id (a run of words per group, in the scratch)
 * while the budget of bytes lasts, then a set for each later group.
 */
class Distinct {
  readonly #words: number;
  readonly #bitGroups: number;
  #bits: Int32Array;
  #counts: Int32Array;
  readonly #sets: Array<Set<number> | undefined> = [];

  constructor(
    private readonly name: string,
    private readonly column: Int32Array,
    ids: number,
    budget: number,
    private readonly scratch: Scratch,
  ) {
    this.#words = Math.max(1, Math.ceil(ids / 32));
    this.#bitGroups = Math.floor(budget / (4 * this.#words));
    this.#bits = scratch.int32(`${name} bits`, 0);
    this.#counts = scratch.int32(`${name} counts`, 0);
  }

  addGroup(g: number): void {
    if (g >= this.#counts.length) this.#counts = this.scratch.int32(`${this.name} counts`, g + 1, g);
    this.#counts[g] = 0;
    if (g < this.#bitGroups) {
      const w = this.#words;
      if ((g + 1) * w > this.#bits.length)
        this.#bits = this.scratch.int32(`${this.name} bits`, (g + 1) * w, g * w);
      this.#bits.fill(0, g * w, (g + 1) * w);
    } else {
      this.#sets[g] = new Set();
    }
  }

  add(g: number, i: number): void {
    const id = this.column[i]!;
    if (id < 0) return;
    if (g < this.#bitGroups) {
      const word = g * this.#words + (id >>> 5);
      const bit = 1 << (id & 31);
      const bits = this.#bits;
      if ((bits[word]! & bit) === 0) {
        bits[word] = bits[word]! | bit;
        this.#counts[g]!++;
      }
      return;
    }
    const set = this.#sets[g]!;
    if (!set.has(id)) {
      set.add(id);
      this.#counts[g]!++;
    }
  }

  count(g: number): number {
    return this.#counts[g]!;
  }
}

/**
 * Latency bucket counts per group: a run of `width` cells per group (in the scratch) while the
 * budget of cells lasts, then a map for each later group.
 */
class Histograms {
  readonly #lo: number;
  readonly #width: number;
  readonly #cellGroups: number;
  #cells: Int32Array;
  #zero: Int32Array;
  readonly #maps: Array<Map<number, number> | undefined> = [];

  constructor(
    c: TurnColumns,
    budget: number,
    private readonly scratch: Scratch,
  ) {
    this.#lo = c.minBucket;
    this.#width = c.maxBucket >= c.minBucket ? c.maxBucket - c.minBucket + 1 : 0;
    this.#cellGroups = this.#width === 0 ? Number.POSITIVE_INFINITY : Math.floor(budget / this.#width);
    this.#cells = scratch.int32('histogram cells', 0);
    this.#zero = scratch.int32('histogram zero', 0);
  }

  addGroup(g: number): void {
    if (g >= this.#zero.length) this.#zero = this.scratch.int32('histogram zero', g + 1, g);
    this.#zero[g] = 0;
    if (g < this.#cellGroups) {
      const w = this.#width;
      if ((g + 1) * w > this.#cells.length)
        this.#cells = this.scratch.int32('histogram cells', (g + 1) * w, g * w);
      this.#cells.fill(0, g * w, (g + 1) * w);
    } else {
      this.#maps[g] = new Map();
    }
  }

  add(g: number, bucket: number, n = 1): void {
    if (bucket === ZERO_BUCKET) {
      this.#zero[g]! += n;
      return;
    }
    if (g < this.#cellGroups) {
      this.#cells[g * this.#width + bucket - this.#lo]! += n;
      return;
    }
    const cells = this.#maps[g]!;
    cells.set(bucket, (cells.get(bucket) ?? 0) + n);
  }

  entries(g: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (this.#zero[g]! > 0) out.push([ZERO_BUCKET, this.#zero[g]!]);
    if (g < this.#cellGroups) {
      const w = this.#width;
      const cells = this.#cells;
      for (let k = 0, at = g * w; k < w; k++, at++) if (cells[at]! > 0) out.push([this.#lo + k, cells[at]!]);
    } else {
      for (const entry of this.#maps[g]!) out.push(entry);
    }
    return out;
  }
}
