import type { Context } from './schemas/context.js';
import type { JsonObject } from './schemas/json.js';

/*
 * Building contexts in one field order, for adapters and managers that keep many of them in
 * memory. Object literals with the same keys in the same order share V8 hidden classes; both
 * helpers below only change memory use and speed, never what a context holds.
 */

/**
 * A context object with the fields in one fixed order: the nine every context has, then ownerId,
 * sessionId, persona, parentId, expiresAt when present. The usual combinations are one literal
 * each, so all their fields sit in the object itself (a field added to a literal afterwards goes to
 * a separate property array: 40 more bytes, and one more memory access to read it); the rest are
 * built by adding fields in that order.
 */
export function contextOf(
  id: string,
  scope: Context['scope'],
  ownerId: string | undefined,
  sessionId: string | undefined,
  persona: string | undefined,
  parentId: string | undefined,
  data: JsonObject,
  metadata: JsonObject,
  version: number,
  createdAt: number,
  updatedAt: number,
  expiresAt: number | undefined,
  accessCount: number,
  lastAccessedAt: number,
): Context {
  if (ownerId !== undefined && persona === undefined && parentId === undefined) {
    if (sessionId !== undefined && expiresAt !== undefined) {
      return {
        id,
        scope,
        data,
        metadata,
        version,
        createdAt,
        updatedAt,
        accessCount,
        lastAccessedAt,
        ownerId,
        sessionId,
        expiresAt,
      };
    }
    if (sessionId === undefined && expiresAt !== undefined) {
      return {
        id,
        scope,
        data,
        metadata,
        version,
        createdAt,
        updatedAt,
        accessCount,
        lastAccessedAt,
        ownerId,
        expiresAt,
      };
    }
    if (sessionId === undefined && expiresAt === undefined) {
      return {
        id,
        scope,
        data,
        metadata,
        version,
        createdAt,
        updatedAt,
        accessCount,
        lastAccessedAt,
        ownerId,
      };
    }
  }
  const context: Context = {
    id,
    scope,
    data,
    metadata,
    version,
    createdAt,
    updatedAt,
    accessCount,
    lastAccessedAt,
  };
  if (ownerId !== undefined) context.ownerId = ownerId;
  if (sessionId !== undefined) context.sessionId = sessionId;
  if (persona !== undefined) context.persona = persona;
  if (parentId !== undefined) context.parentId = parentId;
  if (expiresAt !== undefined) context.expiresAt = expiresAt;
  return context;
}

/**
 * A V8 note, for memory and speed. Object literals with the same keys in the same order share
 * hidden classes, and a field that has only ever held numbers is stored as a private boxed
 * double: every context would carry its own 16-byte box for each of `createdAt`, `updatedAt`,
 * `lastAccessedAt` and `expiresAt`, and every rebuilt context (each touch) would allocate four new
 * boxes and read the old ones. Building, once, objects of every shape a stored context takes with
 * strings in those fields makes V8 keep them as plain tagged fields instead: a rebuilt context then
 * copies references, and equal times share one number. Nothing observable changes; without it
 * (another engine, another V8) contexts only cost more.
 */
function generalizeContextShapes(): readonly object[] {
  const built: object[] = [];
  for (let mask = 0; mask < 32; mask++) {
    const o: Record<string, unknown> = {
      id: '',
      scope: '',
      data: null,
      metadata: null,
      version: 0,
      createdAt: '',
      updatedAt: '',
      accessCount: 0,
      lastAccessedAt: '',
    };
    if (mask & 1) o.ownerId = '';
    if (mask & 2) o.sessionId = '';
    if (mask & 4) o.persona = '';
    if (mask & 8) o.parentId = '';
    if (mask & 16) o.expiresAt = '';
    built.push(o);
  }
  const t = '' as unknown as number;
  const m = null as unknown as JsonObject;
  built.push(
    contextOf('', 'global', '', '', undefined, undefined, m, m, 0, t, t, t, 0, t),
    contextOf('', 'global', '', undefined, undefined, undefined, m, m, 0, t, t, t, 0, t),
    contextOf('', 'global', '', undefined, undefined, undefined, m, m, 0, t, t, undefined, 0, t),
  );
  return built;
}

let contextShapes: readonly object[] | undefined;

/**
 * Runs `generalizeContextShapes` once per process (hidden classes belong to the V8 isolate, not to
 * one store) and keeps what it built in this module, so that a bundler cannot drop the work.
 */
export function warmContextShapes(): readonly object[] {
  contextShapes ??= generalizeContextShapes();
  return contextShapes;
}
