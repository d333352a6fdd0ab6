import type {
  AuditEvent,
  AuditLog,
  Clock,
  Context,
  ContextStore,
  Storage,
  Turn,
  TurnStore,
} from '@convokit/core';

/**
 * One accepted write, as the journal sees it and as `applyMutation` replays it. Each carries the
 * full resulting records, so replaying a journal needs no clock and no validation.
 */
export type MemoryMutation =
  /** Only the turns actually appended (ids skipped with `ifExists: 'skip'` are left out). */
  | { type: 'turns.append'; turns: Turn[] }
  | { type: 'turns.deleteBefore'; before: number }
  /** Create, update and touch all become the full new context. */
  | { type: 'contexts.put'; context: Context }
  /** From `delete` and `deleteExpired`. */
  | { type: 'contexts.delete'; ids: string[] }
  /**
   * From `deleteExpiredAudited`: the swept contexts and the expire audit events of them, one
   * mutation so that a journal stores both or neither.
   */
  | { type: 'contexts.expire'; ids: string[]; events: AuditEvent[] }
  | { type: 'audit.append'; events: AuditEvent[] };

export interface MemoryStorageOptions {
  /** Time source for context expiry when a call gives no `now`; default the system clock. */
  clock?: Clock;
  /**
   * Called synchronously with every mutation once it has been validated and checked (conflicts,
   * versions) and before it is applied. If it throws, nothing is applied and the call rejects
   * (with the error itself when it is a ConvokitError, else wrapped as `STORAGE`).
   */
  journal?: (mutation: MemoryMutation) => void;
}

export interface MemoryStorage extends Storage {
  readonly turns: TurnStore;
  readonly contexts: ContextStore;
  readonly audit: AuditLog;
  /** Applies a journaled mutation without validating or calling the journal (for replay). */
  applyMutation(mutation: MemoryMutation): void;
  /**
   * As `applyMutation`, but the store takes the mutation's records as they are and freezes them in
   * place instead of copying them. For a caller that holds no other reference to them, such as a
   * replay handing over what it just decoded; the caller must not use them afterwards.
   */
  adoptMutation(mutation: MemoryMutation): void;
  /** Every stored record as mutations that rebuild the same state (for snapshots/compaction). */
  snapshotMutations(): Iterable<MemoryMutation>;
}
