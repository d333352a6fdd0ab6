import { DAY_MS, HOUR_MS, type Turn, type TurnFilter } from '@convokit/core';
import { makeTurn, referencePersonaPreference, referenceSessionStats } from '@convokit/storage-testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openConnection } from '../src/storage.js';
import { createTurnStore } from '../src/turns.js';

const D0 = Date.UTC(2026, 2, 2);
const MIN = 60_000;

type UserRow = [
  user: string,
  first: number,
  last: number,
  sessions: number,
  persona: string | null,
  turns: number,
];

function open() {
  const conn = openConnection({ path: ':memory:' });
  const store = createTurnStore(conn);
  const users = () =>
    conn.db
      .prepare(
        'SELECT user_id, first_at, last_at, sessions, persona, persona_turns FROM user_totals ORDER BY user_id',
      )
      .raw(true)
      .all() as UserRow[];
  const pairs = () =>
    conn.db
      .prepare('SELECT user_id, persona, count FROM user_persona_totals ORDER BY user_id, persona')
      .raw(true)
      .all() as Array<[string, string, number]>;
  return { conn, store, users, pairs };
}

/** The reference: user_totals rows from the stored turns, ties by JavaScript string order. */
function expectedUsers(stored: readonly Turn[]): UserRow[] {
  const byUser = new Map<string, Turn[]>();
  for (const t of stored) {
    if (t.userId === undefined) continue;
    byUser.set(t.userId, [...(byUser.get(t.userId) ?? []), t]);
  }
  const rows: UserRow[] = [];
  for (const [user, turns] of byUser) {
    const counts = new Map<string, number>();
    for (const t of turns)
      if (t.persona !== undefined) counts.set(t.persona, (counts.get(t.persona) ?? 0) + 1);
    let persona: string | null = null;
    let most = 0;
    for (const [p, n] of counts) {
      if (n > most || (n === most && persona !== null && p < persona)) {
        persona = p;
        most = n;
      }
    }
    const ats = turns.map((t) => t.at);
    rows.push([
      user,
      Math.min(...ats),
      Math.max(...ats),
      new Set(turns.map((t) => t.sessionId)).size,
      persona,
      most,
    ]);
  }
  // SQLite's order of the primary key (BINARY: byte order, which equals code point order).
  return rows.sort((a, b) => (Buffer.from(a[0]) < Buffer.from(b[0]) ? -1 : 1));
}

let n = 0;
const turn = (userId: string | undefined, persona: string | undefined, at: number, sessionId: string): Turn =>
  makeTurn({
    id: `u${String(n++).padStart(5, '0')}`,
    sessionId,
    at,
    ...(userId === undefined ? {} : { userId }),
    ...(persona === undefined ? {} : { persona }),
  });

