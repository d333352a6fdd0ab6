import { type AuditEvent, AuditEventSchema, ContextChangesSchema, ConvokitError } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuditChecker } from '../src/audit-check.js';
import { ExpiryHeap } from '../src/expiry-heap.js';
import { createMemoryStorage } from '../src/index.js';
import { Frozen } from '../src/json.js';
import { context } from './helpers.js';

function event(over: Partial<AuditEvent> & { id: string }): AuditEvent {
  return {
    at: 1_000,
    principal: 'u1',
    action: 'create',
    contextId: 'c1',
    scope: 'session',
    outcome: 'ok',
    changedKeys: ['a'],
    ...over,
  };
}

/** What the schema's output looks like once stored: no keys holding `undefined`. */
function defined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

const edgy = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    '',
    'ok',
    'denied',
    'deny',
    'update',
    'global',
    'x\u0001y',
    'a'.repeat(257),
    -1,
    0,
    0.5,
    1,
    2 ** 60,
    9e15,
    Number.NaN,
    true,
    [],
    ['a', 'a'],
    ['b'.repeat(257)],
    [1],
    // biome-ignore lint/suspicious/noSparseArray: a hole is a case under test
    [, 'a'],
    {},
    new Date(0),
  ),
  fc.string({ maxLength: 4 }),
  fc.integer(),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
);

