import type { Context } from './schemas/context.js';
import type { ContextStore, ContextTouch } from './storage.js';

/**
 * The synchronous side a `ContextStore` may offer when it can answer without waiting (the memory
 * adapter; sqlite, whose driver is synchronous): the same reads and touches, answered at once
 * instead of through a promise, so a caller that reads and then touches (the context manager's
 * `get`) does not wait a tick per step. Optional: a caller finds it with `contextStoreSync(store)` and falls back to the
 * async contract when it is absent. A store that offers it must answer exactly as its async
 * methods do (same results, same errors, thrown instead of rejected, same journal), and must not
 * offer it through a wrapper that adds work of its own (a guard, a write-ahead log) it would skip.
 */
export interface ContextStoreSync {
  /** `ContextStore.get(id, { now })`, answered at once. */
  getNow(id: string, now: number): Context | undefined;
  /**
   * `ContextStore.touch(id, touch)`, answered at once; returns the context as touched, or
   * `undefined` when it was missing or expired (and so left alone).
   */
  touchNow(id: string, touch: ContextTouch): Context | undefined;
}

/** The key under which a store offers its synchronous side (one symbol per process, via the registry). */
export const CONTEXT_STORE_SYNC: unique symbol = Symbol.for('convokit.contextStore.sync');

/** The synchronous side `store` offers, or `undefined`. */
export function contextStoreSync(store: ContextStore): ContextStoreSync | undefined {
  const side = (store as { [CONTEXT_STORE_SYNC]?: unknown })[CONTEXT_STORE_SYNC];
  if (typeof side !== 'object' || side === null) return undefined;
  const s = side as Partial<ContextStoreSync>;
  return typeof s.getNow === 'function' && typeof s.touchNow === 'function'
    ? (s as ContextStoreSync)
    : undefined;
}
