import { CONTEXT_SCOPES, type Context, isEpochMs, isKey } from '@convokit/core';
import { isVersion } from './changes.js';
import { plainJsonCopy } from './json-check.js';

const SCOPES: ReadonlySet<string> = new Set(CONTEXT_SCOPES);
const OPTIONAL_KEYS = ['ownerId', 'sessionId', 'persona', 'parentId'] as const;
const KNOWN: ReadonlySet<string> = new Set([
  'id',
  'scope',
  ...OPTIONAL_KEYS,
  'data',
  'metadata',
  'version',
  'createdAt',
  'updatedAt',
  'expiresAt',
  'accessCount',
  'lastAccessedAt',
]);

/**
 * The context as ContextSchema would give it when every field is plainly valid, checked by hand
 * because it runs on every create (each field read once; `data` and `metadata` are fresh copies,
 * equal to what their JSON text parses to, so the result shares nothing with the input);
 * undefined when in doubt, and the schema then decides.
 */
export function plainContext(value: unknown): Context | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const input = value as Record<string, unknown>;
  for (const key in input) if (!KNOWN.has(key)) return undefined;
  const { id, scope, data, metadata, version, createdAt, updatedAt, expiresAt, accessCount, lastAccessedAt } =
    input;
  if (!isKey(id) || typeof scope !== 'string' || !SCOPES.has(scope)) return undefined;
  if (!isVersion(version)) return undefined;
  if (!isEpochMs(createdAt) || !isEpochMs(updatedAt) || !isEpochMs(lastAccessedAt)) return undefined;
  if (expiresAt !== undefined && !isEpochMs(expiresAt)) return undefined;
  if (!(Number.isSafeInteger(accessCount) && (accessCount as number) >= 0)) return undefined;
  const dataCopy = plainJsonCopy(data);
  if (dataCopy === undefined) return undefined;
  const metadataCopy = plainJsonCopy(metadata);
  if (metadataCopy === undefined) return undefined;
  const c: Context = {
    id,
    scope: scope as Context['scope'],
    data: dataCopy,
    metadata: metadataCopy,
    version,
    createdAt,
    updatedAt,
    accessCount: accessCount as number,
    lastAccessedAt,
  };
  for (const key of OPTIONAL_KEYS) {
    const v = input[key];
    if (v === undefined) continue;
    if (!isKey(v)) return undefined;
    c[key] = v;
  }
  if (expiresAt !== undefined) c.expiresAt = expiresAt;
  return c;
}
