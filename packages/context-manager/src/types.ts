import type { Context, ContextScope, JsonObject } from '@convokit/core';
import type { UpdateStrategy } from './merge.js';

export interface CreateOptions {
  /** Default: a new ULID. */
  id?: string;
  /** Overrides the scope's TTL for this context; `null`: never expires. */
  ttlMs?: number | null;
  /** A live context the caller may read; `resolve` merges its data under this one's. */
  parentId?: string;
  sessionId?: string;
  /** Required for the `persona` scope. */
  persona?: string;
  metadata?: JsonObject;
  /** Default: the calling principal. The policy decides whether another owner is allowed. */
  ownerId?: string;
}

export interface UpdateOptions {
  /** Default `deep`. */
  strategy?: UpdateStrategy;
  /** Write only at this version, else `CONFLICT`. Without it, concurrent updates are retried, never lost. */
  expectedVersion?: number;
}

export interface DeleteOptions {
  /** Also delete every descendant. Without it, deleting a context that has children is `CONFLICT`. */
  cascade?: boolean;
}

export interface ListFilter {
  scope?: ContextScope;
  sessionId?: string;
  ownerId?: string;
  persona?: string;
  parentId?: string;
}

export interface ResolvedContext {
  id: string;
  version: number;
  /** The data of the root ancestor, each descendant overlaid on it, this context last (it wins). */
  data: JsonObject;
  /** Ids from this context up to the root. */
  chain: string[];
}

/** Storage-level operations a handle runs; the manager checks access, limits and versions. */
export type WriteResult = { context: Context; changedKeys: string[] };
