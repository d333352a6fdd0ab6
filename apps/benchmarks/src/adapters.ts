import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, Storage } from '@convokit/core';

/**
 * Our adapters, loaded from their built packages by name. A package that is not built yet, or
 * that does not export its factory yet, is skipped with the reason, so the harness runs while the
 * adapters land one by one.
 */

export type AdapterName = 'memory' | 'file' | 'sqlite' | 'postgres' | 'redis';

export interface Adapter {
  name: AdapterName;
  /** `memory`, `embedded` or `server`: rows compare with peers of the same class. */
  klass: 'memory' | 'embedded' | 'server';
  subject: string;
  /** Serves turns (redis serves contexts and audit only). */
  turns: boolean;
  /** A fresh, empty store. `dispose` closes it and removes its files. */
  open(options?: {
    clock?: Clock;
    extra?: Record<string, unknown>;
  }): Promise<{ storage: Storage; dispose(): Promise<void> }>;
}

type Factory = (options: Record<string, unknown>) => Storage | Promise<Storage>;

async function loadFactory(pkg: string, name: string): Promise<Factory | string> {
  try {
    const mod = (await import(pkg)) as Record<string, unknown>;
    const factory = mod[name];
    if (typeof factory !== 'function') return `${pkg} does not export ${name} yet`;
    return factory as Factory;
  } catch (error) {
    return `${pkg} could not be loaded (${(error as Error).message.split('\n')[0]})`;
  }
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `convokit-bench-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

let schemaCounter = 0;

export interface AdapterSet {
  adapters: Adapter[];
  skipped: { subject: string; reason: string }[];
}

export async function loadAdapters(): Promise<AdapterSet> {
  const adapters: Adapter[] = [];
  const skipped: { subject: string; reason: string }[] = [];

  const memory = await loadFactory('@convokit/storage-memory', 'createMemoryStorage');
  if (typeof memory === 'string') skipped.push({ subject: 'convokit memory', reason: memory });
  else {
    adapters.push({
      name: 'memory',
      klass: 'memory',
      subject: 'convokit memory',
      turns: true,
      async open(options = {}) {
        const storage = await memory(options.clock ? { clock: options.clock } : {});
        return { storage, dispose: () => storage.close() };
      },
    });
  }

  const file = await loadFactory('@convokit/storage-file', 'createFileStorage');
  if (typeof file === 'string') skipped.push({ subject: 'convokit file', reason: file });
  else {
    adapters.push({
      name: 'file',
      klass: 'embedded',
      subject: 'convokit file',
      turns: true,
      async open(options = {}) {
        const dir = tempDir('file');
        const storage = await file({
          directory: dir.path,
          ...(options.clock ? { clock: options.clock } : {}),
        });
        return {
          storage,
          async dispose() {
            await storage.close();
            dir.remove();
          },
        };
      },
    });
  }

  const sqlite = await loadFactory('@convokit/storage-sqlite', 'createSqliteStorage');
  if (typeof sqlite === 'string') skipped.push({ subject: 'convokit sqlite', reason: sqlite });
  else {
    adapters.push({
      name: 'sqlite',
      klass: 'embedded',
      subject: 'convokit sqlite',
      turns: true,
      async open(options = {}) {
        const dir = tempDir('sqlite');
        const storage = await sqlite({
          path: join(dir.path, 'convokit.db'),
          ...(options.clock ? { clock: options.clock } : {}),
        });
        return {
          storage,
          async dispose() {
            await storage.close();
            dir.remove();
          },
        };
      },
    });
  }

  const postgresUrl = process.env.CONVOKIT_POSTGRES_URL;
  if (!postgresUrl)
    skipped.push({ subject: 'convokit postgres', reason: 'CONVOKIT_POSTGRES_URL is not set' });
  else {
    const postgres = await loadFactory('@convokit/storage-postgres', 'createPostgresStorage');
    if (typeof postgres === 'string') skipped.push({ subject: 'convokit postgres', reason: postgres });
    else {
      adapters.push({
        name: 'postgres',
        klass: 'server',
        subject: 'convokit postgres',
        turns: true,
        async open(options = {}) {
          // Each store in its own schema, dropped afterwards, so runs never see each other's rows.
          const schema = `bench_${process.pid}_${schemaCounter++}`;
          // One connection unless told otherwise: issue 9's first figure is per connection.
          const storage = await postgres({
            url: postgresUrl,
            schema,
            pool: { max: 1 },
            ...(options.clock ? { clock: options.clock } : {}),
            ...options.extra,
          });
          // Create the schema now, as the README advises for deployments, so the first timed
          // call measures its own work rather than the migration.
          await (storage as { migrate?: () => Promise<void> }).migrate?.();
          return {
            storage,
            async dispose() {
              await storage.close();
              await dropPostgresSchema(postgresUrl, schema);
            },
          };
        },
      });
    }
  }

  const redisUrl = process.env.CONVOKIT_REDIS_URL;
  if (!redisUrl) skipped.push({ subject: 'convokit redis', reason: 'CONVOKIT_REDIS_URL is not set' });
  else {
    const redis = await loadFactory('@convokit/storage-redis', 'createRedisStorage');
    if (typeof redis === 'string') skipped.push({ subject: 'convokit redis', reason: redis });
    else {
      adapters.push({
        name: 'redis',
        klass: 'server',
        subject: 'convokit redis',
        turns: false,
        async open(options = {}) {
          const keyPrefix = `bench:${process.pid}:${schemaCounter++}:`;
          const storage = await redis({
            url: redisUrl,
            keyPrefix,
            ...(options.clock ? { clock: options.clock } : {}),
          });
          return {
            storage,
            async dispose() {
              await storage.close();
              await deleteRedisPrefix(redisUrl, keyPrefix);
            },
          };
        },
      });
    }
  }

  return { adapters, skipped };
}

async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  try {
    const { default: postgres } = (await import('postgres' as string)) as {
      default: (
        url: string,
        options: object,
      ) => {
        unsafe(sql: string): Promise<unknown>;
        end(): Promise<void>;
      };
    };
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  } catch {
    // The adapter may clean up itself; a leftover schema is harmless in a test database.
  }
}

/** Loads a manager factory from its built package, or says why it cannot. */
export async function loadManager<T>(pkg: string, name: string): Promise<T | string> {
  const factory = await loadFactory(pkg, name);
  return factory as unknown as T | string;
}

/** Removes every key a benchmark store wrote under its prefix. */
async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
