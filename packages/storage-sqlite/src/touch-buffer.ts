import type { Context } from '@convokit/core';

/** The touches of one context not yet written. */
export interface PendingTouch {
  count: number;
  at: number;
  /** Set when a touch carried a sliding expiry; the last one wins. */
  expiresAt?: number;
}

/**
 * Write-behind buffer for context reads. `touch` only records here; `flush` writes every
 * pending touch in one transaction. Reads in this process merge pending touches, so they see
 * their own access counts at once; other processes see them after the next flush. A crash
 * loses the touches since the last flush, never a context.
 */
export class TouchBuffer {
  readonly #pending = new Map<string, PendingTouch>();

  get size(): number {
    return this.#pending.size;
  }

  record(id: string, at: number, expiresAt: number | undefined): void {
    const p = this.#pending.get(id);
    if (p) {
      p.count++;
      p.at = at;
      if (expiresAt !== undefined) p.expiresAt = expiresAt;
    } else {
      this.#pending.set(id, expiresAt === undefined ? { count: 1, at } : { count: 1, at, expiresAt });
    }
  }

  get(id: string): PendingTouch | undefined {
    return this.#pending.get(id);
  }

  /** The context as it will be once its pending touches are written. */
  merge(context: Context): Context {
    const p = this.#pending.get(context.id);
    if (!p) return context;
    context.accessCount += p.count;
    context.lastAccessedAt = p.at;
    if (p.expiresAt !== undefined) context.expiresAt = p.expiresAt;
    return context;
  }

  /** Removes and returns the pending touches (of one id, or all). */
  take(id?: string): Array<[string, PendingTouch]> {
    if (id !== undefined) {
      const p = this.#pending.get(id);
      if (!p) return [];
      this.#pending.delete(id);
      return [[id, p]];
    }
    const all = [...this.#pending];
    this.#pending.clear();
    return all;
  }

  /** Puts back touches whose write failed, under any that arrived meanwhile. */
  restore(entries: Array<[string, PendingTouch]>): void {
    for (const [id, p] of entries) {
      const newer = this.#pending.get(id);
      if (!newer) this.#pending.set(id, p);
      else {
        newer.count += p.count;
        if (newer.expiresAt === undefined && p.expiresAt !== undefined) newer.expiresAt = p.expiresAt;
      }
    }
  }
}
