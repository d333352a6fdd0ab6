import { createManualClock, type Storage, type TurnStore } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngagementData } from '../src/index.js';
import { day, FULL, NOW } from './fixtures.js';
import { fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
});

const MIN = 60_000;

describe('engagement_patterns on the fixture', () => {
  it('sessions, distributions, histograms, users and preferences', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<EngagementData>({ type: 'engagement_patterns', timeRange: FULL });
    expect(res.success).toBe(true);
    const d = res.data!;
    expect(d.totals).toEqual({ turns: 20, sessions: 8, users: 3 });
    expect(res.totalRecords).toBe(8);

    // One session on Mar 2, 4, 10, 12, 13 (s4 spans midnight), 16, 18; two on Mar 21 (s7, s8).
    const perDay = new Array(21).fill(0);
    for (const [dd, n] of [
      [2, 1],
      [4, 1],
      [10, 1],
      [12, 1],
      [13, 1],
      [16, 1],
      [18, 1],
      [21, 2],
    ])
      perDay[dd! - 2] = n;
    expect(d.sessionsPerDay.days.map((x) => x.sessions)).toEqual(perDay);
    expect(d.sessionsPerDay.days[0]!.start).toBe(day(2));
    expect(d.sessionsPerDay.mean).toBeCloseTo(9 / 21, 12);
    expect(d.sessionsPerDay.max).toBe(2);

    // Turns per session: s1 3, s2 2, s3 3, s4 2, s5 3, s6 3, s7 2, s8 2 -> sorted 2 2 2 2 3 3 3 3.
    expect(d.turnsPerSession).toMatchObject({ mean: 2.5, median: 2, p90: 3, max: 3 });
    expect(d.turnsPerSession.bins.map((b) => [b.min, b.max, b.sessions])).toEqual([
      [1, 2, 0],
      [2, 3, 4],
      [3, 6, 4],
      [6, 11, 0],
      [11, 21, 0],
      [21, 51, 0],
      [51, null, 0],
    ]);
    // Lengths: s8 30 s, s7 2 min, s1 20 min, s4 20 min, s2 30 min, s5 30 min, s6 60 min, s3 70 min.
    expect(d.sessionLengthMs).toMatchObject({
      mean: 13_950_000 / 8,
      median: 20 * MIN,
      p90: 70 * MIN,
      max: 70 * MIN,
    });
    expect(d.sessionLengthMs.bins.map((b) => b.sessions)).toEqual([0, 1, 1, 0, 4, 2, 0]);

    const hours = new Array(24).fill(0);
    for (const [h, n] of [
      [0, 1],
      [8, 3],
      [9, 3],
      [10, 2],
      [11, 1],
      [12, 2],
      [14, 2],
      [15, 2],
      [16, 1],
      [20, 2],
      [23, 1],
    ])
      hours[h!] = n;
    expect(d.hourOfDay).toEqual(hours);
    // Mon: Mar 2 (3) + Mar 16 (3); Tue: Mar 10 (3); Wed: Mar 4 (2) + Mar 18 (3); Thu: Mar 12; Fri: Mar 13; Sat: Mar 21 (4).
    expect(d.dayOfWeek).toEqual([6, 3, 5, 1, 1, 4, 0]);

    // u1: s1 s3 s7; u2: s2 s5; u3: s6 -> two returning users of three.
    expect(d.users.active).toBe(3);
    expect(d.users.returning).toBe(2);
    expect(d.users.returningRate).toBeCloseTo(2 / 3, 12);
    // u1 prefers cto (5 of 8 turns), u2 pm (3 of 5), u3 eng (2; t16 has no persona).
    expect(d.personaPreference).toEqual([
      { persona: 'cto', users: 1, share: 1 / 3 },
      { persona: 'eng', users: 1, share: 1 / 3 },
      { persona: 'pm', users: 1, share: 1 / 3 },
    ]);
  });

  it('series at each aggregation level: turns, sessions and users', async () => {
    setup = await fixtureManager();
    const weekly = await setup.manager.query<EngagementData>({
      type: 'engagement_patterns',
      timeRange: FULL,
      aggregation: 'weekly',
    });
    // W1: s1 s2, u1 u2; W2: s3 s4, u1 (s4 has no user); W3: s5-s8, u1 u2 u3.
    expect(weekly.data!.series.map((p) => p.values)).toEqual([
      { turns: 5, sessions: 2, users: 2 },
      { turns: 5, sessions: 2, users: 1 },
      { turns: 10, sessions: 4, users: 3 },
    ]);
    const monthly = await setup.manager.query<EngagementData>({
      type: 'engagement_patterns',
      timeRange: FULL,
      aggregation: 'monthly',
    });
    expect(monthly.data!.series.map((p) => p.values)).toEqual([{ turns: 20, sessions: 8, users: 3 }]);
    const daily = await setup.manager.query<EngagementData>({ type: 'engagement_patterns', timeRange: FULL });
    expect(daily.data!.series).toHaveLength(21);
    expect(daily.data!.series[19]!.values).toEqual({ turns: 4, sessions: 2, users: 1 });
    const sessions = await setup.manager.query<EngagementData>({
      type: 'engagement_patterns',
      timeRange: FULL,
      aggregation: 'session',
      pagination: { limit: 2 },
    });
    expect(sessions.data!.series.map((p) => [p.key, p.values])).toEqual([
      ['s7', { turns: 2, sessions: 1, users: 1 }],
      ['s8', { turns: 2, sessions: 1, users: 0 }],
    ]);
  });

  it('per-session figures do not depend on the order the store returns rows in', async () => {
    const expected = await (async () => {
      setup = await fixtureManager();
      const res = await setup.manager.query<EngagementData>({ type: 'engagement_patterns', timeRange: FULL });
      await setup.manager.close();
      await setup.storage.close();
      return res.data;
    })();
    // Rows in reverse and interleaved key order: a session's rows no longer adjacent.
    const inner = createMemoryStorage({ clock: createManualClock(NOW) });
    const turns = inner.turns as TurnStore;
    const shuffled: TurnStore = {
      append: turns.append.bind(turns),
      get: turns.get.bind(turns),
      list: turns.list.bind(turns),
      search: turns.search.bind(turns),
      count: turns.count.bind(turns),
      deleteBefore: turns.deleteBefore.bind(turns),
      aggregate: async (spec) => {
        const result = await turns.aggregate(spec);
        const rows = [...result.rows].reverse();
        return {
          ...result,
          rows: [...rows.filter((_, i) => i % 2 === 0), ...rows.filter((_, i) => i % 2 === 1)],
        };
      },
    };
    const storage = { ...inner, turns: shuffled, close: () => inner.close() } as Storage;
    setup = await fixtureManager({ storage });
    const res = await setup.manager.query<EngagementData>({ type: 'engagement_patterns', timeRange: FULL });
    expect(res.data!.totals).toEqual({ turns: 20, sessions: 8, users: 3 });
    expect(res.data!.turnsPerSession).toEqual(expected!.turnsPerSession);
    expect(res.data!.sessionLengthMs).toEqual(expected!.sessionLengthMs);
    expect(res.data!.users).toEqual(expected!.users);
  });

  it('empty period: zeros and nulls, not invented figures', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<EngagementData>({
      type: 'engagement_patterns',
      timeRange: { from: day(5), to: day(8) },
    });
    const d = res.data!;
    expect(d.totals).toEqual({ turns: 0, sessions: 0, users: 0 });
    expect(d.turnsPerSession).toMatchObject({ mean: null, median: null, p90: null, max: null });
    expect(d.users.returningRate).toBeNull();
    expect(d.personaPreference).toEqual([]);
    expect(d.sessionsPerDay).toMatchObject({ mean: 0, max: 0 });
  });
});
