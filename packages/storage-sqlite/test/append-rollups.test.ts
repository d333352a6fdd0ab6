import { bucketStart, DAY_MS, HOUR_MS, latencyBucket, type Turn } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDistinct } from '../src/distinct.js';
import { addHist } from '../src/rollups.js';
import { openConnection } from '../src/storage.js';
import { createTurnStore } from '../src/turns.js';
import { rawTurnArb, toTurns } from './turn-arbitrary.js';

// A Monday 00:00 UTC: weeks start here (core bucketStart('week')).
const MONDAY = Date.UTC(2026, 1, 23);
const WEEK_MS = 7 * DAY_MS;

interface Row {
  count: number;
  errors: number;
  tokens_in: number;
  tokens_out: number;
  feedback_sum: number;
  feedback_count: number;
  latency_count: number;
  latency_sum: number;
  latency_min: number | null;
  latency_max: number | null;
  first_at: number;
  last_at: number;
  hist: Record<number, number>;
}

/** Every row of a rollup table, keyed `dim|start|key`, its histogram decoded. */
function tableRows(db: ReturnType<typeof openConnection>['db'], table: string, time: string) {
  const rows = db.prepare(`SELECT * FROM ${table}`).all() as Array<
    Omit<Row, 'hist'> & { dim: string; key: string; hist: Uint8Array | null } & Record<string, unknown>
  >;
  const out: Record<string, Row> = {};
  for (const { dim, key, hist, [time]: start, ...rest } of rows) {
    const buckets = new Map<number, number>();
    if (hist) addHist(hist, buckets);
    out[`${dim}|${start}|${key}`] = { ...(rest as Omit<Row, 'hist'>), hist: Object.fromEntries(buckets) };
  }
  return out;
}

/**
 * The reference: each turn added on its own into each level it belongs to (as appends did before
 * the batch folded hours into days and days into weeks).
 */
function expectedRows(turns: readonly Turn[]) {
  const levels = { hour: {}, day: {}, week: {} } as Record<'hour' | 'day' | 'week', Record<string, Row>>;
  const put = (level: 'hour' | 'day' | 'week', dim: string, key: string, t: Turn, hist: boolean) => {
    const start = bucketStart(level, t.at);
    const id = `${dim}|${start}|${key}`;
    const r = levels[level][id] ?? {
      count: 0,
      errors: 0,
      tokens_in: 0,
      tokens_out: 0,
      feedback_sum: 0,
      feedback_count: 0,
      latency_count: 0,
      latency_sum: 0,
      latency_min: null,
      latency_max: null,
      first_at: t.at,
      last_at: t.at,
      hist: {},
    };
    levels[level][id] = r;
    r.count++;
    if (t.outcome === 'error') r.errors++;
    r.tokens_in += t.tokens?.input ?? 0;
    r.tokens_out += t.tokens?.output ?? 0;
    if (t.feedback !== undefined) {
      r.feedback_sum += t.feedback;
      r.feedback_count++;
    }
    if (t.latencyMs !== undefined) {
      r.latency_count++;
      r.latency_sum += t.latencyMs;
      r.latency_min = r.latency_min === null ? t.latencyMs : Math.min(r.latency_min, t.latencyMs);
      r.latency_max = r.latency_max === null ? t.latencyMs : Math.max(r.latency_max, t.latencyMs);
      if (hist) {
        const b = latencyBucket(t.latencyMs);
        r.hist[b] = (r.hist[b] ?? 0) + 1;
      }
    }
    r.first_at = Math.min(r.first_at, t.at);
    r.last_at = Math.max(r.last_at, t.at);
  };
  for (const t of turns) {
    const keys: Array<[string, string]> = [
      ['', ''],
      ['persona', t.persona ?? ''],
      ['outcome', t.outcome],
      ...t.frameworks.map((n): [string, string] => ['framework', n]),
      ...t.tools.map((n): [string, string] => ['tool', n]),
      ...t.mcpServers.map((n): [string, string] => ['mcpServer', n]),
    ];
    for (const level of ['hour', 'day', 'week'] as const) {
      for (const [dim, key] of keys) put(level, dim, key, t, true);
      const sorted = [...t.frameworks].sort();
      for (let i = 0; i < sorted.length; i++) {
        for (let j = i + 1; j < sorted.length; j++) {
          put(level, 'frameworkPair', `${sorted[i]}\u0001${sorted[j]}`, t, false);
        }
      }
    }
    for (const name of t.frameworks) {
      put('day', 'frameworkPersona', `${name}\u0001${t.persona ?? ''}`, t, false);
      put('week', 'frameworkPersona', `${name}\u0001${t.persona ?? ''}`, t, false);
    }
    put('day', 'userPersona', `${t.userId ?? ''}\u0001${t.persona ?? ''}`, t, false);
  }
  return levels;
}

