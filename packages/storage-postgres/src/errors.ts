import { ConvokitError } from '@convokit/core';

export interface ServerAddress {
  host: string;
  port: number;
}

/** Connection-level failures: the server is unreachable, went away, or the socket broke. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
]);

/** The connection broke (or never opened): the pool is replaced. */
export function isConnectionLoss(cause: unknown): boolean {
  const code = driverCode(cause);
  return code !== undefined && CONNECTION_CODES.has(code);
}

/** An open connection went away under a call (not a failure to connect): worth one retry of a read. */
const DROPPED_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01',
  '57P02',
]);

export function isDroppedConnection(cause: unknown): boolean {
  const code = driverCode(cause);
  return code !== undefined && DROPPED_CODES.has(code);
}

function driverCode(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined;
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Turns a driver failure into the one error class: `LOCKED` for lock timeouts, deadlocks and
 * serialization failures (retryable), `STORAGE` otherwise, always naming the server.
 */
export function toStorageError(cause: unknown, op: string, server: ServerAddress): ConvokitError {
  if (ConvokitError.is(cause)) return cause;
  const code = driverCode(cause);
  const where = `${server.host}:${server.port}`;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const details = { adapter: 'postgres', op, host: server.host, port: server.port, driverCode: code };
  if (code === '55P03' || code === '40P01' || code === '40001') {
    return new ConvokitError('LOCKED', `PostgreSQL at ${where}: ${op} hit a lock: ${reason}`, details, {
      cause,
    });
  }
  if (code !== undefined && CONNECTION_CODES.has(code)) {
    return new ConvokitError(
      'STORAGE',
      `PostgreSQL at ${where} is unreachable or dropped the connection during ${op}: ${reason}`,
      { ...details, reason: 'connection' },
      { cause },
    );
  }
  if (code === '57014') {
    return new ConvokitError(
      'STORAGE',
      `PostgreSQL at ${where}: ${op} timed out: ${reason}`,
      {
        ...details,
        reason: 'timeout',
      },
      { cause },
    );
  }
  return new ConvokitError('STORAGE', `PostgreSQL at ${where}: ${op} failed: ${reason}`, details, { cause });
}
