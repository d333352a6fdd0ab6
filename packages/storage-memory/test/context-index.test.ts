import type { Context, ContextFilter } from '@convokit/core';
import { createManualClock } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../src/index.js';
import { context } from './helpers.js';

const IDS = ['a', 'b', 'c', 'd', 'e'];
const OWNERS = ['o1', 'o2', undefined];
const PARENTS = ['a', 'b', null];

type Op =
  | { op: 'create'; id: string; ownerId: string | undefined; sessionId: string; scope: 'session' | 'global' }
  | { op: 'owner'; id: string; ownerId: string }
  | { op: 'parent'; id: string; parentId: string | null }
  | { op: 'delete'; id: string }
  | { op: 'touch'; id: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    id: fc.constantFrom(...IDS),
    ownerId: fc.constantFrom(...OWNERS),
    sessionId: fc.constantFrom('s1', 's2'),
    scope: fc.constantFrom('session' as const, 'global' as const),
  }),
  fc.record({
    op: fc.constant('owner' as const),
    id: fc.constantFrom(...IDS),
    ownerId: fc.constantFrom('o1', 'o2'),
  }),
  fc.record({
    op: fc.constant('parent' as const),
    id: fc.constantFrom(...IDS),
    parentId: fc.constantFrom(...PARENTS),
  }),
  fc.record({ op: fc.constant('delete' as const), id: fc.constantFrom(...IDS) }),
  fc.record({ op: fc.constant('touch' as const), id: fc.constantFrom(...IDS) }),
);

const FILTERS: ContextFilter[] = [
  {},
  { scope: 'session' },
  { scope: 'global' },
  { ownerId: 'o1' },
  { ownerId: 'o2' },
  { sessionId: 's1' },
  { sessionId: 's2', scope: 'session' },
  { parentId: 'a' },
  { parentId: 'b', ownerId: 'o1' },
];

function matches(c: Context, f: ContextFilter): boolean {
  return (
    (f.scope === undefined || c.scope === f.scope) &&
    (f.ownerId === undefined || c.ownerId === f.ownerId) &&
    (f.sessionId === undefined || c.sessionId === f.sessionId) &&
    (f.parentId === undefined || c.parentId === f.parentId)
  );
}

describe('context indexes', () => {
  it('list and count by any field agree with a scan, through creates, re-creates, moves and deletes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        const s = createMemoryStorage({ clock: createManualClock(1_000) });
        const model = new Map<string, Context>();
        for (const o of ops) {
          const held = model.get(o.id);
          if (o.op === 'create') {
            if (held) continue;
            const c = context({ id: o.id, scope: o.scope, sessionId: o.sessionId });
            if (o.ownerId !== undefined) c.ownerId = o.ownerId;
            model.set(o.id, await s.contexts.create(c));
          } else if (o.op === 'delete') {
            expect(await s.contexts.delete(o.id)).toBe(held !== undefined);
            model.delete(o.id);
          } else if (!held) {
          } else if (o.op === 'touch') {
            await s.contexts.touch(o.id, { at: 1_000 });
            model.set(o.id, (await s.contexts.get(o.id))!);
          } else {
            const changes = o.op === 'owner' ? { ownerId: o.ownerId } : { parentId: o.parentId };
            model.set(o.id, await s.contexts.update(o.id, held.version, changes, 1_000));
          }
        }
        for (const f of FILTERS) {
          const expected = [...model.values()]
            .filter((c) => matches(c, f))
            .map((c) => c.id)
            .sort();
          const listed = (await s.contexts.list(f, { limit: 100 })).items.map((c) => c.id);
          expect(listed).toEqual(expected); // all share createdAt, so (createdAt, id) order is id order
          expect(await s.contexts.count(f)).toBe(expected.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a posting holding many departed ids is rebuilt, and still lists each live id once', async () => {
    const s = createMemoryStorage({ clock: createManualClock(1_000) });
    for (let i = 0; i < 10; i++) await s.contexts.create(context({ id: `c${i}`, ownerId: 'o1' }));
    // Move c0 away and back several times: each return appends its id again.
    for (let k = 0; k < 4; k++) {
      const c = (await s.contexts.get('c0'))!;
      const away = await s.contexts.update('c0', c.version, { ownerId: 'o2' }, 1_000);
      await s.contexts.update('c0', away.version, { ownerId: 'o1' }, 1_000);
    }
    expect((await s.contexts.list({ ownerId: 'o1' }, { limit: 100 })).items.map((c) => c.id)).toEqual([
      'c0',
      'c1',
      'c2',
      'c3',
      'c4',
      'c5',
      'c6',
      'c7',
      'c8',
      'c9',
    ]);
    for (let i = 0; i < 10; i++) await s.contexts.delete(`c${i}`);
    expect(await s.contexts.count({ ownerId: 'o1' })).toBe(0);
    expect(await s.contexts.count({ ownerId: 'o2' })).toBe(0);
  });

  it('an update keeps the stored top-level values it shares and copies (and freezes) the ones it changes', async () => {
    const s = createMemoryStorage({ clock: createManualClock(1_000) });
    const created = await s.contexts.create(
      context({ id: 'c', data: { keep: { deep: [1, 2] }, change: { x: 1 }, n: 1 } }),
    );
    const patch = { x: 2 };
    const next = await s.contexts.update('c', 1, { data: { ...created.data, change: patch, n: 2 } }, 1_000);
    expect(next.data).toEqual({ keep: { deep: [1, 2] }, change: { x: 2 }, n: 2 });
    expect(next.data.keep).toBe(created.data.keep);
    expect(next.data.change).not.toBe(patch);
    expect(Object.isFrozen(next.data) && Object.isFrozen(next.data.change)).toBe(true);
    patch.x = 3;
    expect((await s.contexts.get('c'))!.data.change).toEqual({ x: 2 });
    // A value equal by reference to something the stored data only inherits is still checked.
    await expect(
      s.contexts.update('c', 2, { data: { toString: Object.prototype.toString } as never }, 1_000),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});
