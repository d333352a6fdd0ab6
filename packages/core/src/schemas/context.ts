import { z } from 'zod';
import { EpochMsSchema, KeySchema } from './common.js';
import { JsonObjectSchema } from './json.js';

export const ContextScopeSchema = z.enum([
  'session',
  'conversation',
  'global',
  'persona',
  'analytics',
  'navigation',
]);
export type ContextScope = z.infer<typeof ContextScopeSchema>;
export const CONTEXT_SCOPES = ContextScopeSchema.options;

/** A stored context object. `data` and `metadata` are plain JSON objects. */
export const ContextSchema = z
  .object({
    id: KeySchema,
    scope: ContextScopeSchema,
    ownerId: KeySchema.optional(),
    sessionId: KeySchema.optional(),
    persona: KeySchema.optional(),
    parentId: KeySchema.optional(),
    data: JsonObjectSchema,
    metadata: JsonObjectSchema,
    /** 1 on create, +1 on every write. */
    version: z.number().int().min(1),
    createdAt: EpochMsSchema,
    updatedAt: EpochMsSchema,
    /** Absent: never expires. A context is expired once `now >= expiresAt`. */
    expiresAt: EpochMsSchema.optional(),
    accessCount: z.number().int().nonnegative(),
    lastAccessedAt: EpochMsSchema,
  })
  .strict();
export type Context = z.infer<typeof ContextSchema>;

/**
 * The fields a versioned update may change. Setting `expiresAt` or `parentId` to `null`
 * removes it; leaving a field out keeps it.
 */
export const ContextChangesSchema = z
  .object({
    data: JsonObjectSchema.optional(),
    metadata: JsonObjectSchema.optional(),
    ownerId: KeySchema.optional(),
    parentId: KeySchema.nullable().optional(),
    expiresAt: EpochMsSchema.nullable().optional(),
  })
  .strict();
export type ContextChanges = z.infer<typeof ContextChangesSchema>;

/** The options of `ContextStore.get` (core `GetContextByIdOptions`). */
export const GetContextByIdOptionsSchema = z
  .object({
    now: EpochMsSchema.optional(),
    versionChecked: z.boolean().optional(),
  })
  .strict();

/** Which contexts a list or count applies to; every field narrows (AND). */
export const ContextFilterSchema = z
  .object({
    scope: ContextScopeSchema.optional(),
    ownerId: KeySchema.optional(),
    sessionId: KeySchema.optional(),
    persona: KeySchema.optional(),
    parentId: KeySchema.optional(),
  })
  .strict();
export type ContextFilter = z.infer<typeof ContextFilterSchema>;

/** Who makes a call. `admin` may do anything the default policy allows admins. */
export const PrincipalSchema = z
  .object({
    id: KeySchema,
    kind: z.enum(['user', 'service', 'admin']).default('user'),
    /** Personas this principal acts as (for `persona`-scope contexts). */
    personas: z.array(KeySchema).max(100).default([]),
  })
  .strict();
export type PrincipalInput = z.input<typeof PrincipalSchema>;
export type Principal = z.output<typeof PrincipalSchema>;

export const AuditActionSchema = z.enum(['create', 'read', 'update', 'delete', 'expire', 'deny']);
export type AuditAction = z.infer<typeof AuditActionSchema>;

/** One audited event. It names the keys that changed, never their values. */
export const AuditEventSchema = z
  .object({
    id: KeySchema,
    at: EpochMsSchema,
    /** Principal id; `system` for sweeps. */
    principal: KeySchema,
    action: AuditActionSchema,
    contextId: KeySchema,
    scope: ContextScopeSchema,
    outcome: z.enum(['ok', 'denied', 'error']),
    /** Top-level data keys (and `metadata`, `expiresAt`, ...) written; empty for reads and deletes. */
    changedKeys: z.array(z.string().max(256)).max(1000),
    /** For a denial: the action that was refused. */
    attemptedAction: AuditActionSchema.optional(),
    /** Version after the write, when there was one. */
    version: z.number().int().min(1).optional(),
  })
  .strict();
export type AuditEvent = z.infer<typeof AuditEventSchema>;

export const AuditFilterSchema = z
  .object({
    contextId: KeySchema.optional(),
    principal: KeySchema.optional(),
    action: AuditActionSchema.optional(),
    scope: ContextScopeSchema.optional(),
    from: EpochMsSchema.optional(),
    to: EpochMsSchema.optional(),
  })
  .strict();
export type AuditFilter = z.infer<typeof AuditFilterSchema>;

/** Options of `ContextStore.deleteExpired` (see the contract in storage.ts). */
export const SweepOptionsSchema = z
  .object({
    /** At most this many contexts, oldest expiry first. */
    limit: z.number().int().min(1).optional(),
    /** `false`: the deleted contexts come back without `data` and `metadata`. Default `true`. */
    values: z.boolean().optional(),
  })
  .strict();
export type SweepOptions = z.infer<typeof SweepOptionsSchema>;
