import type { ContextScope, Principal, PrincipalInput } from '@convokit/core';
import { CONTEXT_SCOPES } from '@convokit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultPolicy, type PolicyAction } from '../src/index.js';
import { rejection, root, setup } from './helpers.js';

/**
 * The README's policy table, written out independently of the implementation. Every context in
 * these tests is owned by `alice` and tagged with persona `analyst`. Letters: c(reate) r(ead)
 * u(pdate) d(elete); `-` is denied.
 */
type Relation = 'owner' | 'other' | 'member' | 'admin';
const TABLE: Record<ContextScope, Record<Relation, string>> = {
  global: { owner: '-r--', other: '-r--', member: '-r--', admin: 'crud' },
  persona: { owner: '----', other: '----', member: 'crud', admin: 'crud' },
  session: { owner: 'crud', other: '----', member: '----', admin: 'crud' },
  conversation: { owner: 'crud', other: '----', member: '----', admin: 'crud' },
  analytics: { owner: 'crud', other: '----', member: '----', admin: 'crud' },
  navigation: { owner: 'crud', other: '----', member: '----', admin: 'crud' },
};
const ACTIONS: PolicyAction[] = ['create', 'read', 'update', 'delete'];

/** Each relation played by a user and by a service: the default policy treats them alike. */
const PRINCIPALS: Array<{ relation: Relation; principal: PrincipalInput }> = [
  { relation: 'owner', principal: { id: 'alice', kind: 'user' } },
  { relation: 'owner', principal: { id: 'alice', kind: 'service' } },
  { relation: 'other', principal: { id: 'bob', kind: 'user', personas: ['support'] } },
  { relation: 'other', principal: { id: 'svc', kind: 'service', personas: ['support'] } },
  { relation: 'member', principal: { id: 'carol', kind: 'user', personas: ['analyst'] } },
  { relation: 'member', principal: { id: 'svc2', kind: 'service', personas: ['support', 'analyst'] } },
  { relation: 'admin', principal: { id: 'root', kind: 'admin' } },
];

function allowed(scope: ContextScope, relation: Relation, action: PolicyAction): boolean {
  return TABLE[scope][relation][ACTIONS.indexOf(action)] !== '-';
}

const cases = CONTEXT_SCOPES.flatMap((scope) =>
  PRINCIPALS.flatMap(({ relation, principal }) =>
    ACTIONS.map((action) => ({
      scope,
      relation,
      principal,
      action,
      expected: allowed(scope, relation, action),
      name: `${scope} | ${principal.kind} ${principal.id} (${relation}) | ${action} -> ${allowed(scope, relation, action) ? 'allowed' : 'ACCESS_DENIED'}`,
    })),
  ),
);

