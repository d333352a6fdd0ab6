import {
  type AggregateResult,
  type AggregateSpec,
  HOUR_MS,
  latencyBucket,
  type NormalizedTurnFilter,
  TIME_BUCKET_KEYS,
  type Turn,
} from '@convokit/core';
import type { TurnColumns } from './columns.js';
import {
  Accumulator,
  assignStrides,
  type CellSums,
  DEFAULT_LIMITS,
  GroupTable,
  groupRows,
  planDims,
} from './scan.js';
import type { Scratch } from './scratch.js';

/** Sums over the turns of one hour and one dimension value. */
class Cell implements CellSums {
  count = 0;
  errors = 0;
  latencySum = 0;
  latencyCount = 0;
  latencyMin = Number.POSITIVE_INFINITY;
  latencyMax = Number.NEGATIVE_INFINITY;
  tokensIn = 0;
  tokensOut = 0;
  feedbackSum = 0;
  feedbackCount = 0;
  firstAt = Number.POSITIVE_INFINITY;
  lastAt = Number.NEGATIVE_INFINITY;
  /** Whether this cell keeps latency buckets. */
  readonly #keeps: boolean;
  /** Latency buckets added since the last read, counted into `#counts` when one is asked for. */
  #pending: number[] | null = null;
  #counts: Map<number, number> | null = null;

  constructor(histogram: boolean) {
    this.#keeps = histogram;
  }

