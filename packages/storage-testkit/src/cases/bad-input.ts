import type {
  AggregateSpecInput,
  AuditEvent,
  Context,
  ContextChanges,
  Turn,
  TurnFilter,
} from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects, expectValidation } from '../expect-error.js';
import { makeAuditEvent, makeContext, makeTurn } from '../fixtures/builders.js';
import { fixtureTurns } from '../fixtures/turns.js';
import { CONFORMANCE_START } from '../start.js';
import { defineCases } from './define.js';

const T = CONFORMANCE_START;
const asTurn = (value: object) => value as unknown as Turn;
const asContext = (value: object) => value as unknown as Context;

/** Invalid turns, and the field each must be reported under. */
const badTurns: ReadonlyArray<[string, Turn]> = [
  ['sessionId', asTurn({ ...makeTurn({ id: 'x' }), sessionId: '' })],
  ['at', asTurn({ ...makeTurn({ id: 'x' }), at: 1.5 })],
  ['at', asTurn({ ...makeTurn({ id: 'x' }), at: -1 })],
  ['latencyMs', asTurn({ ...makeTurn({ id: 'x' }), latencyMs: -5 })],
  ['latencyMs', asTurn({ ...makeTurn({ id: 'x' }), latencyMs: Number.NaN })],
  ['feedback', asTurn({ ...makeTurn({ id: 'x' }), feedback: 2 })],
  ['outcome', asTurn({ ...makeTurn({ id: 'x' }), outcome: 'maybe' })],
  ['frameworks', asTurn({ ...makeTurn({ id: 'x' }), frameworks: ['a', 'a'] })],
  ['tokens', asTurn({ ...makeTurn({ id: 'x' }), tokens: { input: 1 } })],
  ['id', asTurn({ ...makeTurn({ id: 'x' }), id: undefined })],
  ['bogus', asTurn({ ...makeTurn({ id: 'x' }), bogus: true })],
  ['metadata', asTurn({ ...makeTurn({ id: 'x' }), metadata: { n: Number.POSITIVE_INFINITY } })],
];

const badTurnFilters: ReadonlyArray<[string, TurnFilter]> = [
  ['persona', { persona: '' }],
  ['sessionId', { sessionId: [] as unknown as string[] }],
  ['from', { from: 10, to: 5 }],
  ['outcome', { outcome: 'maybe' as 'ok' }],
  ['bogus', { bogus: 1 } as TurnFilter],
];

const badSpecs: ReadonlyArray<[string, AggregateSpecInput]> = [
  ['measures', { measures: [] }],
  ['measures', { measures: ['median' as 'count'] }],
  ['groupBy', { groupBy: ['persona', 'persona'], measures: ['count'] }],
  ['groupBy', { groupBy: ['framework', 'framework', 'framework'], measures: ['count'] }],
  ['groupBy', { groupBy: ['minute' as 'hour'], measures: ['count'] }],
  ['orderBy.measure', { measures: ['count'], orderBy: { measure: 'errors' } }],
  ['limit', { measures: ['count'], limit: 0 }],
  ['persona', { measures: ['count'], filter: { persona: '' } }],
];

const badContexts: ReadonlyArray<[string, Context]> = [
  ['scope', asContext({ ...makeContext({ id: 'x' }), scope: 'planet' })],
  ['version', asContext({ ...makeContext({ id: 'x' }), version: 0 })],
  ['data', asContext({ ...makeContext({ id: 'x' }), data: 'text' })],
  ['data', asContext({ ...makeContext({ id: 'x' }), data: { n: Number.NaN } })],
  ['id', asContext({ ...makeContext({ id: 'x' }), id: '' })],
  ['accessCount', asContext({ ...makeContext({ id: 'x' }), accessCount: -1 })],
  ['bogus', asContext({ ...makeContext({ id: 'x' }), bogus: 1 })],
];

const badChanges: ReadonlyArray<[string, ContextChanges]> = [
  ['data', { data: 5 } as unknown as ContextChanges],
  ['version', { version: 9 } as unknown as ContextChanges],
  ['expiresAt', { expiresAt: -1 }],
  ['ownerId', { ownerId: null } as unknown as ContextChanges],
];

const badEvents: ReadonlyArray<[string, AuditEvent]> = [
  ['action', { ...makeAuditEvent({ id: 'x' }), action: 'explode' } as unknown as AuditEvent],
  ['principal', { ...makeAuditEvent({ id: 'x' }), principal: '' }],
  ['outcome', { ...makeAuditEvent({ id: 'x' }), outcome: 'fine' } as unknown as AuditEvent],
  ['changedKeys', { ...makeAuditEvent({ id: 'x' }), changedKeys: 'data' } as unknown as AuditEvent],
  ['at', { ...makeAuditEvent({ id: 'x' }), at: 1.5 }],
];

