import type { AuditEvent, AuditFilter, AuditLog } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects, expectValidation } from '../expect-error.js';
import { ids, makeAuditEvent } from '../fixtures/builders.js';
import { CONFORMANCE_START } from '../start.js';
import { defineCases, tryMutate } from './define.js';

const T = CONFORMANCE_START;

export const fixtureAuditEvents: readonly AuditEvent[] = [
  makeAuditEvent({
    id: 'a1',
    at: T + 100,
    principal: 'alice',
    action: 'create',
    contextId: 'x',
    scope: 'session',
    changedKeys: ['data'],
    version: 1,
  }),
  makeAuditEvent({
    id: 'a2',
    at: T + 200,
    principal: 'bob',
    action: 'read',
    contextId: 'x',
    scope: 'session',
  }),
  makeAuditEvent({
    id: 'a3',
    at: T + 200,
    principal: 'alice',
    action: 'update',
    contextId: 'y',
    scope: 'global',
    changedKeys: ['theme', 'metadata'],
    version: 2,
  }),
  makeAuditEvent({
    id: 'a4',
    at: T + 300,
    principal: 'bob',
    action: 'deny',
    contextId: 'y',
    scope: 'global',
    outcome: 'denied',
    attemptedAction: 'update',
  }),
  makeAuditEvent({
    id: 'a5',
    at: T + 400,
    principal: 'system',
    action: 'expire',
    contextId: 'x',
    scope: 'session',
  }),
  makeAuditEvent({
    id: 'a6',
    at: T + 500,
    principal: 'alice',
    action: 'delete',
    contextId: 'z',
    scope: 'persona',
    outcome: 'error',
  }),
];

async function listAll(audit: AuditLog, filter: AuditFilter, limit: number): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await audit.list(filter, { limit, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error('list never returned nextCursor: null');
}

const auditFilters: ReadonlyArray<{ filter: AuditFilter; ids: string[] }> = [
  { filter: {}, ids: ['a6', 'a5', 'a4', 'a3', 'a2', 'a1'] },
  { filter: { contextId: 'x' }, ids: ['a5', 'a2', 'a1'] },
  { filter: { principal: 'alice' }, ids: ['a6', 'a3', 'a1'] },
  { filter: { action: 'deny' }, ids: ['a4'] },
  { filter: { scope: 'global' }, ids: ['a4', 'a3'] },
  { filter: { from: T + 200 }, ids: ['a6', 'a5', 'a4', 'a3', 'a2'] },
  { filter: { to: T + 300 }, ids: ['a3', 'a2', 'a1'] },
  { filter: { from: T + 200, to: T + 400 }, ids: ['a4', 'a3', 'a2'] },
  { filter: { principal: 'bob', contextId: 'y' }, ids: ['a4'] },
  { filter: { principal: 'nobody' }, ids: [] },
];

export const auditCases = defineCases('audit', 'audit', {
  'append then list returns the events as given, newest first (ties by id descending)': async ({ audit }) => {
    await audit.append(fixtureAuditEvents);
    const page = await audit.list();
    expect(page.nextCursor).toBeNull();
    expect(page.items).toEqual([...fixtureAuditEvents].reverse());
  },

  'list of an empty log': async ({ audit }) => {
    expect(await audit.list()).toEqual({ items: [], nextCursor: null });
  },

  'several appends add up': async ({ audit }) => {
    await audit.append(fixtureAuditEvents.slice(0, 2));
    await audit.append([]);
    await audit.append(fixtureAuditEvents.slice(2));
    expect(ids((await audit.list()).items)).toEqual(auditFilters[0]!.ids);
  },

  'each filter field narrows the list (from inclusive, to exclusive)': async ({ audit }) => {
    await audit.append(fixtureAuditEvents);
    for (const { filter, ids: expected } of auditFilters) {
      expect(ids(await listAll(audit, filter, 50)), JSON.stringify(filter)).toEqual(expected);
    }
  },

  'pages cover every event once, also when events arrive between pages': async ({ audit }) => {
    await audit.append(fixtureAuditEvents);
    for (const limit of [1, 2, 4]) {
      expect(ids(await listAll(audit, {}, limit)), `limit ${limit}`).toEqual(auditFilters[0]!.ids);
      expect(ids(await listAll(audit, { principal: 'alice' }, limit)), `alice, limit ${limit}`).toEqual(
        auditFilters[2]!.ids,
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let round = 0;
    do {
      const page = await audit.list({}, { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...ids(page.items));
      cursor = page.nextCursor ?? undefined;
      round++;
      await audit.append([makeAuditEvent({ id: `late-${round}`, at: T + 10_000 + round })]);
    } while (cursor && round < 100);
    expect(seen.filter((id) => /^a\d$/.test(id))).toEqual(auditFilters[0]!.ids);
    expect(new Set(seen).size).toBe(seen.length);
  },

  'default page size is 50': async ({ audit }) => {
    await audit.append(
      Array.from({ length: 55 }, (_, i) =>
        makeAuditEvent({ id: `e${String(i).padStart(2, '0')}`, at: T + i }),
      ),
    );
    const first = await audit.list();
    expect(first.items).toHaveLength(50);
    expect(first.items[0]?.id).toBe('e54');
    const rest = await audit.list({}, { cursor: first.nextCursor! });
    expect(ids(rest.items)).toEqual(['e04', 'e03', 'e02', 'e01', 'e00']);
    expect(rest.nextCursor).toBeNull();
  },

  'an audit cursor used with another filter is VALIDATION': async ({ audit }) => {
    await audit.append(fixtureAuditEvents);
    const page = await audit.list({ principal: 'alice' }, { limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    await expectRejects(() => audit.list({ principal: 'bob' }, { cursor: page.nextCursor! }), 'VALIDATION');
  },

  'append is all or nothing: one invalid event stores none': async ({ audit }) => {
    const bad = { ...makeAuditEvent({ id: 'bad' }), action: 'explode' } as unknown as AuditEvent;
    await expectValidation(() => audit.append([makeAuditEvent({ id: 'good' }), bad]), 'action');
    expect((await audit.list()).items).toEqual([]);
  },

  'events handed out and appended are copies': async ({ audit }) => {
    const input = makeAuditEvent({ id: 'e', changedKeys: ['a'] });
    await audit.append([input]);
    input.changedKeys.push('b');
    input.principal = 'mallory';
    const [listed] = (await audit.list()).items;
    tryMutate(() => {
      listed!.changedKeys.push('c');
    });
    tryMutate(() => {
      listed!.principal = 'eve';
    });
    expect((await audit.list()).items).toEqual([makeAuditEvent({ id: 'e', changedKeys: ['a'] })]);
  },
});
