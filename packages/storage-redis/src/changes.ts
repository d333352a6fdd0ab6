import {
  type ContextChanges,
  ContextChangesSchema,
  isEpochMs,
  isKey,
  type JsonObject,
  validate,
} from '@convokit/core';
import { plainJsonCopy } from './json-check.js';

/** A JSON object an update sends: its text, and a fresh copy of it to hand back. */
export interface SentJson {
  text: string;
  /** Equal to `JSON.parse(text)`, shared with nothing (not with the caller's changes). */
  value: JsonObject;
}

/** The data and metadata an update sends (undefined: left as stored). */
export interface SentText {
  data: SentJson | undefined;
  metadata: SentJson | undefined;
}

const CHANGE_KEYS: ReadonlySet<string> = new Set(['data', 'metadata', 'ownerId', 'parentId', 'expiresAt']);

/** A safe whole number >= 1, as ContextSchema's version accepts it. */
export function isVersion(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

/**
 * The changes as ContextChangesSchema would give them when every field is plainly valid, checked
 * by hand because it runs on every update (each field read once; `data` and `metadata` are fresh
 * copies); undefined when in doubt, and the schema then decides.
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
        {
          const copy = plainJsonCopy(value);
          if (copy === undefined) return undefined;
          out[key] = copy;
        }
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

/** The text of `value`, with `value` itself as the copy when it is already one (the fast path). */
function sent(value: JsonObject | undefined, fresh: boolean): SentJson | undefined {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  return { text, value: fresh ? value : JSON.parse(text) };
}

/**
 * Validates `changes` (VALIDATION before anything is sent) and appends the UPDATE script's change
 * pairs to `args`. Returns the data and metadata sent, as text and as copies to hand back.
 */
export function changeArgs(changes: ContextChanges, args: string[]): SentText {
  const plain = plainChanges(changes);
  const ch = plain ?? validate(ContextChangesSchema, changes, 'contexts.update');
  // The schema's output may share objects with the input: that path copies by parsing the text.
  const data = sent(ch.data, plain !== undefined);
  const metadata = sent(ch.metadata, plain !== undefined);
  if (data !== undefined) args.push('data', data.text);
  if (metadata !== undefined) args.push('metadata', metadata.text);
  if (ch.ownerId !== undefined) args.push('owner', ch.ownerId);
  if (ch.parentId !== undefined) args.push('parent', ch.parentId ?? '');
  if (ch.expiresAt !== undefined) args.push('exp', ch.expiresAt === null ? '' : String(ch.expiresAt));
  return { data, metadata };
}