export const badInputTurnCases = defineCases('turns', 'bad-input', {
  'append rejects each invalid turn with VALIDATION naming the field, storing nothing': async ({ turns }) => {
    for (const [path, turn] of badTurns) {
      await expectValidation(() => turns.append([makeTurn({ id: 'ok-before' }), turn]), path);
      expect(await turns.count(), `nothing stored after bad ${path}`).toBe(0);
    }
    await expectRejects(() => turns.append(null as unknown as Turn[]), 'VALIDATION');
    await expectRejects(() => turns.append(makeTurn({ id: 'x' }) as unknown as Turn[]), 'VALIDATION');
    expect(await turns.count()).toBe(0);
  },

  'list, count and search reject invalid filters and options': async ({ turns }) => {
    await turns.append(fixtureTurns);
    for (const [path, filter] of badTurnFilters) {
      await expectValidation(() => turns.list(filter), path);
      await expectValidation(() => turns.count(filter), path);
      await expectValidation(() => turns.search('pricing', { filter }), path);
    }
    await expectValidation(() => turns.list({}, { limit: 0 }), 'limit');
    await expectValidation(() => turns.list({}, { limit: 1001 }), 'limit');
    await expectValidation(() => turns.list({}, { order: 'sideways' as 'asc' }), 'order');
    await expectValidation(() => turns.search('pricing', { limit: 0 }), 'limit');
    await expectValidation(() => turns.search('pricing', { mode: 'some' as 'any' }), 'mode');
    await expectRejects(() => turns.search('x'.repeat(1001)), 'VALIDATION');
    expect(await turns.count()).toBe(fixtureTurns.length);
  },

  'aggregate rejects invalid specs': async ({ turns }) => {
    await turns.append(fixtureTurns);
    for (const [path, spec] of badSpecs) await expectValidation(() => turns.aggregate(spec), path);
  },

  'deleteBefore rejects a time that is not epoch ms, deleting nothing': async ({ turns }) => {
    await turns.append(fixtureTurns);
    await expectRejects(() => turns.deleteBefore(Number.NaN), 'VALIDATION');
    await expectRejects(() => turns.deleteBefore(-1), 'VALIDATION');
    await expectRejects(() => turns.deleteBefore(1.5), 'VALIDATION');
    expect(await turns.count()).toBe(fixtureTurns.length);
  },
});

export const badInputContextCases = defineCases('contexts', 'bad-input', {
  'create rejects each invalid context with VALIDATION naming the field, storing nothing': async ({
    contexts,
  }) => {
    for (const [path, context] of badContexts) {
      await expectValidation(() => contexts.create(context), path);
    }
    expect(await contexts.count()).toBe(0);
    expect(await contexts.get('x')).toBeUndefined();
  },

  'update rejects invalid changes and arguments, changing nothing': async ({ contexts }) => {
    const original = makeContext({ id: 'a', data: { v: 1 } });
    await contexts.create(original);
    for (const [path, changes] of badChanges) {
      await expectValidation(() => contexts.update('a', 1, changes, T + 1), path);
    }
    await expectRejects(() => contexts.update('a', 0, {}, T + 1), 'VALIDATION');
    await expectRejects(() => contexts.update('a', 1, {}, Number.NaN), 'VALIDATION');
    expect(await contexts.get('a')).toEqual(original);
  },

  'list, count and touch reject invalid input': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a' }));
    await expectValidation(() => contexts.list({ scope: 'planet' as 'global' }), 'scope');
    await expectValidation(() => contexts.count({ ownerId: '' }), 'ownerId');
    await expectValidation(() => contexts.list({}, { limit: 0 }), 'limit');
    await expectValidation(() => contexts.list({ bogus: 1 } as object), 'bogus');
    await expectRejects(() => contexts.touch('a', { at: -1 }), 'VALIDATION');
    await expectRejects(() => contexts.deleteExpired(Number.NaN), 'VALIDATION');
    await expectRejects(() => contexts.deleteExpired(T, { limit: 0 }), 'VALIDATION');
    await expectRejects(() => contexts.deleteExpired(T, { values: 'no' as never }), 'VALIDATION');
    expect(await contexts.get('a')).toEqual(makeContext({ id: 'a' }));
  },
});

export const badInputAuditCases = defineCases('audit', 'bad-input', {
  'append rejects each invalid event with VALIDATION naming the field, storing nothing': async ({
    audit,
  }) => {
    for (const [path, event] of badEvents) await expectValidation(() => audit.append([event]), path);
    expect((await audit.list()).items).toEqual([]);
  },

  'list rejects an invalid filter': async ({ audit }) => {
    await expectValidation(() => audit.list({ action: 'explode' as 'read' }), 'action');
    await expectValidation(() => audit.list({ from: -1 }), 'from');
    await expectValidation(() => audit.list({}, { limit: 0 }), 'limit');
  },
});
