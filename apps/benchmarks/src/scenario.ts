import type { Storage } from '@convokit/core';
import type { Adapter } from './adapters.js';
import { generateTurns, type TurnData } from './data.js';
import { loadRawTurns, type RawTurns } from './floors.js';
import type { Recorder, RunOptions } from './harness.js';

/** Sizes for one run; the quick run shrinks them so it finishes in under two minutes. */
export interface Sizes {
  /** Contexts stored before a get/update/list is measured. */
  contexts: number;
  /** Creates (and deletes) measured, per class. */
  writes: { memory: number; embedded: number; server: number };
  /** Turns in the store for history, search and aggregate. */
  turns: number;
  /** Turns appended for the append scenario, per class. */
  appendTurns: { memory: number; embedded: number; server: number };
  /** Contexts swept in the sweep measurement, per class. */
  sweep: { memory: number; embedded: number; server: number };
  /** Contexts stored for the get measurement on server adapters (network-bound to load). */
  serverContexts: number;
  /** Turn counts of the scaling sweep. */
  scaling: number[];
  /** Server adapters (postgres) load at most this many turns: loading is network-bound. */
  serverMaxTurns: number;
}

export const QUICK_SIZES: Sizes = {
  contexts: 1_000,
  writes: { memory: 2_000, embedded: 500, server: 200 },
  turns: 5_000,
  appendTurns: { memory: 5_000, embedded: 2_000, server: 1_000 },
  sweep: { memory: 1_000, embedded: 1_000, server: 500 },
  serverContexts: 500,
  scaling: [5_000],
  serverMaxTurns: 5_000,
};

export const FULL_SIZES: Sizes = {
  contexts: 10_000,
  writes: { memory: 50_000, embedded: 5_000, server: 500 },
  turns: 100_000,
  appendTurns: { memory: 100_000, embedded: 20_000, server: 3_000 },
  sweep: { memory: 100_000, embedded: 100_000, server: 2_000 },
  serverContexts: 1_000,
  scaling: [10_000, 100_000, 1_000_000],
  serverMaxTurns: 10_000,
};

export interface ScenarioContext {
  options: RunOptions;
  sizes: Sizes;
  rec: Recorder;
  adapters: Adapter[];
  datasets: Datasets;
}

export interface Scenario {
  id: string;
  title: string;
  /** Issues whose targets this scenario measures. */
  issues: number[];
  /** Part of `--quick`. */
  quick: boolean;
  run(ctx: ScenarioContext): Promise<void>;
}

/**
 * Generated turn sets and stores loaded with them, shared between scenarios so a million turns
 * are generated and loaded once per adapter, not once per scenario. One loaded store per adapter
 * is kept at a time.
 */
export class Datasets {
  private data = new Map<number, TurnData>();
  private loaded = new Map<string, { count: number; storage: Storage; dispose(): Promise<void> }>();
  private raw: RawTurns | undefined;

  /** The raw better-sqlite3 floor holding the same `count` turns (one kept at a time). */
  rawTurns(count: number): RawTurns {
    if (this.raw?.count === count) return this.raw;
    this.raw?.close();
    this.raw = loadRawTurns(this.turns(count).turns);
    return this.raw;
  }

  turns(count: number): TurnData {
    let data = this.data.get(count);
    if (!data) {
      data = generateTurns(count, { seed: 42 });
      this.data.set(count, data);
    }
    return data;
  }

  /** Forgets generated sets other than `keep`, to bound memory. */
  dropTurns(keep: number[] = []): void {
    for (const count of [...this.data.keys()]) if (!keep.includes(count)) this.data.delete(count);
  }

  /** A store of this adapter holding `count` generated turns (appended in batches of 1,000). */
  async store(
    adapter: Adapter,
    count: number,
  ): Promise<{ storage: Storage; data: TurnData; loadSeconds: number }> {
    const data = this.turns(count);
    const held = this.loaded.get(adapter.name);
    if (held && held.count === count) return { storage: held.storage, data, loadSeconds: 0 };
    if (held) {
      this.loaded.delete(adapter.name);
      await held.dispose();
    }
    const { storage, dispose } = await adapter.open();
    const turns = storage.turns;
    if (!turns) {
      await dispose();
      throw new Error(`${adapter.subject} has no turn store`);
    }
    const t0 = performance.now();
    for (let i = 0; i < data.turns.length; i += 1000) await turns.append(data.turns.slice(i, i + 1000));
    const loadSeconds = (performance.now() - t0) / 1000;
    this.loaded.set(adapter.name, { count, storage, dispose });
    return { storage, data, loadSeconds };
  }

  async release(adapter: Adapter): Promise<void> {
    const held = this.loaded.get(adapter.name);
    if (held) {
      this.loaded.delete(adapter.name);
      await held.dispose();
    }
  }

  async close(): Promise<void> {
    this.raw?.close();
    this.raw = undefined;
    for (const [name, held] of [...this.loaded]) {
      this.loaded.delete(name);
      await held.dispose().catch(() => {});
    }
  }
}

/** Runs `fn` with a fresh store of this adapter and disposes it afterwards. */
export async function withStore<T>(adapter: Adapter, fn: (storage: Storage) => Promise<T>): Promise<T> {
  const { storage, dispose } = await adapter.open();
  try {
    return await fn(storage);
  } finally {
    await dispose();
  }
}
