import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConvokitError, type Storage } from '@convokit/core';
import { createFileStorage } from '@convokit/storage-file';
import { createMemoryStorage } from '@convokit/storage-memory';
import { createPostgresStorage } from '@convokit/storage-postgres';
import { createSqliteStorage } from '@convokit/storage-sqlite';

export const STORAGE_KINDS = ['sqlite', 'memory', 'file', 'postgres'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

export interface StorageChoice {
  kind: StorageKind;
  /** sqlite: the database file; file: the directory; postgres: the URL. */
  location: string;
}

/**
 * Which storage to use: `--storage` wins, then CONVOKIT_STORAGE, then SQLite. The location comes
 * from `--db`, then CONVOKIT_DB (sqlite file, file directory) or CONVOKIT_POSTGRES_URL.
 */
export function chooseStorage(flags: { storage?: string; db?: string }, env = process.env): StorageChoice {
  const kind = (flags.storage ?? (env.CONVOKIT_STORAGE || 'sqlite')) as StorageKind;
  if (!STORAGE_KINDS.includes(kind)) {
    throw new ConvokitError(
      'VALIDATION',
      `Unknown storage "${kind}"; use one of ${STORAGE_KINDS.join(', ')}`,
      {
        issues: [{ path: 'storage', message: `must be one of ${STORAGE_KINDS.join(', ')}` }],
      },
    );
  }
  const given = flags.db ?? (env.CONVOKIT_DB || undefined);
  switch (kind) {
    case 'sqlite':
      return { kind, location: given ?? join('.convokit', 'convokit.db') };
    case 'file':
      return { kind, location: given ?? join('.convokit', 'files') };
    case 'memory':
      return { kind, location: '(memory)' };
    case 'postgres': {
      const url = given ?? (env.CONVOKIT_POSTGRES_URL || undefined);
      if (!url) {
        throw new ConvokitError('VALIDATION', 'postgres storage needs --db URL or CONVOKIT_POSTGRES_URL', {
          issues: [{ path: 'db', message: 'a postgres:// URL is required' }],
        });
      }
      return { kind, location: url };
    }
  }
}

export async function openStorage(choice: StorageChoice): Promise<Storage> {
  switch (choice.kind) {
    case 'sqlite':
      mkdirSync(dirname(choice.location), { recursive: true });
      return createSqliteStorage({ path: choice.location });
    case 'file':
      return createFileStorage({ directory: choice.location, createDirectory: true });
    case 'memory':
      return createMemoryStorage();
    case 'postgres':
      return createPostgresStorage({ url: choice.location });
  }
}
