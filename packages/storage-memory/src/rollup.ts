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
  readonly histogram: Map<number, number> | null;

  constructor(histogram: boolean) {
    this.histogram = histogram ? new Map() : null;
  }

  add(t: Turn, bucket: number): void {
    this.count++;
    if (t.outcome === 'error') this.errors++;
    const latency = t.latencyMs;
    if (latency !== undefined) {
      this.latencySum += latency;
      this.latencyCount++;
      if (latency < this.latencyMin) this.latencyMin = latency;
      if (latency > this.latencyMax) this.latencyMax = latency;
      const h = this.histogram;
      if (h !== null) h.set(bucket, (h.get(bucket) ?? 0) + 1);
    }
    if (t.tokens !== undefined) {
      this.tokensIn += t.tokens.input;
      this.tokensOut += t.tokens.output;
    }
    if (t.feedback !== undefined) {
      this.feedbackSum += t.feedback;
      this.feedbackCount++;
    }
    if (t.at < this.firstAt) this.firstAt = t.at;
    if (t.at > this.lastAt) this.lastAt = t.at;
  }
}

/** Ids below this fit in the low part of a two-id cell key. */
const ID_SPAN = 2 ** 21;

/** The rollups of one hour: all turns, and per persona, framework, framework pair, framework and persona. */
class HourCells {
  readonly all = new Cell(true);
  /** persona id + 1 (0: no persona) */
  readonly persona = new Map<number, Cell>();
  /** framework id */
  readonly framework = new Map<number, Cell>();
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

  /** Adds turns now in the columns' dictionaries. */
  add(turns: readonly Turn[]): void {
    for (const t of turns) this.#addTurn(t);
  }

  /**
   * After the turns before `before` were removed: drops their hours and recomputes the hour
   * `before` falls inside from `remaining` (the stored turns, ascending).
   */
  removeBefore(before: number, remaining: readonly Turn[]): void {
    const cut = Math.floor(before / HOUR_MS);
    for (const hour of this.#hours.keys()) if (hour <= cut) this.#hours.delete(hour);
    for (const t of remaining) {
      if (Math.floor(t.at / HOUR_MS) !== cut) break;
      this.#addTurn(t);
    }
  }

  clear(): void {
    this.#hours.clear();
  }

  /** The answer from the rollups, or undefined when the spec needs the turns themselves. */
  answer(spec: AggregateSpec, f: NormalizedTurnFilter): AggregateResult | undefined {
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
    );
    const acc = new Accumulator(c, new Set(spec.measures), DEFAULT_LIMITS);
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
          for (const [code, cell] of cells.persona)
            acc.addCell(groups.find(base + code * persona!.stride, acc), cell);
          break;
        case 'framework':
          for (const [id, cell] of cells.framework)
            acc.addCell(groups.find(base + id * framework!.stride, acc), cell);
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

  #addTurn(t: Turn): void {
    const c = this.columns;
    const hour = Math.floor(t.at / HOUR_MS);
    let cells = this.#hours.get(hour);
    if (cells === undefined) {
      cells = new HourCells();
      this.#hours.set(hour, cells);
    }
    const bucket = t.latencyMs === undefined ? 0 : latencyBucket(t.latencyMs);
    cells.all.add(t, bucket);
    const personaCode = t.persona === undefined ? 0 : c.personas.find(t.persona) + 1;
    cell(cells.persona, personaCode, true).add(t, bucket);
    const names = t.frameworks;
    if (names.length === 0) return;
    const ids: number[] = new Array(names.length);
    for (let k = 0; k < names.length; k++) {
      const id = c.frameworks.dict.find(names[k]!);
      ids[k] = id;
      cell(cells.framework, id, true).add(t, bucket);
      cell(cells.frameworkPersona, id * ID_SPAN + personaCode, false).add(t, bucket);
    }
    for (let a = 0; a < ids.length; a++) {
      for (let b = a + 1; b < ids.length; b++) {
        const x = ids[a]!;
        const y = ids[b]!;
        cell(cells.pair, x < y ? x * ID_SPAN + y : y * ID_SPAN + x, false).add(t, bucket);
      }
    }
  }
}

function cell(map: Map<number, Cell>, key: number, histogram: boolean): Cell {
  let found = map.get(key);
  if (found === undefined) {
    found = new Cell(histogram);
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
