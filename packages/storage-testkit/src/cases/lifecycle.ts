import { STORAGE_CONTRACT_VERSION } from '@convokit/core';
import { expect } from 'vitest';
import { expectClosed } from '../expect-error.js';
import { makeAuditEvent, makeContext, makeTurn } from '../fixtures/builders.js';
import { CONFORMANCE_START } from '../start.js';
import type { CaseContext } from '../types.js';
import { defineCases } from './define.js';

const T = CONFORMANCE_START;

/** Every call of every part the store serves, each expected to reject as closed. */
async function expectAllClosed({ storage }: CaseContext): Promise<void> {
  const { turns, contexts, audit } = storage;
  if (turns) {
    await expectClosed(() => turns.append([makeTurn({ id: 'late' })]), 'turns.append');
    await expectClosed(() => turns.get('x'), 'turns.get');
    await expectClosed(() => turns.list(), 'turns.list');
    await expectClosed(() => turns.search('hello'), 'turns.search');
    await expectClosed(() => turns.aggregate({ measures: ['count'] }), 'turns.aggregate');
    await expectClosed(() => turns.count(), 'turns.count');
    await expectClosed(() => turns.deleteBefore(T), 'turns.deleteBefore');
  }
  if (contexts) {
    await expectClosed(() => contexts.create(makeContext({ id: 'late' })), 'contexts.create');
    await expectClosed(() => contexts.get('x'), 'contexts.get');
    await expectClosed(() => contexts.update('x', 1, {}, T), 'contexts.update');
    await expectClosed(() => contexts.touch('x', { at: T }), 'contexts.touch');
    await expectClosed(() => contexts.delete('x'), 'contexts.delete');
    await expectClosed(() => contexts.list(), 'contexts.list');
    await expectClosed(() => contexts.count(), 'contexts.count');
    await expectClosed(() => contexts.deleteExpired(T), 'contexts.deleteExpired');
  }
  if (audit) {
    await expectClosed(() => audit.append([makeAuditEvent({ id: 'late' })]), 'audit.append');
    await expectClosed(() => audit.list(), 'audit.list');
  }
}

async function seed({ storage }: CaseContext): Promise<void> {
  await storage.turns?.append([makeTurn({ id: 't' })]);
  await storage.contexts?.create(makeContext({ id: 'c' }));
  await storage.audit?.append([makeAuditEvent({ id: 'a' })]);
}

export const lifecycleCases = defineCases('storage', 'lifecycle', {
  'describes itself: name, contract version, capabilities matching its parts': async ({ storage }) => {
    expect(typeof storage.name).toBe('string');
    expect(storage.name.length).toBeGreaterThan(0);
    expect(storage.contractVersion).toBe(STORAGE_CONTRACT_VERSION);
    for (const part of ['turns', 'contexts', 'audit'] as const) {
      expect(storage.capabilities[part], `capabilities.${part}`).toBe(storage[part] !== undefined);
    }
    expect(typeof storage.capabilities.durable).toBe('boolean');
    expect(typeof storage.capabilities.multiProcess).toBe('boolean');
  },

  'every call after close() rejects with STORAGE, reason closed': async (ctx) => {
    await seed(ctx);
    await ctx.storage.close();
    await expectAllClosed(ctx);
  },

  'close() is idempotent, also when called concurrently': async (ctx) => {
    await seed(ctx);
    await ctx.storage.close();
    await ctx.storage.close();
    await Promise.all([ctx.storage.close(), ctx.storage.close()]);
    await expectAllClosed(ctx);
  },

  'Symbol.asyncDispose closes the store': async (ctx) => {
    expect(typeof ctx.storage[Symbol.asyncDispose]).toBe('function');
    await ctx.storage[Symbol.asyncDispose]();
    await expectAllClosed(ctx);
    await ctx.storage.close();
  },
});
