import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, ManualClock, Storage } from '@convokit/core';
import { createManualClock } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { type ChatContextManagerOptions, createChatContextManager } from '../src/index.js';

export const T0 = Date.UTC(2026, 0, 1);

export interface Backend {
  name: string;
  /** A fresh, empty storage. */
  open(clock: Clock): Promise<Storage>;
  /** Why it is unavailable, if it is. */
  unavailable?: string;
}

type SqliteFactory = (options: { path: string; clock?: Clock }) => Storage | Promise<Storage>;

async function loadSqlite(): Promise<SqliteFactory | string> {
  try {
    const mod = (await import('@convokit/storage-sqlite')) as { createSqliteStorage?: SqliteFactory };
    if (typeof mod.createSqliteStorage !== 'function')
      return '@convokit/storage-sqlite has no createSqliteStorage yet';
    return mod.createSqliteStorage;
  } catch (error) {
    return `@convokit/storage-sqlite failed to load: ${(error as Error).message}`;
  }
}

const dirs: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'convokit-cm-'));
  dirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const sqlite = await loadSqlite();
export const sqliteFactory: SqliteFactory | undefined = typeof sqlite === 'function' ? sqlite : undefined;
export const sqliteUnavailable: string | undefined = typeof sqlite === 'string' ? sqlite : undefined;

export const BACKENDS: Backend[] = [
  { name: 'memory', open: async (clock) => createMemoryStorage({ clock }) },
  {
    name: 'sqlite',
    open: async (clock) => sqliteFactory!({ path: join(tempDir(), 'contexts.db'), clock }),
    ...(sqliteUnavailable ? { unavailable: sqliteUnavailable } : {}),
  },
];

/** Backends to run against; prints why one is skipped. */
export function availableBackends(): Backend[] {
  return BACKENDS.filter((b) => {
    if (b.unavailable) console.warn(`[context-manager tests] skipping ${b.name}: ${b.unavailable}`);
    return !b.unavailable;
  });
}

export interface Setup {
  clock: ManualClock;
  storage: Storage;
  manager: ReturnType<typeof createChatContextManager>;
  close(): Promise<void>;
}

export async function setup(
  backend: Backend = BACKENDS[0]!,
  options: Partial<ChatContextManagerOptions> = {},
): Promise<Setup> {
  const clock = createManualClock(T0);
  const storage = await backend.open(clock);
  const manager = createChatContextManager({ storage, clock, sweepIntervalMs: 0, ...options });
  return {
    clock,
    storage,
    manager,
    async close() {
      await manager.close();
      await storage.close();
    },
  };
}

export const alice = { id: 'alice', kind: 'user' as const, personas: ['analyst'] };
export const bob = { id: 'bob', kind: 'user' as const, personas: ['support'] };
export const svc = { id: 'svc', kind: 'service' as const, personas: ['analyst'] };
export const root = { id: 'root', kind: 'admin' as const, personas: [] };

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code?: string; details?: Record<string, unknown>; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; details?: Record<string, unknown>; message: string };
  }
  throw new Error('expected a rejection, but the call succeeded');
}
