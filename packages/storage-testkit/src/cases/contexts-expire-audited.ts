import type { AuditEvent, Context, ContextStore } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects } from '../expect-error.js';
import { ids, makeContext, makeExpireEvent } from '../fixtures/builders.js';
import { CONFORMANCE_START } from '../start.js';
import { defineCases } from './define.js';

const T = CONFORMANCE_START;

type Summary = Omit<Context, 'data' | 'metadata'>;

/** The store's optional method (the cases run only where it exists). */
function method(contexts: ContextStore): NonNullable<ContextStore['deleteExpiredAudited']> {
  return contexts.deleteExpiredAudited!.bind(contexts);
}

/** An expire event for `context`, numbered in call order, recording what the store handed over. */
function eventsInto(seen: Summary[], at: number, prefix = 'x') {
  return (context: Summary): AuditEvent => {
    seen.push(context);
    return makeExpireEvent(context, `${prefix}${seen.length}`, at);
  };
}

const withoutValues = ({ data: _data, metadata: _metadata, ...rest }: Context): Summary => rest;

async function seed(contexts: ContextStore): Promise<Context[]> {
  const stored = [
    makeContext({ id: 'e2', expiresAt: T + 200, data: { a: 1 }, metadata: { tag: 'x' }, ownerId: 'u1' }),
    makeContext({ id: 'e1', expiresAt: T + 100, sessionId: 's1', scope: 'conversation' }),
    makeContext({ id: 'e0', expiresAt: T + 200, version: 3 }),
    makeContext({ id: 'live', expiresAt: T + 301 }),
    makeContext({ id: 'forever' }),
  ];
  for (const context of stored) await contexts.create(context);
  return stored;
}

const cases = defineCases('contexts', 'contexts-expire-audited', {
  'deletes what deleteExpired would, oldest expiry first, and stores one event per context with them':
    async ({ contexts, audit }) => {
      const stored = await seed(contexts);
      const seen: Summary[] = [];
      const deleted = await method(contexts)(T + 300, {
        limit: 2,
        values: false,
        event: eventsInto(seen, T + 300),
      });
      // e1 (expires at +100) first, then the tie at +200 broken by id: e0 before e2.
      const expected = [stored[1]!, stored[2]!].map(withoutValues);
      expect(deleted).toStrictEqual(expected);
      expect(seen).toStrictEqual(expected);
      expect((await audit.list()).items).toEqual([
        {
          id: 'x2',
          at: T + 300,
          principal: 'system',
          action: 'expire',
          contextId: 'e0',
          scope: 'session',
          outcome: 'ok',
          changedKeys: [],
          version: 3,
        },
        {
          id: 'x1',
          at: T + 300,
          principal: 'system',
          action: 'expire',
          contextId: 'e1',
          scope: 'conversation',
          outcome: 'ok',
          changedKeys: [],
          version: 1,
        },
      ]);
      // Whole contexts by default: the rest of the expired ones, with their values.
      const rest = await method(contexts)(T + 300, { event: eventsInto(seen, T + 300) });
      expect(rest).toEqual([stored[0]]);
      expect(seen[2]).toEqual(stored[0]);
      expect(ids((await contexts.list({}, { now: T })).items)).toEqual(['forever', 'live']);
      expect((await audit.list({ contextId: 'e2' })).items.map((e) => [e.id, e.version])).toEqual([
        ['x3', 1],
      ]);
      // Nothing left to expire: no call of event, nothing appended.
      expect(await method(contexts)(T + 300, { event: eventsInto(seen, T + 300) })).toEqual([]);
      expect(seen).toHaveLength(3);
      expect((await audit.list()).items).toHaveLength(3);
    },

  'an event that throws rejects the call with its error and deletes nothing': async ({ contexts, audit }) => {
    await seed(contexts);
    const seen: Summary[] = [];
    const events = eventsInto(seen, T + 300);
    const failure = new Error('no event for e2');
    await expect(
      method(contexts)(T + 300, {
        values: false,
        event: (context) => {
          if (context.id === 'e2') throw failure;
          return events(context);
        },
      }),
    ).rejects.toBe(failure);
    expect(ids(seen)).toEqual(['e1', 'e0']);
    expect(await contexts.count({}, { now: T })).toBe(5);
    expect((await audit.list()).items).toEqual([]);
  },

  'an invalid event is VALIDATION and deletes nothing': async ({ contexts, audit }) => {
    await seed(contexts);
    const seen: Summary[] = [];
    const events = eventsInto(seen, T + 300);
    await expectRejects(
      () =>
        method(contexts)(T + 300, {
          values: false,
          event: (context) => ({ ...events(context), principal: '' }),
        }),
      'VALIDATION',
    );
    expect(await contexts.count({}, { now: T })).toBe(5);
    expect((await audit.list()).items).toEqual([]);
  },

  'an event id already stored is CONFLICT and deletes nothing': async ({ contexts, audit }) => {
    await seed(contexts);
    const seen: Summary[] = [];
    await audit.append([eventsInto([], T, 'x')(withoutValues(makeContext({ id: 'other' })))]);
    // The call's first event would be x1, the id already stored.
    await expectRejects(
      () => method(contexts)(T + 300, { values: false, event: eventsInto(seen, T + 300) }),
      'CONFLICT',
    );
    expect(await contexts.count({}, { now: T })).toBe(5);
    expect((await audit.list()).items.map((e) => e.contextId)).toEqual(['other']);
    // With fresh ids the same call goes through.
    const deleted = await method(contexts)(T + 300, { values: false, event: eventsInto([], T + 300, 'y') });
    expect(ids(deleted)).toEqual(['e1', 'e0', 'e2']);
    expect(await contexts.count({}, { now: T })).toBe(2);
  },

  'bad options are VALIDATION before anything is deleted': async ({ contexts }) => {
    await seed(contexts);
    const event = eventsInto([], T + 300);
    await expectRejects(() => method(contexts)(Number.NaN, { event }), 'VALIDATION');
    await expectRejects(() => method(contexts)(T + 300, { limit: 0, event }), 'VALIDATION');
    await expectRejects(() => method(contexts)(T + 300, { values: 'no' as never, event }), 'VALIDATION');
    await expectRejects(() => method(contexts)(T + 300, { event: 'no' as never }), 'VALIDATION');
    expect(await contexts.count({}, { now: T })).toBe(5);
  },
});

export const contextsExpireAuditedCases = cases.map((c) => ({
  ...c,
  requires: 'contexts.deleteExpiredAudited' as const,
}));
