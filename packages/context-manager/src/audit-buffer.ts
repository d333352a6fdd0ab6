import type { AuditEvent, AuditLog } from '@convokit/core';

/**
 * Appends audit events in batches so that writes do not wait on the audit log: events pushed in
 * the same tick, or while an append is in flight, go out together in the next append. Order is
 * kept (one append at a time). `flush()` resolves once everything pushed before it is appended,
 * so reads of the audit log and `close()` see every event.
 */
export class AuditBuffer {
  readonly #log: AuditLog;
  readonly #onError: (error: unknown, events: number) => void;
  #pending: AuditEvent[] = [];
  #running: Promise<void> | null = null;

  constructor(log: AuditLog, onError: (error: unknown, events: number) => void) {
    this.#log = log;
    this.#onError = onError;
  }

  push(event: AuditEvent): void {
    this.#pending.push(event);
    if (this.#running === null) this.#running = this.#drain();
  }

  /** Queues several events at once: they go out in one append (with anything else pending). */
  pushAll(events: readonly AuditEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) this.#pending.push(event);
    if (this.#running === null) this.#running = this.#drain();
  }

  get pending(): number {
    return this.#pending.length;
  }

  async flush(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  async #drain(): Promise<void> {
    // Let the rest of this tick's events join the first batch.
    await null;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          await this.#log.append(batch);
        } catch (error) {
          this.#onError(error, batch.length);
        }
      }
    } finally {
      this.#running = null;
    }
  }
}