  get histogram(): Map<number, number> | null {
    if (!this.#keeps) return null;
    if (this.#counts === null) this.#counts = new Map();
    const counts = this.#counts;
    const pending = this.#pending;
    if (pending !== null) {
      for (const bucket of pending) counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
      this.#pending = null;
    }
    return counts;
  }

  /** `latency` and `feedback` NaN when absent. */
  add(
    at: number,
    error: number,
    latency: number,
    bucket: number,
    tokensIn: number,
    tokensOut: number,
    feedback: number,
  ): void {
    this.count++;
    this.errors += error;
    if (!Number.isNaN(latency)) {
      this.latencySum += latency;
      this.latencyCount++;
      if (latency < this.latencyMin) this.latencyMin = latency;
      if (latency > this.latencyMax) this.latencyMax = latency;
      if (this.#keeps) {
        if (this.#pending === null) this.#pending = [bucket];
        else this.#pending.push(bucket);
      }
    }
    this.tokensIn += tokensIn;
    this.tokensOut += tokensOut;
    if (!Number.isNaN(feedback)) {
      this.feedbackSum += feedback;
      this.feedbackCount++;
    }
    if (at < this.firstAt) this.firstAt = at;
    if (at > this.lastAt) this.lastAt = at;
  }
}

/**
 * Ids below this fit in the low part of a two-id cell key that stays a small integer; past it
 * (tens of thousands of personas or frameworks) the rollups step aside.
 */
const ID_SPAN = 2 ** 15;

/** The rollups of one hour: all turns, and per persona, framework, framework pair, framework and persona. */
class HourCells {
  readonly all = new Cell(true);
  /** by persona id + 1 (0: no persona) */
  readonly persona: Cell[] = [];
  /** by framework id */
  readonly framework: Cell[] = [];
  /** smaller id * ID_SPAN + larger id; no histograms */
  readonly pair = new Map<number, Cell>();
  /** framework id * ID_SPAN + persona id + 1; no histograms */
  readonly frameworkPersona = new Map<number, Cell>();
}

type Kind = 'all' | 'persona' | 'framework' | 'pair' | 'frameworkPersona';

const TIME_KEYS: ReadonlySet<string> = new Set([...TIME_BUCKET_KEYS, 'hourOfDay', 'dayOfWeek']);

/**
 * Additive measures and latency histograms per UTC hour, kept at append and `deleteBefore`, for
 * all turns and per persona, framework, framework pair and (framework, persona). An aggregate
 * whose filter is only an hour-aligned time range, grouped by time keys and at most those
 * dimensions, and asking no distinct counts, is answered from them: a few thousand cells instead
 * of every turn. Counts, extremes and percentiles equal the scan's exactly; sums are the same
 * numbers added in another order (exact for integers, such as millisecond latencies and tokens).
 */
export class HourRollup {
  readonly #hours = new Map<number, HourCells>();

  constructor(private readonly columns: TurnColumns) {}

  /** Adds the turns in column rows `lo..hi`. */
  addRows(lo: number, hi: number): void {
    const c = this.columns;
    const { offsets, values } = c.frameworks;
    for (let i = lo; i < hi; i++) {
      this.#add(
        c.at[i]!,
        c.error[i]!,
        c.latency[i]!,
        c.latencyBucket[i]!,
        c.tokensIn[i]!,
        c.tokensOut[i]!,
        c.feedback[i]!,
        c.persona[i]! + 1,
        values,
        offsets[i]!,
        offsets[i + 1]!,
      );
    }
  }

  /** Adds turns whose names are in the columns' dictionaries (an append older than the newest turn). */
  add(turns: readonly Turn[]): void {
    const c = this.columns;
    const ids = new Int32Array(100);
    for (const t of turns) {
      const names = t.frameworks;
      for (let k = 0; k < names.length; k++) ids[k] = c.frameworks.dict.find(names[k]!);
      const latency = t.latencyMs ?? Number.NaN;
      this.#add(
        t.at,
        t.outcome === 'error' ? 1 : 0,
        latency,
        Number.isNaN(latency) ? 0 : latencyBucket(latency),
        t.tokens?.input ?? 0,
        t.tokens?.output ?? 0,
        t.feedback ?? Number.NaN,
        t.persona === undefined ? 0 : c.personas.find(t.persona) + 1,
        ids,
        0,
        names.length,
      );
    }
  }

  /**
   * After the turns before `before` were removed: drops their hours and recomputes the hour
   * `before` falls inside from `remaining` (the stored turns, ascending).
   */
  removeBefore(before: number, remaining: readonly Turn[]): void {
    const cut = Math.floor(before / HOUR_MS);
    for (const hour of this.#hours.keys()) if (hour <= cut) this.#hours.delete(hour);
    let end = 0;
    while (end < remaining.length && Math.floor(remaining[end]!.at / HOUR_MS) === cut) end++;
    this.add(remaining.slice(0, end));
  }

  clear(): void {
    this.#hours.clear();
  }

  /** The answer from the rollups, or undefined when the spec needs the turns themselves. */
  answer(spec: AggregateSpec, f: NormalizedTurnFilter, scratch?: Scratch): AggregateResult | undefined {
    for (const key in f) if (key !== 'from' && key !== 'to') return undefined;
    if (f.from !== undefined && f.from % HOUR_MS !== 0) return undefined;
    if (f.to !== undefined && f.to % HOUR_MS !== 0) return undefined;
    if (spec.measures.includes('sessions') || spec.measures.includes('users')) return undefined;
    const c = this.columns;
    if (c.frameworks.dict.size >= ID_SPAN || c.personas.size + 1 >= ID_SPAN) return undefined;
    const kind = kindOf(spec.groupBy.filter((key) => !TIME_KEYS.has(key)));
    if (kind === undefined) return undefined;
    const percentiles = spec.measures.some(
      (m) => m === 'latencyP50' || m === 'latencyP95' || m === 'latencyP99',
    );
    if (percentiles && (kind === 'pair' || kind === 'frameworkPersona')) return undefined;

    const from = f.from === undefined ? Number.NEGATIVE_INFINITY : f.from / HOUR_MS;
    const to = f.to === undefined ? Number.POSITIVE_INFINITY : f.to / HOUR_MS;
    const hours: number[] = [];
    for (const hour of this.#hours.keys()) if (hour >= from && hour < to) hours.push(hour);
    hours.sort((a, b) => a - b);
    const times = Float64Array.from(hours, (h) => h * HOUR_MS);

    const dims = planDims(c, spec.groupBy, times, 0, times.length);
    const product = assignStrides(dims);
    if (product === undefined) return undefined;
    const groups = new GroupTable(
      Math.max(1, ...dims.map((d) => d.card)),
      product,
      DEFAULT_LIMITS.denseCells,
      scratch,
    );
    const acc = new Accumulator(c, new Set(spec.measures), DEFAULT_LIMITS, scratch);
    const timeDims = dims.filter((d) => TIME_KEYS.has(d.key));
    const persona = dims.find((d) => d.key === 'persona');
    const framework = dims.find((d) => d.key === 'framework');
    const ranks = c.frameworks.dict.ranks();
    const names = c.frameworks.dict.size;

    for (let j = 0; j < hours.length; j++) {
      const cells = this.#hours.get(hours[j]!)!;
      let base = 0;
      for (const d of timeDims) {
        d.codes(j);
        base += d.out[0]! * d.stride;
      }
      switch (kind) {
        case 'all':
          acc.addCell(groups.find(base, acc), cells.all);
          break;
        case 'persona':
          // forEach skips the holes of these sparse arrays.
          cells.persona.forEach((cell, code) => {
            acc.addCell(groups.find(base + code * persona!.stride, acc), cell);
          });
          break;
        case 'framework':
          cells.framework.forEach((cell, id) => {
            acc.addCell(groups.find(base + id * framework!.stride, acc), cell);
          });
          break;
        case 'pair':
          for (const [key, cell] of cells.pair) {
            const a = ranks[Math.floor(key / ID_SPAN)]!;
            const b = ranks[key % ID_SPAN]!;
            const code = a < b ? a * names + b : b * names + a;
            acc.addCell(groups.find(base + code * framework!.stride, acc), cell);
          }
          break;
        case 'frameworkPersona':
          for (const [key, cell] of cells.frameworkPersona) {
            const code = Math.floor(key / ID_SPAN) * framework!.stride + (key % ID_SPAN) * persona!.stride;
            acc.addCell(groups.find(base + code, acc), cell);
          }
          break;
      }
    }
    if (dims.length === 0 && acc.size === 0) groups.find(0, acc);
    return groupRows(spec, dims, groups, acc);
  }

  #add(
    at: number,
    error: number,
    latency: number,
    bucket: number,
    tokensIn: number,
    tokensOut: number,
    feedback: number,
    personaCode: number,
    ids: Int32Array,
    from: number,
    to: number,
  ): void {
    const hour = Math.floor(at / HOUR_MS);
    let cells = this.#hours.get(hour);
    if (cells === undefined) {
      cells = new HourCells();
      this.#hours.set(hour, cells);
    }
    cells.all.add(at, error, latency, bucket, tokensIn, tokensOut, feedback);
    slot(cells.persona, personaCode).add(at, error, latency, bucket, tokensIn, tokensOut, feedback);
    for (let k = from; k < to; k++) {
      const id = ids[k]!;
      slot(cells.framework, id).add(at, error, latency, bucket, tokensIn, tokensOut, feedback);
      cell(cells.frameworkPersona, id * ID_SPAN + personaCode).add(
        at,
        error,
        latency,
        bucket,
        tokensIn,
        tokensOut,
        feedback,
      );
      for (let q = k + 1; q < to; q++) {
        const other = ids[q]!;
        const key = id < other ? id * ID_SPAN + other : other * ID_SPAN + id;
        cell(cells.pair, key).add(at, error, latency, bucket, tokensIn, tokensOut, feedback);
      }
    }
  }
}

/** The cell (with a histogram) at `index`, made when missing. */
function slot(cells: Cell[], index: number): Cell {
  let found = cells[index];
  if (found === undefined) {
    found = new Cell(true);
    cells[index] = found;
  }
  return found;
}

function cell(map: Map<number, Cell>, key: number): Cell {
  let found = map.get(key);
  if (found === undefined) {
    found = new Cell(false);
    map.set(key, found);
  }
  return found;
}

/** Which rollup serves these non-time group keys (in any order), if one does. */
function kindOf(keys: readonly string[]): Kind | undefined {
  const sorted = [...keys].sort().join(',');
  switch (sorted) {
    case '':
      return 'all';
    case 'persona':
      return 'persona';
    case 'framework':
      return 'framework';
    case 'framework,framework':
      return 'pair';
    case 'framework,persona':
      return 'frameworkPersona';
    default:
      return undefined;
  }
}
