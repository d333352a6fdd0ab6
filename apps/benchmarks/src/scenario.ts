import type { Storage } from '@convokit/core';
import type { Adapter, AdapterName } from './adapters.js';
import { generateTurns, longSessions, type TurnData } from './data.js';
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
  /**
   * Adapters swept to fewer turns than `scaling` names, to bound a run's time (server adapters
   * are capped by `serverMaxTurns` instead). The full run caps none.
   */
  sweepMax: Partial<Record<AdapterName, number>>;
}

/** The sweep's sizes for this adapter, and why any are left out. */
export function sweepFor(adapter: Adapter, sizes: Sizes): { counts: number[]; cap: number; why: string } {
  const server = adapter.klass === 'server';
  const cap = server ? sizes.serverMaxTurns : (sizes.sweepMax[adapter.name] ?? Number.POSITIVE_INFINITY);
  return {
    counts: sizes.scaling.filter((n) => n <= cap),
    cap,
    why: server
      ? 'server adapters load over the network; the sweep stops there to keep the run bounded'
      : `this adapter's sweep is capped at ${cap} turns (sizes.sweepMax) to keep the run bounded`,
  };
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
  sweepMax: {},
};

export const FULL_SIZES: Sizes = {
  contexts: 10_000,
  writes: { memory: 50_000, embedded: 5_000, server: 500 },
  turns: 100_000,
  appendTurns: { memory: 100_000, embedded: 20_000, server: 3_000 },
  sweep: { memory: 100_000, embedded: 100_000, server: 2_000 },
  serverContexts: 1_000,
  scaling: [10_000, 100_000, 1_000_000],
  serverMaxTurns: 1_000_000,
  sweepMax: {},
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
 * Generated turn sets and stores loaded with them, shared between scenarios so each size is
 * generated once and loaded once per adapter, not once per scenario: loading is what a full run
 * spends most of its time on (a million turns through an adapter's batched append). A store stays
 * loaded until a scenario releases it (the query sweep releases each size it loaded itself; the
 * dashboard, which records turns, releases the store it changed).
 */
export class Datasets {
  private data = new Map<number, TurnData>();
  /** Each generated size's long sessions, kept when its turns are forgotten (see `longSessions`). */
  private sessions = new Map<number, string[]>();
  private loaded = new Map<string, { storage: Storage; dispose(): Promise<void> }>();
  private raw: RawTurns | undefined;

  constructor(private readonly verbose = false) {}

  /** The raw better-sqlite3 floor holding the same `count` turns (one kept at a time). */
  rawTurns(count: number): RawTurns {
    if (this.raw?.count === count) return this.raw;
    this.raw?.close();
    const t0 = performance.now();
    this.raw = loadRawTurns(this.turns(count).turns);
    if (this.verbose) console.log(`  [loaded ${count} turns into the raw floor in ${seconds(t0)}]`);
    return this.raw;
  }

  turns(count: number): TurnData {
    let data = this.data.get(count);
    if (!data) {
      const t0 = performance.now();
      data = generateTurns(count, { seed: 42 });
      this.data.set(count, data);
      if (!this.sessions.has(count)) this.sessions.set(count, longSessions(data.turns));
      if (this.verbose) console.log(`  [generated ${count} turns in ${seconds(t0)}]`);
    }
    return data;
  }

  /** Sessions of the `count` set with at least 20 turns (the history scenario's), from its first generation. */
  longSessions(count: number): string[] {
    if (!this.sessions.has(count)) this.turns(count);
    return this.sessions.get(count)!;
  }

  /**
   * Forgets generated sets other than `keep` (they are generated again, identically, when next
   * asked for). A million generated turns are some 900 MB of live heap that no user's process
   * holds: each major collection marks them, and one overlapping a timed row slowed it several
   * times over (see the query sweep).
   */
  dropTurns(keep: number[] = []): void {
    for (const count of [...this.data.keys()]) if (!keep.includes(count)) this.data.delete(count);
  }

  /** A store of this adapter holding `count` generated turns (appended in batches of 1,000). */
  async store(adapter: Adapter, count: number): Promise<{ storage: Storage; loadSeconds: number }> {
    const key = `${adapter.name} ${count}`;
    const held = this.loaded.get(key);
    if (held) return { storage: held.storage, loadSeconds: 0 };
    const data = this.turns(count);
    const { storage, dispose } = await adapter.open();
    const turns = storage.turns;
    if (!turns) {
      await dispose();
      throw new Error(`${adapter.subject} has no turn store`);
    }
    const t0 = performance.now();
    for (let i = 0; i < data.turns.length; i += 1000) await turns.append(data.turns.slice(i, i + 1000));
    const loadSeconds = (performance.now() - t0) / 1000;
    if (this.verbose) console.log(`  [loaded ${count} turns into ${adapter.subject} in ${seconds(t0)}]`);
    this.loaded.set(key, { storage, dispose });
    return { storage, loadSeconds };
  }

  /** Closes this adapter's store of `count` turns, or all its stores. */
  async release(adapter: Adapter, count?: number): Promise<void> {
    for (const [key, held] of [...this.loaded]) {
      const [name, size] = key.split(' ');
      if (name !== adapter.name || (count !== undefined && Number(size) !== count)) continue;
      this.loaded.delete(key);
      await held.dispose();
    }
  }

  async close(): Promise<void> {
    this.raw?.close();
    this.raw = undefined;
    for (const [key, held] of [...this.loaded]) {
      this.loaded.delete(key);
      await held.dispose().catch(() => {});
    }
  }
}

const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** Runs `fn` with a fresh store of this adapter and disposes it afterwards. */
export async function withStore<T>(adapter: Adapter, fn: (storage: Storage) => Promise<T>): Promise<T> {
  const { storage, dispose } = await adapter.open();
  try {
    return await fn(storage);
  } finally {
    await dispose();
  }
}
