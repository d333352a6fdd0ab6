import {
  type AuditLog,
  type ContextStore,
  ConvokitError,
  createLogger,
  STORAGE_CONTRACT_VERSION,
  type Storage,
  type StorageCapabilities,
  systemClock,
  type TurnStore,
} from '@convokit/core';
import postgres from 'postgres';
import { createAuditLog } from './audit.js';
import { createContextStore } from './contexts.js';
import { Db, type PgSql } from './db.js';
import type { ServerAddress } from './errors.js';
import type { PostgresStorageOptions } from './options.js';
import { quoteIdent } from './params.js';
import { createTurnStore } from './turns.js';

export interface PostgresStorage extends Storage {
  readonly turns: TurnStore;
  readonly contexts: ContextStore;
  readonly audit: AuditLog;
  /** The schema holding the tables. */
  readonly schema: string;
  /** Creates or upgrades the schema now (otherwise the first call does it). */
  migrate(): Promise<void>;
}

const CAPABILITIES: StorageCapabilities = {
  turns: true,
  contexts: true,
  audit: true,
  multiProcess: true,
  durable: true,
};

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function serverOf(options: PostgresStorageOptions): ServerAddress {
  const conn = options.connection ?? {};
  let host = typeof conn.host === 'string' ? conn.host : undefined;
  let port = typeof conn.port === 'number' ? conn.port : undefined;
  if (options.url) {
    try {
      const u = new URL(options.url);
      host ??= u.hostname || undefined;
      port ??= u.port ? Number(u.port) : undefined;
    } catch {
      throw new ConvokitError('VALIDATION', 'Invalid input to createPostgresStorage: url: not a URL', {
        where: 'createPostgresStorage',
        issues: [{ path: 'url', message: 'not a URL' }],
      });
    }
  }
  return {
    host: host ?? process.env.PGHOST ?? 'localhost',
    port: port ?? Number(process.env.PGPORT ?? 5432),
  };
}

function positive(value: number | undefined, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new ConvokitError('VALIDATION', `Invalid input to createPostgresStorage: ${path}: must be >= 0`, {
      where: 'createPostgresStorage',
      issues: [{ path, message: 'must be a non-negative number' }],
    });
  }
  return value;
}

/**
 * PostgreSQL storage: every part of the contract, for several processes and hosts. The schema is
 * created or upgraded on first use (or by `migrate()`).
 */
export function createPostgresStorage(options: PostgresStorageOptions = {}): PostgresStorage {
  const schema = options.schema ?? 'convokit';
  if (!SCHEMA_NAME.test(schema)) {
    throw new ConvokitError(
      'VALIDATION',
      'Invalid input to createPostgresStorage: schema: not a plain identifier',
      {
        where: 'createPostgresStorage',
        issues: [{ path: 'schema', message: 'must match /^[A-Za-z_][A-Za-z0-9_]{0,62}$/' }],
      },
    );
  }
  const server = serverOf(options);
  const max = positive(options.pool?.max, 10, 'pool.max');
  const idleMs = positive(options.pool?.idleTimeoutMs, 30_000, 'pool.idleTimeoutMs');
  const connectMs = positive(options.pool?.connectTimeoutMs, 5_000, 'pool.connectTimeoutMs');
  const statementMs = positive(options.statementTimeoutMs, 30_000, 'statementTimeoutMs');
  const log = createLogger('storage-postgres', options.logger);
  const driverOptions = {
    ...options.connection,
    max: Math.max(1, Math.floor(max)),
    idle_timeout: idleMs / 1000,
    connect_timeout: connectMs / 1000,
    onnotice: () => {},
    connection: {
      application_name: 'convokit',
      // Compiling a plan costs 100+ ms, more than any statement here runs (estimates of the
      // append's CTEs cross the JIT thresholds); a caller may turn it back on.
      jit: 'off',
      ...(options.connection?.connection ?? {}),
      ...(statementMs > 0 ? { statement_timeout: Math.round(statementMs) } : {}),
    },
    // int8 (counts, epoch ms) as numbers: every value convokit stores fits in 2^53.
    types: {
      int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  };
  const poolOf = (size: number) => {
    const o = { ...driverOptions, max: size };
    return (options.url ? postgres(options.url, o as never) : postgres(o as never)) as unknown as PgSql;
  };
  // With two connections or more, one of them serves the by-id reads (see Db's makeByIdSql).
  const byIdLane = driverOptions.max >= 2;
  const makeSql = () => poolOf(byIdLane ? driverOptions.max - 1 : driverOptions.max);
  const db = new Db({
    makeSql,
    ...(byIdLane ? { makeByIdSql: () => poolOf(1) } : {}),
    schema,
    S: quoteIdent(schema),
    clock: options.clock ?? systemClock,
    log,
    server,
    // Connecting, then the statement, then a margin: past that the server is not answering.
    deadlineMs: connectMs + (statementMs > 0 ? statementMs : 60_000) + 2_000,
  });
  let closing: Promise<void> | undefined;

  const close = (): Promise<void> => {
    if (!closing) {
      db.markClosed();
      closing = db.end(5).catch((error: unknown) => {
        log.warn({ err: String(error) }, 'error while closing the pool');
      });
    }
    return closing;
  };

  return {
    name: 'postgres',
    contractVersion: STORAGE_CONTRACT_VERSION,
    capabilities: { ...CAPABILITIES },
    schema,
    turns: createTurnStore(db),
    contexts: createContextStore(db),
    audit: createAuditLog(db),
    migrate: () => db.run('migrate', async () => undefined),
    close,
    [Symbol.asyncDispose]: close,
  };
}