describe('audit events', () => {
  it('are accepted exactly when AuditEventSchema accepts them, and stored as parsed', () => {
    const checker = new AuditChecker(new Frozen());
    const fields = [...Object.keys(AuditEventSchema.shape), 'unknownField'];
    const arb = fc.record({
      changes: fc.array(fc.tuple(fc.constantFrom(...fields), edgy), { maxLength: 3 }),
      removed: fc.option(fc.constantFrom(...fields), { nil: undefined }),
      version: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(arb, ({ changes, removed, version }) => {
        const input: Record<string, unknown> = { ...event({ id: 'e1' }) };
        if (version !== undefined) input.version = version;
        for (const [field, value] of changes) input[field] = value;
        if (removed) delete input[removed];
        const expected = AuditEventSchema.safeParse(input);
        let stored: unknown;
        let error: unknown;
        try {
          stored = checker.check(input, 0);
        } catch (e) {
          error = e;
        }
        expect(error === undefined, JSON.stringify(input)).toBe(expected.success);
        if (expected.success) {
          expect(stored).toEqual(defined(expected.data as Record<string, unknown>));
          expect(Object.isFrozen(stored)).toBe(true);
          expect(Object.isFrozen((stored as AuditEvent).changedKeys)).toBe(true);
        } else {
          expect(ConvokitError.is(error, 'VALIDATION')).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('share one frozen key list between events naming the same keys, never the caller array', () => {
    const checker = new AuditChecker(new Frozen());
    const keys = ['a', 'b'];
    const first = checker.check(event({ id: 'e1', changedKeys: keys }), 0);
    const second = checker.check(event({ id: 'e2', changedKeys: ['a', 'b'] }), 1);
    const other = checker.check(event({ id: 'e3', changedKeys: ['a,b'] }), 2);
    expect(first.changedKeys).toBe(second.changedKeys);
    expect(first.changedKeys).not.toBe(keys);
    expect(other.changedKeys).toEqual(['a,b']);
    keys.push('c');
    expect(first.changedKeys).toEqual(['a', 'b']);
  });

  it('list by context finds the first event alone and every later one, newest first', async () => {
    const s = createMemoryStorage();
    await s.audit.append([event({ id: 'e2', at: 2_000 })]);
    expect((await s.audit.list({ contextId: 'c1' })).items.map((e) => e.id)).toEqual(['e2']);
    await s.audit.append([event({ id: 'e1', at: 1_000 }), event({ id: 'e3', at: 3_000, contextId: 'c2' })]);
    expect((await s.audit.list({ contextId: 'c1' })).items.map((e) => e.id)).toEqual(['e2', 'e1']);
    await s.audit.append([event({ id: 'e4', at: 1_500 })]);
    expect((await s.audit.list({ contextId: 'c1' })).items.map((e) => e.id)).toEqual(['e2', 'e4', 'e1']);
    expect((await s.audit.list({ principal: 'u1' })).items.map((e) => e.id)).toEqual([
      'e3',
      'e2',
      'e4',
      'e1',
    ]);
    expect((await s.audit.list({ contextId: 'none' })).items).toEqual([]);
  });
});

describe('expiry heap', () => {
  it('pops entries in (expiresAt, id) order, whatever the push order', () => {
    const entry = fc.record({ expiresAt: fc.integer({ min: 0, max: 20 }), id: fc.string({ maxLength: 2 }) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 200 }), fc.boolean(), (entries, viaReset) => {
        const heap = new ExpiryHeap();
        if (viaReset) heap.reset(entries);
        else for (const e of entries) heap.push(e.expiresAt, e.id);
        const out: Array<{ expiresAt: number; id: string }> = [];
        while (heap.size > 0) {
          out.push({ expiresAt: heap.peekAt()!, id: heap.peekId()! });
          heap.pop();
        }
        const sorted = [...entries].sort((a, b) =>
          a.expiresAt !== b.expiresAt ? a.expiresAt - b.expiresAt : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
        );
        expect(out).toEqual(sorted);
        expect(heap.peekAt()).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('deleteExpired returns contexts by expiry, skipping stale entries and contexts whose expiry moved', async () => {
    const s = createMemoryStorage();
    await s.contexts.create(context({ id: 'a', expiresAt: 5_000 }));
    await s.contexts.create(context({ id: 'b', expiresAt: 2_000 }));
    await s.contexts.create(context({ id: 'c', expiresAt: 3_000 }));
    await s.contexts.update('b', 1, { expiresAt: 9_000 }, 1_500);
    await s.contexts.delete('c', { now: 1_500 });
    expect((await s.contexts.deleteExpired(6_000)).map((c) => c.id)).toEqual(['a']);
    expect((await s.contexts.deleteExpired(10_000)).map((c) => c.id)).toEqual(['b']);
    expect(await s.contexts.count()).toBe(0);
  });

  it('contexts without metadata share one frozen empty object, invisible to callers', async () => {
    const s = createMemoryStorage();
    const a = await s.contexts.create(context({ id: 'a' }));
    const b = await s.contexts.create(context({ id: 'b' }));
    const c = await s.contexts.create(context({ id: 'c', metadata: { k: 1 } }));
    expect(a.metadata).toBe(b.metadata);
    expect(a.metadata).toEqual({});
    expect(Object.isFrozen(a.metadata)).toBe(true);
    expect(c.metadata).toEqual({ k: 1 });
  });
});

describe('update data sharing values with the stored data', () => {
  it('is accepted exactly when ContextChangesSchema accepts it, stored deep-frozen and equal', async () => {
    const value = fc.oneof(edgy, fc.jsonValue({ maxDepth: 2 }));
    const arb = fc.record({
      kept: fc.subarray(['a', 'b', 'c']),
      added: fc.dictionary(fc.constantFrom('a', 'd', 'e', '__proto__', 'toString'), value, { maxKeys: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ kept, added }) => {
        const s = createMemoryStorage();
        const stored = (
          await s.contexts.create(context({ id: 'c1', data: { a: [1, { x: 2 }], b: { y: [3] }, c: 'z' } }))
        ).data;
        // What a merge of a value read earlier looks like: some stored values as they are.
        const data: Record<string, unknown> = {};
        for (const key of kept) data[key] = stored[key];
        for (const [key, v] of Object.entries(added)) {
          Object.defineProperty(data, key, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        const expected = ContextChangesSchema.safeParse({ data });
        const result = await s.contexts.update('c1', 1, { data } as never, 2_000).then(
          (c) => ({ ok: true as const, c }),
          (e: unknown) => ({ ok: false as const, e }),
        );
        expect(result.ok, JSON.stringify(data)).toBe(expected.success);
        if (!result.ok) {
          expect(ConvokitError.is(result.e, 'VALIDATION')).toBe(true);
          return;
        }
        expect(result.c.data).toEqual(expected.data!.data);
        const frozenAll = (v: unknown): boolean =>
          typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(frozenAll));
        expect(frozenAll(result.c.data)).toBe(true);
        // Kept values are reused as they are (an own `__proto__` key sends the whole value the schema's way).
        if (!Object.hasOwn(added, '__proto__')) {
          for (const key of kept)
            if (!Object.hasOwn(added, key)) expect(result.c.data[key]).toBe(stored[key]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a getter is read once: the value checked is the value stored', async () => {
    const s = createMemoryStorage();
    const stored = (await s.contexts.create(context({ id: 'c1', data: { a: [1] } }))).data;
    let reads = 0;
    const data = {};
    Object.defineProperty(data, 'a', {
      enumerable: true,
      get: () => (++reads === 1 ? stored.a : () => 1),
    });
    const c = await s.contexts.update('c1', 1, { data } as never, 2_000);
    expect(reads).toBe(1);
    expect(c.data).toEqual({ a: [1] });
  });
});
