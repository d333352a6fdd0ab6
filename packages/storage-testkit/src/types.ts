import type { AuditLog, Clock, ContextStore, ManualClock, Storage, TurnStore } from '@convokit/core';

export type StoragePart = 'turns' | 'contexts' | 'audit';

/** How the suite gets a store to test. Every `create()` call must return a new, empty store. */
export interface StorageInitializer {
  /** Shown in the describe block: `storage conformance: <name>`. */
  name: string;
  /** A NEW, EMPTY store whose default "now" comes from `clock` (expiry, `updatedAt` defaults). */
  create(options: { clock: Clock }): Storage | Promise<Storage>;
  /** Runs after each case; default `storage.close()`. Drop tables, delete files, flush keys here. */
  destroy?(storage: Storage): void | Promise<void>;
  beforeAll?(): void | Promise<void>;
  afterAll?(): void | Promise<void>;
  /** Parts the adapter serves; default read from `storage.capabilities`. */
  parts?: StoragePart[];
}

/** What a case runs against: a fresh store and the manual clock it was created with. */
export interface CaseContext {
  readonly storage: Storage;
  readonly clock: ManualClock;
  /** The store's parts; reading a part the store lacks throws `UNSUPPORTED`. */
  readonly turns: TurnStore;
  readonly contexts: ContextStore;
  readonly audit: AuditLog;
}

export interface ConformanceCase {
  /** The part the case needs; `storage` cases run against every adapter. */
  part: StoragePart | 'storage';
  /** An optional capability the case checks; stores without it report the case skipped. */
  requires?:
    | 'turns.version'
    | 'turns.sessionStats'
    | 'turns.personaPreference'
    | 'contexts.deleteExpiredAudited'
    | 'contexts.deleteExpiredDeferred';
  /** The concern (one source file each), e.g. `turns-append`. */
  concern: string;
  name: string;
  run(ctx: CaseContext): Promise<void>;
}
