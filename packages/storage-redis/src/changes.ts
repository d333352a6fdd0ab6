import { type ContextChanges, ContextChangesSchema, isEpochMs, isKey, validate } from '@convokit/core';
import { isPlainJsonObject } from './json-check.js';

/** The JSON text of the data and metadata an update sends (undefined: left as stored). */
export interface SentText {
  data: string | undefined;
  metadata: string | undefined;
}

const CHANGE_KEYS: ReadonlySet<string> = new Set(['data', 'metadata', 'ownerId', 'parentId', 'expiresAt']);

/** A safe whole number >= 1, as ContextSchema's version accepts it. */
export function isVersion(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

/**
 * The changes as ContextChangesSchema would give them when every field is plainly valid, checked
 * by hand because it runs on every update (each field read once); undefined when in doubt, and
 * the schema then decides.
 */
function plainChanges(changes: unknown): ContextChanges | undefined {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) return undefined;
  const proto = Object.getPrototypeOf(changes);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const input = changes as Record<string, unknown>;
  const out: ContextChanges = {};
  for (const key in input) {
    // Zod's strict object refuses an unknown key even when its value is undefined.
    if (!CHANGE_KEYS.has(key)) return undefined;
    const value = input[key];
    if (value === undefined) continue;
    switch (key) {
      case 'data':
      case 'metadata':
        if (!isPlainJsonObject(value)) return undefined;
        out[key] = value;
        break;
      case 'ownerId':
        if (!isKey(value)) return undefined;
        out.ownerId = value;
        break;
      case 'parentId':
        if (value !== null && !isKey(value)) return undefined;
        out.parentId = value;
        break;
      default:
        if (value !== null && !isEpochMs(value)) return undefined;
        out.expiresAt = value;
    }
  }
  return out;
}

/**
 * Validates `changes` (VALIDATION before anything is sent) and appends the UPDATE script's change
 * pairs to `args`. Returns the JSON text sent for data and metadata.
 */
export function changeArgs(changes: ContextChanges, args: string[]): SentText {
  const ch = plainChanges(changes) ?? validate(ContextChangesSchema, changes, 'contexts.update');
  const data = ch.data === undefined ? undefined : JSON.stringify(ch.data);
  const metadata = ch.metadata === undefined ? undefined : JSON.stringify(ch.metadata);
  if (data !== undefined) args.push('data', data);
  if (metadata !== undefined) args.push('metadata', metadata);
  if (ch.ownerId !== undefined) args.push('owner', ch.ownerId);
  if (ch.parentId !== undefined) args.push('parent', ch.parentId ?? '');
  if (ch.expiresAt !== undefined) args.push('exp', ch.expiresAt === null ? '' : String(ch.expiresAt));
  return { data, metadata };
}
