import { type AuditEvent, warmAuditEventShapes } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../src/index.js';

const event = (id: string, changedKeys: string[]): AuditEvent => ({
  id,
  at: 1_000,
  principal: 'p',
  action: 'update',
  contextId: 'c',
  scope: 'session',
  outcome: 'ok',
  changedKeys,
  version: 2,
});

describe('audit changedKeys lists', () => {
  it('a frozen list is kept as it is (events naming it share it); a mutable one is copied', async () => {
    const s = createMemoryStorage();
    const frozen = Object.freeze(['a', 'b']) as string[];
    const mutable = ['a', 'b'];
    await s.audit.append([event('e1', frozen), event('e2', frozen), event('e3', mutable)]);
    const items = (await s.audit.list({}, { limit: 10 })).items;
    const byId = new Map(items.map((e) => [e.id, e]));
    expect(byId.get('e1')!.changedKeys).toBe(frozen);
    expect(byId.get('e2')!.changedKeys).toBe(frozen);
    expect(byId.get('e3')!.changedKeys).not.toBe(mutable);
    mutable.push('c');
    expect(byId.get('e3')!.changedKeys).toEqual(['a', 'b']);
  });

  it('a frozen list with an invalid key is refused as the schema refuses it', async () => {
    const s = createMemoryStorage();
    const bad = Object.freeze(['a', 'x'.repeat(257)]) as string[];
    await expect(s.audit.append([event('e1', bad)])).rejects.toMatchObject({ code: 'VALIDATION' });
    expect((await s.audit.list()).items).toHaveLength(0);
  });

  it('an id already stored is CONFLICT whether ids arrive in order or not', async () => {
    const s = createMemoryStorage();
    await s.audit.append([event('e5', ['a'])]);
    await s.audit.append([event('e6', ['a'])]);
    await expect(s.audit.append([event('e6', ['a'])])).rejects.toMatchObject({ code: 'CONFLICT' });
    await s.audit.append([event('e3', ['a'])]); // below the greatest id: checked against every id
    await expect(s.audit.append([event('e5', ['a'])])).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(s.audit.append([event('e3', ['a'])])).rejects.toMatchObject({ code: 'CONFLICT' });
    await s.audit.append([event('e4', ['a']), event('e7', ['a'])]);
    await expect(s.audit.append([event('e8', ['a']), event('e7', ['a'])])).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    // Replay repeats what is stored without adding it twice.
    s.applyMutation({ type: 'audit.append', events: [event('e4', ['a']), event('e9', ['a'])] });
    expect((await s.audit.list({}, { limit: 100 })).items.map((e) => e.id).sort()).toEqual([
      'e3',
      'e4',
      'e5',
      'e6',
      'e7',
      'e9',
    ]);
    await s.audit.append([event('e8', ['a'])]);
    await expect(s.audit.append([event('e9', ['a'])])).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

describe('audit lists by context and principal', () => {
  it('equal a filter over every event, whenever the first such query comes', async () => {
    const arb = fc.array(
      fc.record({
        at: fc.integer({ min: 1, max: 20 }),
        contextId: fc.constantFrom('a', 'b', 'c'),
        principal: fc.constantFrom('p', 'q'),
      }),
      { minLength: 1, maxLength: 40 },
    );
    await fc.assert(
      fc.asyncProperty(arb, fc.nat(), async (rows, split) => {
        const s = createMemoryStorage();
        const all: AuditEvent[] = rows.map((r, i) => ({
          ...event(`e${String(i).padStart(3, '0')}`, ['k']),
          ...r,
        }));
        const cut = split % (all.length + 1);
        const expectList = async (filter: { contextId?: string; principal?: string }, upTo: number) => {
          const want = all
            .slice(0, upTo)
            .filter(
              (e) =>
                (filter.contextId ?? e.contextId) === e.contextId &&
                (filter.principal ?? e.principal) === e.principal,
            )
            .sort((x, y) => y.at - x.at || (y.id < x.id ? -1 : 1))
            .map((e) => e.id);
          expect((await s.audit.list(filter, { limit: 100 })).items.map((e) => e.id)).toEqual(want);
        };
        for (const e of all.slice(0, cut)) await s.audit.append([e]);
        await expectList({ contextId: 'a' }, cut); // builds the index by context here
        await s.audit.append(all.slice(cut)); // later appends keep it up to date
        await expectList({ contextId: 'b' }, all.length);
        await expectList({ principal: 'q' }, all.length);
        await expectList({ contextId: 'c', principal: 'p' }, all.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('stored audit events', () => {
  it('have their keys in the order of one of the shapes core warms (so `at` stays a tagged field)', async () => {
    const s = createMemoryStorage();
    const shapes = warmAuditEventShapes().map((o) => Object.keys(o).join());
    const { version: _v, ...noVersion } = event('e1', ['a']);
    await s.audit.append([
      noVersion,
      event('e2', ['a']),
      { ...noVersion, id: 'e3', action: 'deny', outcome: 'denied', attemptedAction: 'read' },
      { ...event('e4', []), action: 'deny', outcome: 'denied', attemptedAction: 'update' },
    ]);
    const stored = (await s.audit.list({}, { limit: 10 })).items;
    expect(stored).toHaveLength(4);
    for (const e of stored) expect(shapes).toContain(Object.keys(e).join());
    expect(new Set(stored.map((e) => Object.keys(e).join())).size).toBe(4);
  });
});
