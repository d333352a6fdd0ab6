import { type Context, ContextSchema, contextOf, type JsonObject, validate } from '@convokit/core';
import { isEpochMs, isKey, underPath } from './checks.js';
import type { Frozen } from './json.js';

const SCOPES: ReadonlySet<unknown> = new Set(ContextSchema.shape.scope.options);
const KNOWN: ReadonlySet<string> = new Set(Object.keys(ContextSchema.shape));

/**
 * A frozen copy of a context to create. Well-formed input is checked by hand against
 * ContextSchema (several times faster for 1 KB of data); anything the fast check is unsure of
 * goes through the schema itself, so acceptance and errors are the schema's.
 */
export function checkContext(value: unknown, frozen: Frozen): Context {
  const fast = fastContext(value, frozen);
  if (fast !== undefined) return fast;
  return frozen.fresh(underPath(() => validate(ContextSchema, value, 'contexts.create'), 'context'));
}

function fastContext(value: unknown, frozen: Frozen): Context | undefined {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return undefined;
  const v = value as Record<string, unknown>;
  for (const key in v) if (!KNOWN.has(key)) return undefined;
  const { id, scope, version, createdAt, updatedAt, accessCount, lastAccessedAt, expiresAt } = v;
  const { ownerId, sessionId, persona, parentId } = v;
  if (!isKey(id) || !SCOPES.has(scope)) return undefined;
  if (!Number.isSafeInteger(version) || (version as number) < 1) return undefined;
  if (!Number.isSafeInteger(accessCount) || (accessCount as number) < 0) return undefined;
  if (!isEpochMs(createdAt) || !isEpochMs(updatedAt) || !isEpochMs(lastAccessedAt)) return undefined;
  if (expiresAt !== undefined && !isEpochMs(expiresAt)) return undefined;
  if (ownerId !== undefined && !isKey(ownerId)) return undefined;
  if (sessionId !== undefined && !isKey(sessionId)) return undefined;
  if (persona !== undefined && !isKey(persona)) return undefined;
  if (parentId !== undefined && !isKey(parentId)) return undefined;
  // Not remembered in the Frozen set: an entry per object there costs more memory (about 200
  // bytes per 1 KB context) than copying again the few nested objects a later shallow merge reuses.
  const data = frozen.jsonObject(v.data, false);
  const metadata = frozen.jsonObject(v.metadata, false);
  if (data === undefined || metadata === undefined) return undefined;
  return Object.freeze(
    contextOf(
      id,
      scope as Context['scope'],
      ownerId,
      sessionId,
      persona,
      parentId,
      data,
      shareEmpty(metadata),
      version as number,
      createdAt,
      updatedAt,
      expiresAt,
      accessCount as number,
      lastAccessedAt,
    ),
  );
}

const EMPTY: JsonObject = Object.freeze({});

/**
 * Most contexts carry no metadata: one shared frozen `{}` serves them all (it cannot change, so
 * sharing it is invisible) instead of an empty object each.
 */
export function shareEmpty(value: JsonObject): JsonObject {
  for (const _ in value) return value;
  return EMPTY;
}
