import { createLogger } from '@convokit/core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { Db, type PgSql } from '../src/db.js';
import { createPostgresStorage } from '../src/index.js';
import { dropSchema, freshSchema, reportSkip, url } from './support.js';

reportSkip('by-id-lane.int.test.ts');

const CONTEXT = {
  scope: 'session' as const,
  data: { a: 1 },
  metadata: {},
  version: 1,
  createdAt: 1_000,
  updatedAt: 1_000,
  accessCount: 0,
  lastAccessedAt: 1_000,
};

describe.skipIf(!url)('reads by id on a connection of their own (postgres)', () => {
  const schema = freshSchema();
  const tag = `lane_${process.pid}_${Date.now() % 100_000}`;
  let admin: PgSql;
  beforeAll(async () => {
    admin = postgres(url!, { max: 1, onnotice: () => {} }) as unknown as PgSql;
  });
  afterAll(async () => {
    await admin.end();
    await dropSchema(schema);
  });

  const backends = async (app: string) =>
    (
      await admin.unsafe<{ pid: number }[]>(
        'SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid',
        [app],
      )
    ).map((r) => r.pid);

  function db(main: string, byId: string | undefined) {
    const make = (app: string) => () =>
      postgres(url!, {
        max: 1,
        onnotice: () => {},
        connection: { application_name: app },
      }) as unknown as PgSql;
    return new Db({
      makeSql: make(main),
      ...(byId ? { makeByIdSql: make(byId) } : {}),
      schema,
      S: `"${schema}"`,
      clock: { now: () => Date.now() },
      log: createLogger('test', undefined),
      server: { host: '127.0.0.1', port: 5432 } as never,
      deadlineMs: 10_000,
    });
  }

  const appOf = (sql: PgSql) =>
    sql.unsafe<{ app: string }[]>("SELECT current_setting('application_name') AS app").then((r) => r[0]!.app);

  test('readById runs on its own pool, read and run on the main one; without one, all on the main', async () => {
    const two = db(`${tag}_main`, `${tag}_byid`);
    const one = db(`${tag}_only`, undefined);
    try {
      expect(await two.readById('t', appOf)).toBe(`${tag}_byid`);
      expect(await two.read('t', appOf)).toBe(`${tag}_main`);
      expect(await two.run('t', appOf)).toBe(`${tag}_main`);
      expect(await one.readById('t', appOf)).toBe(`${tag}_only`);
      expect(await one.read('t', appOf)).toBe(`${tag}_only`);
    } finally {
      two.markClosed();
      one.markClosed();
      await two.end(1);
      await one.end(1);
    }
    // end() closed both pools (a backend leaves pg_stat_activity shortly after its socket).
    await vi.waitFor(async () => {
      expect(await backends(`${tag}_main`)).toEqual([]);
      expect(await backends(`${tag}_byid`)).toEqual([]);
    });
  });

  test('a terminated by-id backend is replaced and the read retried; the main pool is untouched', async () => {
    const d = db(`${tag}_main2`, `${tag}_byid2`);
    try {
      await d.readById('t', appOf);
      await d.read('t', appOf);
      const [mainPid] = await backends(`${tag}_main2`);
      const byIdPids = await backends(`${tag}_byid2`);
      expect(byIdPids).toHaveLength(1);
      const byIdPid = byIdPids[0]!;
      await admin.unsafe('SELECT pg_terminate_backend($1::int)', [byIdPid]);
      expect(await d.readById('t', appOf)).toBe(`${tag}_byid2`);
      await vi.waitFor(async () => {
        const now = await backends(`${tag}_byid2`);
        expect(now).toHaveLength(1);
        expect(now).not.toContain(byIdPid);
      });
      expect(await backends(`${tag}_main2`)).toEqual([mainPid]);
    } finally {
      d.markClosed();
      await d.end(1);
    }
  });

  test('a read by id issued while a write runs on the main pool waits for it', async () => {
    const d = db(`${tag}_main3`, `${tag}_byid3`);
    try {
      await d.read('t', appOf);
      await d.readById('t', appOf);
      const order: string[] = [];
      const write = d.run('w', (sql) => sql.unsafe('SELECT pg_sleep(0.3)').then(() => order.push('write')));
      const read = d.readById('r', (sql) => appOf(sql).then(() => order.push('read')));
      await Promise.all([write, read]);
      // On its own connection the read would be answered within the write's 300 ms sleep.
      expect(order).toEqual(['write', 'read']);
    } finally {
      d.markClosed();
      await d.end(1);
    }
  });

  test('through the store: a get issued after an update was issued sees the update', async () => {
    const storage = createPostgresStorage({ url: url!, schema, pool: { max: 3 } });
    try {
      await storage.contexts.create({ ...CONTEXT, id: 'seen' });
      for (let v = 1; v <= 10; v++) {
        const [, after] = await Promise.all([
          storage.contexts.update('seen', v, { data: { v } }, 2_000 + v),
          storage.contexts.get('seen').then(() => storage.contexts.get('seen')),
        ]);
        expect(after?.version).toBe(v + 1);
        expect(after?.data).toEqual({ v });
      }
    } finally {
      await storage.close();
    }
  });

  test('a store never opens more than pool.max connections, gets included', async () => {
    const app = `${tag}_store`;
    const storage = createPostgresStorage({
      url: url!,
      schema,
      pool: { max: 3 },
      connection: { connection: { application_name: app } },
    });
    try {
      await storage.migrate();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => storage.contexts.create({ ...CONTEXT, id: `c-${i}` })),
      );
      const got = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          i % 2 ? storage.contexts.get(`c-${i % 20}`) : storage.contexts.list({}, { limit: 5 }),
        ),
      );
      expect(got.filter((x) => x !== undefined && 'id' in x).map((c) => (c as { id: string }).id)).toEqual(
        Array.from({ length: 20 }, (_, i) => `c-${(2 * i + 1) % 20}`),
      );
      expect((await backends(app)).length).toBeLessThanOrEqual(3);
      expect((await backends(app)).length).toBeGreaterThanOrEqual(2);
    } finally {
      await storage.close();
    }
  });
});
