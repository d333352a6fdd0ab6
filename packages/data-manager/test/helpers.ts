import {
  type ConvokitError,
  createManualClock,
  type ManualClock,
  type Storage,
  type TurnStore,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { expect } from 'vitest';
import {
  type ConversationalDataManager,
  createConversationalDataManager,
  type DataManagerOptions,
} from '../src/index.js';
import { fixtureTurns, NOW } from './fixtures.js';

/** Latency percentiles come from the core histogram: within 1% of the exact value. */
export function expectNear(actual: number | null | undefined, expected: number, relative = 0.01): void {
  expect(actual).not.toBeNull();
  expect(actual).not.toBeUndefined();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(Math.abs(expected) * relative + 1e-9);
}

export interface Setup {
  storage: Storage;
  clock: ManualClock;
  manager: ConversationalDataManager;
}

/** A memory-backed manager holding the fixture, its clock at NOW. */
export async function fixtureManager(options: Partial<DataManagerOptions> = {}): Promise<Setup> {
  const clock = createManualClock(NOW);
  const storage = options.storage ?? createMemoryStorage({ clock });
  const manager = createConversationalDataManager({ clock, ...options, storage });
  await manager.recordTurns(fixtureTurns());
  return { storage, clock, manager };
}

/**
 * A storage whose turn store fails on demand: `failing = true` makes every call reject with a
 * raw driver-like error (what a broken disk or dropped connection looks like).
 */
export function flakyStorage(inner: Storage): Storage & { failing: boolean; calls: number } {
  const turns = inner.turns as TurnStore;
  const state = { failing: false, calls: 0 };
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      state.calls += 1;
      if (state.failing) throw new Error('disk I/O error');
      return fn(...args);
    };
  const flakyTurns: TurnStore = {
    append: wrap(turns.append.bind(turns)),
    get: wrap(turns.get.bind(turns)),
    list: wrap(turns.list.bind(turns)),
    search: wrap(turns.search.bind(turns)),
    aggregate: wrap(turns.aggregate.bind(turns)),
    count: wrap(turns.count.bind(turns)),
    deleteBefore: wrap(turns.deleteBefore.bind(turns)),
  };
  const storage = {
    name: 'flaky',
    contractVersion: inner.contractVersion,
    capabilities: inner.capabilities,
    turns: flakyTurns,
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
    get failing() {
      return state.failing;
    },
    set failing(v: boolean) {
      state.failing = v;
    },
    get calls() {
      return state.calls;
    },
  };
  return storage;
}

export function asError(e: unknown): ConvokitError {
  return e as ConvokitError;
}
