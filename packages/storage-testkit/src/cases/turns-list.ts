import type { Turn, TurnFilter, TurnStore } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects } from '../expect-error.js';
import { ids, makeTurn } from '../fixtures/builders.js';
import { fixtureFilters, fixtureTurns } from '../fixtures/turns.js';
import { byAtThenId, defineCases } from './define.js';

async function listAll(
  turns: TurnStore,
  filter: TurnFilter,
  order: 'asc' | 'desc',
  limit: number,
): Promise<Turn[]> {
  const out: Turn[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await turns.list(filter, { order, limit, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error('list never returned nextCursor: null');
}

const ascIds = [...fixtureTurns].sort(byAtThenId).map((t) => t.id);

export const turnsListCases = defineCases('turns', 'turns-list', {
  'list defaults to newest first, ties broken by id descending': async ({ turns }) => {
    const at = Date.UTC(2026, 2, 5);
    await turns.append([
      makeTurn({ id: 'b', at }),
      makeTurn({ id: 'a', at }),
      makeTurn({ id: 'c', at }),
      makeTurn({ id: 'z', at: at - 1 }),
      makeTurn({ id: 'y', at: at + 1 }),
    ]);
    const page = await turns.list();
    expect(ids(page.items)).toEqual(['y', 'c', 'b', 'a', 'z']);
    expect(page.nextCursor).toBeNull();
    expect(ids((await turns.list({}, { order: 'asc' })).items)).toEqual(['z', 'a', 'b', 'c', 'y']);
  },

  'ids that tie in time sort by UTF-16 code unit (case-sensitive), also across pages': async ({ turns }) => {
    const at = Date.UTC(2026, 2, 5);
    const tied = ['b', 'B', 'a', 'A', '_', '1', 'a-2', 'Ab'];
    await turns.append(tied.map((id) => makeTurn({ id, at })));
    const asc = [...tied].sort(); // JS default sort: UTF-16 code units
    expect(asc).toEqual(['1', 'A', 'Ab', 'B', '_', 'a', 'a-2', 'b']);
    expect(ids(await listAll(turns, {}, 'asc', 1))).toEqual(asc);
    expect(ids(await listAll(turns, {}, 'desc', 3))).toEqual([...asc].reverse());
  },

  'list of an empty store is an empty page with no cursor': async ({ turns }) => {
    expect(await turns.list()).toEqual({ items: [], nextCursor: null });
  },

  'pages cover every turn exactly once, in order, both directions': async ({ turns }) => {
    await turns.append(fixtureTurns);
    for (const limit of [1, 3, 5, 14, 50]) {
      expect(ids(await listAll(turns, {}, 'asc', limit)), `asc, limit ${limit}`).toEqual(ascIds);
      expect(ids(await listAll(turns, {}, 'desc', limit)), `desc, limit ${limit}`).toEqual(
        [...ascIds].reverse(),
      );
    }
  },

  'the last full page has nextCursor null': async ({ turns }) => {
    await turns.append(fixtureTurns);
    const first = await turns.list({}, { limit: 7 });
    expect(first.items).toHaveLength(7);
    expect(first.nextCursor).not.toBeNull();
    const second = await turns.list({}, { limit: 7, cursor: first.nextCursor! });
    expect(second.items).toHaveLength(7);
    expect(second.nextCursor).toBeNull();
  },

  'default page size is 50': async ({ turns }) => {
    const many = Array.from({ length: 60 }, (_, i) =>
      makeTurn({ id: `t${String(i).padStart(3, '0')}`, at: Date.UTC(2026, 2, 1) + i * 1000 }),
    );
    await turns.append(many);
    const page = await turns.list();
    expect(page.items).toHaveLength(50);
    expect(page.nextCursor).not.toBeNull();
    const rest = await turns.list({}, { cursor: page.nextCursor! });
    expect(rest.items).toHaveLength(10);
    expect(rest.nextCursor).toBeNull();
  },

  'each filter field narrows list and count (lists mean any of)': async ({ turns }) => {
    await turns.append(fixtureTurns);
    for (const { name, filter, ids: expected } of fixtureFilters) {
      const listed = await listAll(turns, filter, 'asc', 4);
      expect(ids(listed), `list ${name}`).toEqual(expected);
      expect(await turns.count(filter), `count ${name}`).toBe(expected.length);
    }
  },

  'count without a filter counts everything': async ({ turns }) => {
    expect(await turns.count()).toBe(0);
    await turns.append(fixtureTurns);
    expect(await turns.count()).toBe(14);
    expect(await turns.count({})).toBe(14);
  },

  'appends between pages never repeat or skip a turn stored before the first page': async ({ turns }) => {
    await turns.append(fixtureTurns);
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let round = 0;
      do {
        const page = await turns.list({}, { order, limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...ids(page.items));
        cursor = page.nextCursor ?? undefined;
        // Turns before, after and at the same instant as the page boundary, with ids on both sides.
        const last = page.items.at(-1);
        if (last) {
          round++;
          await turns.append([
            makeTurn({ id: `${order}-early-${round}`, at: Date.UTC(2026, 0, 1) + round }),
            makeTurn({ id: `${order}-late-${round}`, at: Date.UTC(2026, 5, 1) + round }),
            makeTurn({ id: `${last.id}-${order}-same-after`, at: last.at }),
            makeTurn({ id: `0-${order}-same-before-${round}`, at: last.at }),
          ]);
        }
      } while (cursor);
      const original = seen.filter((id) => ascIds.includes(id));
      expect(original, `${order}: fixture turns in order`).toEqual(
        order === 'asc' ? ascIds : [...ascIds].reverse(),
      );
      expect(new Set(seen).size, `${order}: no turn repeated`).toBe(seen.length);
    }
  },

  'pages stay in (at, id) order when appended turns show up': async ({ turns }) => {
    await turns.append(fixtureTurns);
    const seen: Turn[] = [];
    let cursor: string | undefined;
    let round = 0;
    do {
      const page = await turns.list({}, { order: 'asc', limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items);
      cursor = page.nextCursor ?? undefined;
      round++;
      await turns.append([makeTurn({ id: `late-${round}`, at: Date.UTC(2026, 6, 1) + round })]);
    } while (cursor && round < 100);
    const sorted = [...seen].sort(byAtThenId);
    expect(ids(seen)).toEqual(ids(sorted));
  },

  'a cursor used with another filter or order is VALIDATION': async ({ turns }) => {
    await turns.append(fixtureTurns);
    const page = await turns.list({ persona: 'analyst' }, { limit: 2 });
    expect(page.nextCursor).not.toBeNull();
    const cursor = page.nextCursor!;
    await expectRejects(() => turns.list({ persona: 'coach' }, { limit: 2, cursor }), 'VALIDATION');
    await expectRejects(() => turns.list({}, { limit: 2, cursor }), 'VALIDATION');
    await expectRejects(
      () => turns.list({ persona: 'analyst' }, { limit: 2, cursor, order: 'asc' }),
      'VALIDATION',
    );
    // With its own filter and order the cursor still works.
    const again = await turns.list({ persona: 'analyst' }, { limit: 2, cursor });
    expect(ids(again.items)).toEqual(['t07', 't06']);
  },

  'a cursor that is not one the store issued is VALIDATION': async ({ turns }) => {
    await turns.append(fixtureTurns);
    await expectRejects(() => turns.list({}, { cursor: 'not-a-cursor' }), 'VALIDATION');
    await expectRejects(
      () => turns.list({}, { cursor: Buffer.from('{"x":1}').toString('base64url') }),
      'VALIDATION',
    );
  },

  'a cursor still works after the turn it points at was deleted': async ({ turns }) => {
    await turns.append(fixtureTurns);
    const first = await turns.list({}, { order: 'asc', limit: 3 });
    expect(ids(first.items)).toEqual(ascIds.slice(0, 3));
    await turns.deleteBefore(first.items[2]!.at + 1);
    const second = await turns.list({}, { order: 'asc', limit: 3, cursor: first.nextCursor! });
    expect(ids(second.items)).toEqual(ascIds.slice(3, 6));
  },

  'list after deleteBefore omits deleted turns': async ({ turns }) => {
    await turns.append(fixtureTurns);
    await turns.deleteBefore(Date.UTC(2026, 2, 2));
    expect(ids(await listAll(turns, {}, 'asc', 5))).toEqual(ascIds.slice(5));
  },
});
