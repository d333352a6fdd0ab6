import type { Context, Principal } from '@convokit/core';

/** What a policy is asked about. Listing asks `read` of each context it would return. */
export type PolicyAction = 'create' | 'read' | 'update' | 'delete';

/**
 * Decides whether `principal` may do `action` to `context`. For `create` the context is the one
 * about to be written (owner, scope, persona, parent already set). Return `true` to allow. A
 * policy may be async, but a synchronous one keeps reads fast.
 */
export type AccessPolicy = (
  principal: Principal,
  action: PolicyAction,
  context: Context,
) => boolean | Promise<boolean>;

/**
 * The default policy (the table in the README):
 * - admins may do anything;
 * - `global`: everyone reads, only admins write;
 * - `persona`: principals acting as the context's persona, for every action;
 * - `session`, `conversation`, `analytics`, `navigation`: the owner only.
 * `service` principals get exactly what users get: a backend that must act on other principals'
 * contexts is given admin or a custom policy, so the wide grant is a visible decision.
 */
export function defaultPolicy(principal: Principal, action: PolicyAction, context: Context): boolean {
  if (principal.kind === 'admin') return true;
  switch (context.scope) {
    case 'global':
      return action === 'read';
    case 'persona':
      return context.persona !== undefined && principal.personas.includes(context.persona);
    default:
      return context.ownerId === principal.id;
  }
}
