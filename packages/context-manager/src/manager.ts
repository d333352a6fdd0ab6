import type {
  AuditEvent,
  AuditFilter,
  MetricsSnapshot,
  PageInput,
  PageResult,
  PrincipalInput,
} from '@convokit/core';
import { PrincipalSchema, validate } from '@convokit/core';
import { ContextEngine } from './engine.js';
import type { ChangeEvent, ExpireEvent } from './events.js';
import { ContextHandle } from './handle.js';
import type { ChatContextManagerOptions } from './options.js';

/**
 * Scoped, expiring, versioned, access-controlled contexts over any storage that serves
 * `contexts` and `audit`. Calls on contexts run as a principal: `manager.as(principal)`.
 */
export class ChatContextManager implements AsyncDisposable {
  readonly #engine: ContextEngine;

  /** Prefer `createChatContextManager`. `UNSUPPORTED` when the storage lacks `contexts` or `audit`. */
  constructor(options: ChatContextManagerOptions) {
    this.#engine = new ContextEngine(options);
  }

  /** A handle whose calls run as `principal` (validated with PrincipalSchema). */
  as(principal: PrincipalInput): ContextHandle {
    return new ContextHandle(this.#engine, validate(PrincipalSchema, principal, 'ChatContextManager.as'));
  }

  /** Subscribes to `change` (every create, update, delete) or `expire` (sweeps); returns the unsubscribe. */
  on(event: 'change', listener: (event: ChangeEvent) => void): () => void;
  on(event: 'expire', listener: (event: ExpireEvent) => void): () => void;
  on(event: 'change' | 'expire', listener: (event: never) => void): () => void {
    return this.#engine.on(event as 'change', listener as (event: ChangeEvent) => void);
  }

  /**
   * Deletes every context expired by now, audits each as `expire` by `system` and emits `expire`.
   * Returns how many were deleted. Concurrent calls share one run.
   */
  sweep(): Promise<number> {
    return this.#engine.sweep();
  }

  /** Audit events, newest first (AuditFilterSchema, PageSchema). Pending events are flushed first. */
  audit(filter: AuditFilter = {}, page: PageInput = {}): Promise<PageResult<AuditEvent>> {
    return this.#engine.audit(filter, page);
  }

  /** Op counts, latency percentiles (ms), denials, conflicts and retries. */
  getMetrics(): MetricsSnapshot {
    return this.#engine.getMetrics();
  }

  /**
   * Stops the sweep timer, waits for calls in flight and flushes the audit trail. Idempotent.
   * The storage stays open: it belongs to the caller.
   */
  close(): Promise<void> {
    return this.#engine.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The factory the original specification asks for. */
export function createChatContextManager(options: ChatContextManagerOptions): ChatContextManager {
  return new ChatContextManager(options);
}
