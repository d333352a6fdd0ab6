import { LatencyHistogram } from './histogram.js';

export interface LatencySummary {
  count: number;
  avg: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface MetricsSnapshot {
  counters: Record<string, number>;
  latencies: Record<string, LatencySummary>;
}

/** Counters and latency histograms of one component; snapshots are plain JSON. */
/** The summary a snapshot gives for one histogram. */
export function latencySummary(h: LatencyHistogram): LatencySummary {
  return {
    count: h.count,
    avg: h.mean,
    p50: h.quantile(0.5),
    p95: h.quantile(0.95),
    p99: h.quantile(0.99),
    max: h.max,
  };
}

export class Metrics {
  readonly #counters = new Map<string, number>();
  readonly #latencies = new Map<string, LatencyHistogram>();

  increment(name: string, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
  }

  counter(name: string): number {
    return this.#counters.get(name) ?? 0;
  }

  observe(name: string, ms: number): void {
    let h = this.#latencies.get(name);
    if (!h) {
      h = new LatencyHistogram();
      this.#latencies.set(name, h);
    }
    h.add(Math.max(0, ms));
  }

  /** Runs `fn`, observing its duration under `name` whether it resolves or rejects. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.observe(name, performance.now() - start);
    }
  }

  latency(name: string): LatencySummary {
    return latencySummary(this.#latencies.get(name) ?? new LatencyHistogram());
  }

  snapshot(): MetricsSnapshot {
    const counters: Record<string, number> = {};
    for (const [k, v] of [...this.#counters].sort(([a], [b]) => a.localeCompare(b))) counters[k] = v;
    const latencies: Record<string, LatencySummary> = {};
    for (const k of [...this.#latencies.keys()].sort()) latencies[k] = this.latency(k);
    return { counters, latencies };
  }

  reset(): void {
    this.#counters.clear();
    this.#latencies.clear();
  }
}