describe('default policy: the whole matrix through the manager', () => {
  it('covers 6 scopes x 7 principals x 4 actions', () => {
    expect(cases).toHaveLength(168);
  });

  it.each(cases)('$name', async ({ scope, principal, action, expected }) => {
    const s = await setup();
    try {
      const seed = await s.manager
        .as(root)
        .create(scope, { secret: 1 }, { ownerId: 'alice', persona: 'analyst' });
      const h = s.manager.as(principal);
      const run = (): Promise<unknown> => {
        switch (action) {
          case 'create':
            return h.create(scope, { v: 1 }, { ownerId: 'alice', persona: 'analyst', id: 'new' });
          case 'read':
            return h.get(seed.id);
          case 'update':
            return h.update(seed.id, { v: 2 });
          case 'delete':
            return h.delete(seed.id);
        }
      };
      const admin = s.manager.as(root);
      if (expected) {
        const result = await run();
        if (action === 'create')
          expect(await admin.get('new')).toMatchObject({ ownerId: 'alice', data: { v: 1 } });
        if (action === 'read') expect(result).toMatchObject({ id: seed.id, data: { secret: 1 } });
        if (action === 'update')
          expect(await admin.get(seed.id)).toMatchObject({ version: 2, data: { secret: 1, v: 2 } });
        if (action === 'delete') expect(await admin.get(seed.id)).toBeUndefined();
        expect((await s.manager.audit({ action: 'deny' })).items).toEqual([]);
      } else {
        const error = await rejection(run());
        expect(error.code).toBe('ACCESS_DENIED');
        expect(error.details).toMatchObject({ principal: principal.id, action });
        // nothing written
        expect(await admin.get('new')).toBeUndefined();
        expect(await admin.get(seed.id)).toMatchObject({ version: 1, data: { secret: 1 } });
        // audited as a denial naming the refused action
        const denials = (await s.manager.audit({ action: 'deny' })).items;
        expect(denials).toHaveLength(1);
        expect(denials[0]).toMatchObject({
          principal: principal.id,
          action: 'deny',
          attemptedAction: action,
          outcome: 'denied',
          scope,
          contextId: action === 'create' ? 'new' : seed.id,
          changedKeys: [],
        });
        expect(s.manager.getMetrics().counters.denied).toBe(1);
      }
      // list shows exactly what the principal may read
      const listed = await h.list({ scope });
      expect(listed.items.map((c) => c.id).includes(seed.id)).toBe(
        action === 'delete' && expected
          ? false
          : allowed(scope, PRINCIPALS.find((p) => p.principal === principal)!.relation, 'read'),
      );
    } finally {
      await s.close();
    }
  });
});

describe('defaultPolicy as a function', () => {
  const ctx = (scope: ContextScope, extra: object = {}) => ({
    id: 'c',
    scope,
    ownerId: 'alice',
    data: {},
    metadata: {},
    version: 1,
    createdAt: 0,
    updatedAt: 0,
    accessCount: 0,
    lastAccessedAt: 0,
    ...extra,
  });
  const user = (id: string, personas: string[] = []): Principal => ({ id, kind: 'user', personas });

  it('a persona context without a persona is for admins only', () => {
    expect(defaultPolicy(user('alice', ['analyst']), 'read', ctx('persona'))).toBe(false);
    expect(defaultPolicy({ id: 'r', kind: 'admin', personas: [] }, 'update', ctx('persona'))).toBe(true);
  });

  it('an owner-scope context without an owner is for admins only', () => {
    expect(defaultPolicy(user('alice'), 'read', ctx('session', { ownerId: undefined }))).toBe(false);
  });
});

describe('a custom policy replaces the default', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('is consulted with (principal, action, context) and its verdict is final', async () => {
    const calls: string[] = [];
    const s = await setup(undefined, {
      // everyone may read and create anything; only 'editor' may update; nobody deletes
      policy: async (p, action, c) => {
        calls.push(`${p.id}:${action}:${c.scope}`);
        if (action === 'update') return p.id === 'editor';
        return action !== 'delete';
      },
    });
    cleanups.push(s.close);
    const stranger = s.manager.as({ id: 'stranger' });
    const created = await stranger.create('session', { a: 1 }, { ownerId: 'someone-else' });
    expect(await s.manager.as({ id: 'other' }).get(created.id)).toMatchObject({ data: { a: 1 } });
    expect((await rejection(stranger.update(created.id, { a: 2 }))).code).toBe('ACCESS_DENIED');
    expect((await s.manager.as({ id: 'editor' }).update(created.id, { a: 2 })).version).toBe(2);
    expect((await rejection(s.manager.as(root).delete(created.id))).code).toBe('ACCESS_DENIED');
    expect(calls).toEqual([
      'stranger:create:session',
      'other:read:session',
      'stranger:update:session',
      'editor:update:session',
      'root:delete:session',
    ]);
    // with a custom policy, list asks it about each candidate instead of narrowing by owner
    expect((await s.manager.as({ id: 'x' }).list({ scope: 'session' })).items).toHaveLength(1);
    const denials = (await s.manager.audit({ action: 'deny' })).items.map((e) => [
      e.principal,
      e.attemptedAction,
    ]);
    expect(denials).toEqual([
      ['root', 'delete'],
      ['stranger', 'update'],
    ]);
  });
});
