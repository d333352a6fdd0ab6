import { measure } from 'mitata';

/**
 * How a scenario measures. Repeatable operations (a get, a query) go through mitata, which batches
 * calls that take less than ~65 us so timer overhead does not dominate; for those, p50 and p99 are
 * percentiles of batch means. Operations that consume state (create, delete, append) run a fixed
 * count with each call timed on its own.
 *
 * Every case runs `runs` times; the reported figures are the medians over the runs.
 */

export type RowKind = 'ours' | 'peer' | 'floor';

export interface Row {
  /** Stable key for targets and the JSON file: `<operation>/<subject>`. */
  key: string;
  operation: string;
  /** What was measured: `convokit memory`, `keyv Map`, `Map.get`, ... */
  subject: string;
  kind: RowKind;
  /** Rows compare within a class: `memory`, `embedded` (on disk), `server`. */
  klass: string;
  /** Items per call (a batch append of 1,000 turns has 1,000). ops/s counts items. */
  itemsPerOp: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  runs: number;
  /** Spread of ops/s over the runs: (max - min) / median. */
  spread: number;
  note?: string;
  /**
   * The server a row runs on (`postgres`, `redis`), when a class holds several: a floor with an
   * engine is the floor of that engine's rows only, so postgres is not measured against Redis.
   */
  engine?: string;
  ratioToPeer?: number | null;
  ratioToFloor?: number | null;
}

export interface Skipped {
  subject: string;
  reason: string;
}

export interface Metric {
  key: string;
  label: string;
  value: number;
  unit: string;
  note?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  rows: Row[];
  metrics: Metric[];
  skipped: Skipped[];
  /** Query time against turns, for the scaling chart: adapter -> points. */
  series?: Record<string, { turns: number; p50Ms: number }[]>;
  seconds?: number;
}

export interface RunOptions {
  quick: boolean;
  runs: number;
  /** Minimum CPU time per mitata measurement, ns. */
  cpuTimeNs: number;
  /** Minimum samples per mitata measurement. */
  minSamples: number;
  /** Print each case's wall time (and each dataset load). */
  verbose?: boolean;
}

export interface CaseSpec {
  operation: string;
  subject: string;
  kind: RowKind;
  klass: string;
  itemsPerOp?: number;
  note?: string;
  engine?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function percentile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

function toRow(spec: CaseSpec, perRun: { opsPerSec: number; p50Ms: number; p99Ms: number }[]): Row {
  const ops = perRun.map((r) => r.opsPerSec);
  const mid = median(ops);
  const row: Row = {
    key: `${spec.operation}/${spec.subject}`,
    operation: spec.operation,
    subject: spec.subject,
    kind: spec.kind,
    klass: spec.klass,
    itemsPerOp: spec.itemsPerOp ?? 1,
    opsPerSec: mid,
    p50Ms: median(perRun.map((r) => r.p50Ms)),
    p99Ms: median(perRun.map((r) => r.p99Ms)),
    runs: perRun.length,
    spread: mid > 0 ? (Math.max(...ops) - Math.min(...ops)) / mid : 0,
  };
  if (spec.note) row.note = spec.note;
  if (spec.engine) row.engine = spec.engine;
  return row;
}

/** Calls faster than this are timed in batches by mitata, ns (mitata's default is 65 us). */
const BATCH_THRESHOLD_NS = 10_000;
/** Calls per batch (mitata's default is 4,096, which makes a 60 us call cost 2 s a run). */
const BATCH_SAMPLES = 1024;
/** A slow call (over this, ms) is timed one by one within a time budget instead of by mitata. */
const SLOW_MS = 100;
const SLOW_BUDGET_MS = 3_000;

/** A repeatable operation, measured by mitata `runs` times. */
export async function bench(spec: CaseSpec, fn: () => unknown, options: RunOptions): Promise<Row> {
  const items = spec.itemsPerOp ?? 1;
  const t0 = performance.now();
  await fn();
  const first = performance.now() - t0;
  if (first > SLOW_MS) {
    // A slow call (an uncached query over a million turns): the first call was the warm-up; then
    // 2 to 9 calls timed one by one, as many as fit in about 3 s, so one case cannot take minutes.
    // Its percentiles rest on those few calls, and it counts as one run.
    const calls = Math.max(2, Math.min(9, Math.floor(SLOW_BUDGET_MS / first)));
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t1 = performance.now();
      await fn();
      times.push(performance.now() - t1);
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const perRun = [
      { opsPerSec: (1000 / mean) * items, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99) },
    ];
    return toRow(
      {
        ...spec,
        note: [spec.note, `${calls} calls over ${SLOW_MS} ms, timed one by one`].filter(Boolean).join('; '),
      },
      perRun,
    );
  }
  const settings = {
    // No full collection before each measurement (mitata's default): with a million generated
    // turns in the heap each one took seconds, more than the measurement itself, and most of a
    // full run's time. Collection costs during the calls still count, as they would for a user.
    gc: false as const,
    min_cpu_time: options.cpuTimeNs,
    min_samples: options.minSamples,
    batch_threshold: BATCH_THRESHOLD_NS,
    batch_samples: BATCH_SAMPLES,
  };
  const perRun: { opsPerSec: number; p50Ms: number; p99Ms: number }[] = [];
  for (let run = 0; run < options.runs; run++) {
    const stats = await measure(fn, settings);
    perRun.push({ opsPerSec: (1e9 / stats.avg) * items, p50Ms: stats.p50 / 1e6, p99Ms: stats.p99 / 1e6 });
  }
  return toRow(spec, perRun);
}

