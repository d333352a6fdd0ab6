import type { Clock, Logger } from '@convokit/core';
import type { Options as PostgresOptions } from 'postgres';

export interface PostgresPoolOptions {
  /** Most connections open at once; default 10. */
  max?: number;
  /** Close a connection idle this long; default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Give up connecting after this long (STORAGE error naming the host); default 5 000 ms. */
  connectTimeoutMs?: number;
}

export interface PostgresStorageOptions {
  /** `postgres://user@host:port/db`. Either this or `connection`. */
  url?: string;
  /** Driver options (host, port, user, database, ssl, ...), used when `url` is absent or merged over it. */
  connection?: PostgresOptions<Record<string, never>>;
  /** Schema holding every table; created on first use. Default `convokit`. */
  schema?: string;
  /** Default "now" for context expiry; default the system clock. */
  clock?: Clock;
  pool?: PostgresPoolOptions;
  /** Server-side statement timeout; default 30 000 ms. 0 disables it. */
  statementTimeoutMs?: number;
  /** pino logger; silent when absent. */
  logger?: Logger;
}
