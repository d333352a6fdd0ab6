import type {
  Clock,
  Context,
  ContextScope,
  ConversationalQueryInput,
  DataResponse,
  JsonObject,
  PrincipalInput,
  Storage,
} from '@convokit/core';
import { loadManager } from './adapters.js';

/**
 * The managers, loaded from their built packages by name and typed by the little this app uses,
 * so a manager that is not built yet is skipped with the reason instead of breaking the run.
 */

export interface DataManager {
  query(query: ConversationalQueryInput): Promise<DataResponse>;
  recordTurns(turns: readonly unknown[]): Promise<unknown[]>;
  getMetrics(): {
    cache: { hits: number; misses: number; revalidated?: number; hitRate: number | null; size: number };
  };
  clearCache(): void;
  close(): Promise<void>;
}

export type CreateDataManager = (options: {
  storage: Storage;
  cache?: { ttlMs?: number; maxEntries?: number } | false;
  clock?: Clock;
}) => DataManager;

export interface ContextHandle {
  create(
    scope: ContextScope,
    data?: JsonObject,
    options?: { id?: string; ttlMs?: number; sessionId?: string },
  ): Promise<Context>;
  get(id: string): Promise<Context | undefined>;
  update(
    id: string,
    patch: JsonObject,
    options?: { strategy?: 'replace' | 'shallow' | 'deep'; expectedVersion?: number },
  ): Promise<Context>;
  delete(id: string): Promise<boolean>;
}

export interface ContextManager {
  as(principal: PrincipalInput): ContextHandle;
  sweep(): Promise<number>;
  audit(filter?: { action?: string }, page?: { limit?: number }): Promise<{ items: unknown[] }>;
  close(): Promise<void>;
}

export type CreateContextManager = (options: {
  storage: Storage;
  clock?: Clock;
  sweepIntervalMs?: number;
  ttl?: { default?: number | null };
}) => ContextManager;

/** The chat analytics workflow (issue 6), typed by the little this app uses. */
export interface ChatWorkflow {
  processChatQuery(
    text: string,
    context: { principal: PrincipalInput; sessionId: string },
  ): Promise<{
    understood: boolean;
    response?: DataResponse;
    chart: object | null;
    search?: object;
    summary: string;
  }>;
}

export type CreateChatWorkflow = (options: {
  dataManager: DataManager;
  contexts: ContextManager;
  clock?: Clock;
}) => ChatWorkflow;

export const loadDataManager = () =>
  loadManager<CreateDataManager>('@convokit/data-manager', 'createConversationalDataManager');
export const loadContextManager = () =>
  loadManager<CreateContextManager>('@convokit/context-manager', 'createChatContextManager');
export const loadChatWorkflow = () =>
  loadManager<CreateChatWorkflow>('@convokit/integrations/chat', 'createChatAnalyticsWorkflow');

/** Heap in use after a full collection (needs `node --expose-gc`), bytes. */
export function settledHeap(): { heap: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}