/**
 * A state-consuming operation: `setup(run)` prepares `count` calls, then `call(i)` runs each,
 * timed one by one. ops/s is calls (times items) over the total time of the calls.
 */
export async function benchFixed(
  spec: CaseSpec,
  count: number,
  call: (i: number) => unknown,
  options: RunOptions,
  hooks: { setup?: (run: number) => Promise<void> | void; teardown?: () => Promise<void> | void } = {},
): Promise<Row> {
  const items = spec.itemsPerOp ?? 1;
  const perRun: { opsPerSec: number; p50Ms: number; p99Ms: number }[] = [];
  const times = new Float64Array(count);
  for (let run = 0; run < options.runs; run++) {
    await hooks.setup?.(run);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const result = call(i);
      if (result instanceof Promise) await result;
      const dt = performance.now() - t0;
      times[i] = dt;
      total += dt;
    }
    await hooks.teardown?.();
    const sorted = times.slice(0, count).sort();
    perRun.push({
      opsPerSec: (count * items) / (total / 1000),
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
    });
  }
  return toRow(spec, perRun);
}

/**
 * Fills in each row's ratio to the best peer and to the fastest floor of its operation and class
 * (and of its engine, when it names one).
 */
export function addRatios(rows: Row[]): void {
  for (const row of rows) {
    const same = rows.filter((r) => r.operation === row.operation && r.klass === row.klass);
    const peers = same.filter((r) => r.kind === 'peer');
    const floors = same.filter((r) => r.kind === 'floor' && r.engine === row.engine);
    const bestPeer = peers.length ? Math.max(...peers.map((r) => r.opsPerSec)) : 0;
    const bestFloor = floors.length ? Math.max(...floors.map((r) => r.opsPerSec)) : 0;
    row.ratioToPeer = bestPeer > 0 ? row.opsPerSec / bestPeer : null;
    row.ratioToFloor = bestFloor > 0 ? row.opsPerSec / bestFloor : null;
  }
}

/** Collects rows and skips for one scenario, printing as it goes. */
export class Recorder {
  readonly rows: Row[] = [];
  readonly metrics: Metric[] = [];
  readonly skipped: Skipped[] = [];
  series: Record<string, { turns: number; p50Ms: number }[]> = {};

  constructor(
    readonly id: string,
    readonly title: string,
    readonly options: RunOptions,
  ) {}

  async bench(spec: CaseSpec, fn: () => unknown): Promise<Row | undefined> {
    return this.guard(spec.subject, spec.operation, () => bench(spec, fn, this.options));
  }

  async fixed(
    spec: CaseSpec,
    count: number,
    call: (i: number) => unknown,
    hooks?: Parameters<typeof benchFixed>[4],
  ): Promise<Row | undefined> {
    return this.guard(spec.subject, spec.operation, () => benchFixed(spec, count, call, this.options, hooks));
  }

  private async guard(
    subject: string,
    operation: string,
    work: () => Promise<Row>,
  ): Promise<Row | undefined> {
    try {
      const t0 = performance.now();
      const row = await work();
      this.rows.push(row);
      const took = this.options.verbose ? `  [${((performance.now() - t0) / 1000).toFixed(1)} s]` : '';
      console.log(
        `  ${row.operation.padEnd(28)} ${row.subject.padEnd(34)} ${formatOps(row.opsPerSec).padStart(10)}/s  p50 ${formatMs(row.p50Ms)}  p99 ${formatMs(row.p99Ms)}${took}`,
      );
      return row;
    } catch (error) {
      this.skip(`${subject} (${operation})`, `failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  metric(key: string, label: string, value: number, unit: string, note?: string): void {
    const metric: Metric = { key, label, value, unit };
    if (note) metric.note = note;
    this.metrics.push(metric);
    console.log(`  ${label}: ${formatNumber(value)} ${unit}${note ? ` (${note})` : ''}`);
  }

  skip(subject: string, reason: string): void {
    this.skipped.push({ subject, reason });
    console.log(`  skipped ${subject}: ${reason}`);
  }

  result(): ScenarioResult {
    addRatios(this.rows);
    const result: ScenarioResult = {
      id: this.id,
      title: this.title,
      rows: this.rows,
      metrics: this.metrics,
      skipped: this.skipped,
    };
    if (Object.keys(this.series).length) result.series = this.series;
    return result;
  }
}

export function formatOps(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${Math.round(value / 1e3)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value < 0.001) return `${(value * 1e6).toFixed(0)} ns`;
  if (value < 1) return `${(value * 1e3).toFixed(1)} us`;
  if (value < 100) return `${value.toFixed(2)} ms`;
  return `${value.toFixed(0)} ms`;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toFixed(3);
}