describe('user_totals (all-time per-user span, sessions and preferred persona)', () => {
  it('hand-computed rows after appends out of order, and after deleteBefore', async () => {
    const { store, users, pairs } = open();
    // u1: day 0 eng x2 (s1), day 1 cto x2 (s2), then one more cto on day 2 (s3). u2: one turn
    // without a persona. A turn without a user is no user.
    await store.append([
      turn('u1', 'cto', D0 + DAY_MS + 10 * HOUR_MS, 's2'),
      turn('u1', 'eng', D0 + 9 * HOUR_MS, 's1'),
      turn('u2', undefined, D0 + 12 * HOUR_MS, 's4'),
      turn(undefined, 'ops', D0 + 13 * HOUR_MS, 's5'),
    ]);
    await store.append([
      turn('u1', 'eng', D0 + 9 * HOUR_MS + MIN, 's1'),
      turn('u1', 'cto', D0 + DAY_MS + 11 * HOUR_MS, 's2'),
    ]);
    // eng 2 / cto 2: the tie goes to cto by name.
    expect(users()).toEqual([
      ['u1', D0 + 9 * HOUR_MS, D0 + DAY_MS + 11 * HOUR_MS, 2, 'cto', 2],
      ['u2', D0 + 12 * HOUR_MS, D0 + 12 * HOUR_MS, 1, null, 0],
    ]);
    await store.append([turn('u1', 'eng', D0 + 2 * DAY_MS, 's3')]);
    expect(users()[0]).toEqual(['u1', D0 + 9 * HOUR_MS, D0 + 2 * DAY_MS, 3, 'eng', 3]);
    expect(pairs()).toEqual([
      ['u1', 'cto', 2],
      ['u1', 'eng', 3],
    ]);
    // Deleting day 0 takes s1 (u1's two eng turns) and all of u2.
    await store.deleteBefore(D0 + DAY_MS);
    expect(users()).toEqual([['u1', D0 + DAY_MS + 10 * HOUR_MS, D0 + 2 * DAY_MS, 2, 'cto', 2]]);
    expect(pairs()).toEqual([
      ['u1', 'cto', 2],
      ['u1', 'eng', 1],
    ]);
    // A cut inside s2: its first turn goes, the session stays.
    await store.deleteBefore(D0 + DAY_MS + 10 * HOUR_MS + 1);
    expect(users()).toEqual([['u1', D0 + DAY_MS + 11 * HOUR_MS, D0 + 2 * DAY_MS, 2, 'cto', 1]]);
    await store.deleteBefore(D0 + 3 * DAY_MS);
    expect(users()).toEqual([]);
    expect(pairs()).toEqual([]);
  });

  it('a range covering part of a user span: the user is summed from its days and edge turns', async () => {
    const { store } = open();
    // u1 covers days 0-2: within [day 1, day 3) only its cto turns count, within [day 0 10:00, ...) eng x1.
    const turns = [
      turn('u1', 'eng', D0 + 9 * HOUR_MS, 's1'),
      turn('u1', 'eng', D0 + 11 * HOUR_MS, 's1'),
      turn('u1', 'cto', D0 + DAY_MS + 10 * HOUR_MS, 's2'),
      turn('u1', 'ops', D0 + 2 * DAY_MS + 10 * HOUR_MS, 's3'),
      turn('u2', 'ops', D0 + DAY_MS + 12 * HOUR_MS, 's4'),
      turn('u2', 'ops', D0 + DAY_MS + 13 * HOUR_MS, 's5'),
    ];
    await store.append(turns);
    const pref = (filter: TurnFilter) => store.personaPreference!(filter);
    // u1 all-time: eng 2 -> eng; u2 (covered): ops.
    expect(await pref({ from: D0, to: D0 + 3 * DAY_MS })).toEqual({
      users: 2,
      personas: [
        { persona: 'eng', users: 1 },
        { persona: 'ops', users: 1 },
      ],
    });
    // [day 1, day 3): u1 cto 1 / ops 1 -> cto by name; u2 covered, ops.
    expect(await pref({ from: D0 + DAY_MS, to: D0 + 3 * DAY_MS })).toEqual({
      users: 2,
      personas: [
        { persona: 'cto', users: 1 },
        { persona: 'ops', users: 1 },
      ],
    });
    // From 10:00 on day 0 to 11:00 on day 2 (edges on both ends): u1 eng 1, cto 1, ops 1 -> cto.
    const edges = { from: D0 + 10 * HOUR_MS, to: D0 + 2 * DAY_MS + 11 * HOUR_MS };
    expect(await pref(edges)).toEqual(referencePersonaPreference(turns, edges));
    expect((await pref(edges)).personas[0]).toEqual({ persona: 'cto', users: 1 });
    // u2's span ends at 13:00 on day 1: a range ending there leaves its last turn out (partial).
    const cut = { from: D0, to: D0 + DAY_MS + 13 * HOUR_MS };
    expect(await pref(cut)).toEqual(referencePersonaPreference(turns, cut));
    // Returning users over whole days: both covered (u1 s1-s3, u2 s4-s5); u1 partial with s2 and
    // s3, u2 covered; u1 partial with s3 alone.
    const users = async (from: number, to: number) => (await store.sessionStats!({ from, to })).users;
    expect(await users(D0, D0 + 3 * DAY_MS)).toEqual({ active: 2, returning: 2 });
    expect(await users(D0 + DAY_MS, D0 + 3 * DAY_MS)).toEqual({ active: 2, returning: 2 });
    expect(await users(D0 + 2 * DAY_MS, D0 + 3 * DAY_MS)).toEqual({ active: 1, returning: 0 });
    expect(await users(D0 + DAY_MS, D0 + 2 * DAY_MS)).toEqual({ active: 2, returning: 1 });
  });

  it('equals the reference after random appends and deletes; preference and returning users over ranges cut at user spans', async () => {
    const { store, users } = open();
    const stored: Turn[] = [];
    const rawTurn = fc.record({
      day: fc.integer({ min: 0, max: 3 }),
      minute: fc.integer({ min: 0, max: 24 * 60 - 1 }),
      session: fc.constantFrom('s1', 's2', 's3', 's4'),
      user: fc.option(fc.constantFrom('u1', 'u2', 'U3', 'é4'), { nil: undefined }),
      // JavaScript string order decides ties: '\u{1F600}' before '\uFB01' (byte order says otherwise).
      persona: fc.option(fc.constantFrom('analyst', 'Zed', '\uFB01', '\u{1F600}'), { nil: undefined }),
    });
    const step = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.array(rawTurn, { minLength: 1, maxLength: 10 }).map((append) => ({ append })),
      },
      {
        weight: 1,
        arbitrary: fc
          .record({ day: fc.integer({ min: 0, max: 3 }), minute: fc.integer({ min: 0, max: 24 * 60 }) })
          .map(({ day, minute }) => ({ deleteBefore: D0 + day * DAY_MS + minute * MIN })),
      },
    );
    // A range bound: a user's first or last turn, just past it, or a day boundary.
    const bound = fc.record({
      pick: fc.nat(),
      shift: fc.constantFrom(-1, 0, 1),
      day: fc.integer({ min: 0, max: 4 }),
      aligned: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), bound, bound, async (steps, a, b) => {
        for (const s of steps) {
          if ('append' in s) {
            const batch = s.append.map((r) =>
              turn(r.user, r.persona, D0 + r.day * DAY_MS + r.minute * MIN + (n % 1000), r.session),
            );
            await store.append(batch);
            stored.push(...batch);
          } else {
            await store.deleteBefore(s.deleteBefore);
            stored.splice(0, stored.length, ...stored.filter((t) => t.at >= s.deleteBefore));
          }
        }
        expect(users()).toEqual(expectedUsers(stored));
        const spans = expectedUsers(stored).flatMap((r) => [r[1], r[2]]);
        const at = (x: typeof a) =>
          x.aligned || spans.length === 0 ? D0 + x.day * DAY_MS : spans[x.pick % spans.length]! + x.shift;
        const filter = { from: Math.min(at(a), at(b)), to: Math.max(at(a), at(b)) };
        expect(await store.personaPreference!(filter)).toEqual(referencePersonaPreference(stored, filter));
        // sessionStats reads user_totals over whole days: the range widened to them.
        const days = {
          from: filter.from - (filter.from % DAY_MS),
          to: filter.to + ((DAY_MS - (filter.to % DAY_MS)) % DAY_MS),
        };
        expect((await store.sessionStats!(days)).users).toEqual(referenceSessionStats(stored, days).users);
      }),
      { numRuns: 150, seed: 20_261_126, endOnFailure: true },
    );
  });
});