const turnArb = rawTurnArb({
  at: fc.oneof(
    fc.integer({ min: 0, max: 3 * WEEK_MS - 1 }),
    // On and just before hour, day and week boundaries.
    fc.integer({ min: 0, max: 21 * 24 }).map((h) => h * HOUR_MS),
    fc.integer({ min: 1, max: 21 * 24 }).map((h) => h * HOUR_MS - 1),
    fc.integer({ min: 1, max: 3 }).map((w) => w * WEEK_MS - 1),
  ),
  sessions: 7,
  personas: ['analyst', 'coach'],
  frameworks: ['swot', 'okr', 'lean'],
  latencyMaxMs: 50_000,
});

describe('append: rollups folded per batch (hours into days into weeks)', () => {
  it('writes the rows of three turns in two hours of two days of one week', async () => {
    const conn = openConnection({ path: ':memory:' });
    const store = createTurnStore(conn);
    const base = { userInput: 'q', assistantResponse: 'a', tools: [], mcpServers: [], persona: 'coach' };
    try {
      await store.append([
        {
          ...base,
          id: 'a',
          sessionId: 's1',
          at: MONDAY + 10 * HOUR_MS + 1,
          frameworks: ['okr'],
          outcome: 'ok',
          latencyMs: 100,
        },
        {
          ...base,
          id: 'b',
          sessionId: 's1',
          at: MONDAY + 10 * HOUR_MS + 2,
          frameworks: ['okr', 'swot'],
          outcome: 'error',
          latencyMs: 300,
        },
        {
          ...base,
          id: 'c',
          sessionId: 's2',
          at: MONDAY + DAY_MS + 5,
          frameworks: [],
          outcome: 'ok',
          feedback: 1,
        },
      ]);
      const hours = tableRows(conn.db, 'rollups', 'hour');
      const days = tableRows(conn.db, 'rollups_day', 'day');
      const weeks = tableRows(conn.db, 'rollups_week', 'week');
      const h100 = latencyBucket(100);
      const h300 = latencyBucket(300);
      // Monday 10:00 holds a and b; Tuesday 00:00 holds c; the week holds all three.
      expect(hours[`|${MONDAY + 10 * HOUR_MS}|`]).toMatchObject({
        count: 2,
        errors: 1,
        latency_count: 2,
        latency_sum: 400,
        latency_min: 100,
        latency_max: 300,
        hist: { [h100]: 1, [h300]: 1 },
      });
      expect(hours[`|${MONDAY + DAY_MS}|`]).toMatchObject({
        count: 1,
        errors: 0,
        latency_count: 0,
        latency_min: null,
        feedback_sum: 1,
        feedback_count: 1,
        hist: {},
      });
      expect(days[`framework|${MONDAY}|okr`]).toMatchObject({
        count: 2,
        errors: 1,
        first_at: MONDAY + 10 * HOUR_MS + 1,
        last_at: MONDAY + 10 * HOUR_MS + 2,
      });
      expect(weeks[`|${MONDAY}|`]).toMatchObject({
        count: 3,
        errors: 1,
        latency_count: 2,
        latency_sum: 400,
        feedback_count: 1,
        first_at: MONDAY + 10 * HOUR_MS + 1,
        last_at: MONDAY + DAY_MS + 5,
        hist: { [h100]: 1, [h300]: 1 },
      });
      expect(weeks[`frameworkPair|${MONDAY}|okr\u0001swot`]).toMatchObject({
        count: 1,
        errors: 1,
        latency_sum: 300,
        hist: {},
      });
      expect(weeks[`frameworkPersona|${MONDAY}|okr\u0001coach`]).toMatchObject({
        count: 2,
        latency_min: 100,
      });
      expect(days[`userPersona|${MONDAY}|\u0001coach`]).toMatchObject({ count: 2 });
      expect(Object.keys(weeks).some((k) => k.startsWith('userPersona|'))).toBe(false);
      // Monday 10:00: all, coach, ok, error, okr, swot, okr+swot; Tuesday 00:00: all, coach, ok.
      expect(Object.keys(hours)).toHaveLength(7 + 3);
    } finally {
      conn.db.close();
    }
  });

  it('on random turns in out-of-order batches, equal a turn-by-turn count at every level', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnArb, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 5 }),
        async (raw, sizes) => {
          const turns = toTurns(raw, MONDAY);
          const conn = openConnection({ path: ':memory:' });
          const store = createTurnStore(conn);
          try {
            // Batches of the generated sizes, in generated (not time) order, so rows merge by upsert.
            let i = 0;
            for (let k = 0; i < turns.length; k++) {
              const n = sizes[k % sizes.length]!;
              await store.append(turns.slice(i, i + n));
              i += n;
            }
            const expected = expectedRows(turns);
            expect(tableRows(conn.db, 'rollups', 'hour')).toEqual(expected.hour);
            expect(tableRows(conn.db, 'rollups_day', 'day')).toEqual(expected.day);
            expect(tableRows(conn.db, 'rollups_week', 'week')).toEqual(expected.week);
          } finally {
            conn.db.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('append: distinct memberships in day order', () => {
  const distinctDays = (db: ReturnType<typeof openConnection>['db']) =>
    db
      .prepare(
        'SELECT dim, key, kind, day, hex(prevs) AS prevs FROM distinct_days ORDER BY dim, key, kind, day',
      )
      .all();
  const at = (day: number) => MONDAY + day * DAY_MS + 9 * HOUR_MS;
  const turn = (id: string, day: number): Turn => ({
    id,
    sessionId: `s-${id}`,
    userId: 'u1',
    at: at(day),
    userInput: 'q',
    assistantResponse: 'a',
    frameworks: [],
    tools: [],
    mcpServers: [],
    outcome: 'ok',
  });

  it('a user on days 3, then 5, 1 and 3 in one batch: counted once per range, same rows as a rebuild', async () => {
    const conn = openConnection({ path: ':memory:' });
    const store = createTurnStore(conn);
    try {
      await store.append([turn('a', 3)]);
      // Later day first: day 1 lies before every stored day and must still find day 3 after it.
      await store.append([turn('b', 5), turn('c', 1), turn('d', 3)]);
      const users = async (from: number, to: number) =>
        (
          await store.aggregate({
            filter: { from: at(from) - 9 * HOUR_MS, to: at(to) - 9 * HOUR_MS },
            measures: ['users', 'sessions'],
          })
        ).rows[0]?.values;
      expect(await users(0, 7)).toEqual({ users: 1, sessions: 4 });
      expect(await users(2, 7)).toEqual({ users: 1, sessions: 3 });
      expect(await users(4, 5)).toEqual({ users: 0, sessions: 0 });
      const written = distinctDays(conn.db);
      buildDistinct(conn.db);
      expect(distinctDays(conn.db)).toEqual(written);
    } finally {
      conn.db.close();
    }
  });

  it('on random turns in random batches, the same rows as a rebuild from the turns', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnArb, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 25 }),
        async (raw, size) => {
          const turns = toTurns(raw, MONDAY);
          const conn = openConnection({ path: ':memory:' });
          const store = createTurnStore(conn);
          try {
            for (let i = 0; i < turns.length; i += size) await store.append(turns.slice(i, i + size));
            const written = distinctDays(conn.db);
            buildDistinct(conn.db);
            expect(distinctDays(conn.db)).toEqual(written);
          } finally {
            conn.db.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
