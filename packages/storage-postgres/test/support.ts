import { randomBytes } from 'node:crypto';
import type { Clock } from '@convokit/core';
import postgres from 'postgres';
import { createPostgresStorage, type PostgresStorage } from '../src/index.js';

export const url = process.env.CONVOKIT_POSTGRES_URL;

/** Prints why a file's tests did not run, so a skip is never silent. */
export function reportSkip(file: string): void {
  if (!url) console.log(`[storage-postgres] ${file}: skipped, CONVOKIT_POSTGRES_URL is not set`);
}

export function freshSchema(): string {
  return `ck_test_${randomBytes(6).toString('hex')}`;
}

/** A store in its own new schema; `drop()` closes it and removes the schema. */
export function freshStorage(options: { clock?: Clock; schema?: string; pool?: { max?: number } } = {}): {
  storage: PostgresStorage;
  drop(): Promise<void>;
} {
  const schema = options.schema ?? freshSchema();
  const storage = createPostgresStorage({ url: url!, schema, clock: options.clock, pool: options.pool });
  return {
    storage,
    async drop() {
      await storage.close();
      await dropSchema(schema);
    },
  };
}

let admin: postgres.Sql | undefined;

/** Drops a test schema through one shared connection (unref'd, so it never holds the process). */
export async function dropSchema(schema: string): Promise<void> {
  admin ??= postgres(url!, { max: 1, idle_timeout: 1, onnotice: () => {} });
  await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
