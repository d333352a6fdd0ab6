import type { Adapter } from '../adapters.js';
import { makeContext, ONE_KB } from '../data.js';
import { openRawPostgres, openRawSqlite } from '../floors.js';
import type { Recorder } from '../harness.js';
import { closePeers, openKvPeers } from '../peers.js';
import type { Scenario } from '../scenario.js';

/** Issue 9's many-callers figure: 8 gets in flight at once, counted as 8 items per operation. */
async function benchEightInFlight(
  rec: Recorder,
  adapter: Adapter,
  get: () => Promise<unknown>,
): Promise<void> {
  await rec.bench(
    {
      operation: 'context get x8 concurrent',
      subject: adapter.subject,
      kind: 'ours',
      klass: adapter.klass,
      itemsPerOp: 8,
      engine: adapter.name,
    },
    () => Promise.all(Array.from({ length: 8 }, () => get())),
  );
}

/**
 * What one caller's get cannot beat on this machine's Redis: a plain ioredis GET of the same
 * context as one JSON string, parsed. One round trip per call, as for the store's get.
 */
async function benchRedisFloor(rec: Recorder, ids: readonly string[], at: number): Promise<void> {
  const url = process.env.CONVOKIT_REDIS_URL;
  if (!url) return;
  const { Redis } = await import('ioredis');
  const client = new Redis(url);
  const prefix = `bench-floor:${process.pid}:`;
  try {
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.set(prefix + id, JSON.stringify(makeContext(id, ONE_KB, at)));
    await pipeline.exec();
    let i = 0;
    await rec.bench(
      {
        operation: 'context get',
        subject: 'ioredis GET + JSON.parse',
        kind: 'floor',
        klass: 'server',
        engine: 'redis',
      },
      async () => JSON.parse((await client.get(prefix + ids[i++ % ids.length])) as string),
    );
  } finally {
    await client.del(...ids.map((id) => prefix + id));
    client.disconnect();
  }
}

/**
 * What a get cannot beat on this machine's PostgreSQL: postgres.js (the driver our adapter uses,
 * with its defaults) running a prepared `SELECT data FROM t WHERE id = $1` on a two-column table
 * holding the same context as one JSON text, parsed. On one connection, one caller; then on a pool
 * of 8 with 8 calls in flight, each its own statement.
 */
async function benchPostgresFloors(rec: Recorder, ids: readonly string[], at: number): Promise<void> {
  const spec = {
    subject: 'postgres.js SELECT + JSON.parse',
    kind: 'floor' as const,
    klass: 'server',
    engine: 'postgres',
  };
  for (const max of [1, 8]) {
    const raw = await openRawPostgres(max);
    if (!raw) return;
    try {
      const { sql, S } = raw;
      await sql.unsafe(`CREATE TABLE ${S}.contexts (id text PRIMARY KEY, data text NOT NULL)`);
      await sql.unsafe(`INSERT INTO ${S}.contexts SELECT * FROM unnest($1::text[], $2::text[])`, [
        ids as string[],
        ids.map((id) => JSON.stringify(makeContext(id, ONE_KB, at))),
      ] as never[]);
      await sql.unsafe(`ANALYZE ${S}.contexts`);
      const text = `SELECT data FROM ${S}.contexts WHERE id = $1`;
      let i = 0;
      const get = async () =>
        JSON.parse(
          (
            (await sql.unsafe(text, [ids[i++ % ids.length] as string], { prepare: true })) as {
              data: string;
            }[]
          )[0]!.data,
        );
      // Every connection of the pool open before timing (the first call would otherwise connect).
      for (let w = 0; w < 50; w++) await Promise.all(Array.from({ length: max }, get));
      if (max === 1) await rec.bench({ ...spec, operation: 'context get' }, get);
      else
        await rec.bench(
          { ...spec, operation: 'context get x8 concurrent', itemsPerOp: 8, note: 'pool of 8' },
          () => Promise.all(Array.from({ length: 8 }, get)),
        );
    } finally {
      await raw.close();
    }
  }
}

/** Issue 2 and 3: a 1 KB context read by id through the async store API, against peers and floors. */
export const contextGet: Scenario = {
  id: 'context-get',
  title: 'Context get by id (1 KB context)',
  issues: [2, 3, 9],
  quick: true,
  async run({ rec, adapters, sizes }) {
    const ids = Array.from({ length: sizes.contexts }, (_, i) => `ctx-${i}`);
    let n = sizes.contexts;
    const at = Date.now();
    const pick = (i: number) => ids[i % n] as string;

    for (const adapter of adapters) {
      n = adapter.klass === 'server' ? Math.min(sizes.serverContexts, sizes.contexts) : sizes.contexts;
      const { storage, dispose } = await adapter.open();
      try {
        const contexts = storage.contexts;
        if (!contexts) {
          rec.skip(adapter.subject, 'no context store');
          continue;
        }
        for (let i = 0; i < n; i += 500) {
          await Promise.all(ids.slice(i, i + 500).map((id) => contexts.create(makeContext(id, ONE_KB, at))));
        }
        let i = 0;
        await rec.bench(
          {
            operation: 'context get',
            subject: adapter.subject,
            kind: 'ours',
            klass: adapter.klass,
            engine: adapter.name,
          },
          () => contexts.get(pick(i++)),
        );
        if (adapter.name === 'redis') {
          // Issue 9, many callers: 8 gets in flight on the store's one connection (the row above
          // is one caller awaiting each get).
          await benchEightInFlight(rec, adapter, () => contexts.get(pick(i++)));
          await benchRedisFloor(rec, ids.slice(0, n), at);
        }
        // The newest page of a session's contexts, by owner and session (index-served).
        await rec.bench(
          {
            operation: 'context list (page of 50)',
            subject: adapter.subject,
            kind: 'ours',
            klass: adapter.klass,
          },
          () => contexts.list({ ownerId: 'user-1', sessionId: 's-1' }, { limit: 50 }),
        );
      } finally {
        await dispose();
      }
      if (adapter.name === 'postgres') {
        // Issue 9's second figure: a pool of 8 connections, 8 callers at once.
        const { storage: pooled, dispose: close } = await adapter.open({ extra: { pool: { max: 8 } } });
        try {
          const contexts = pooled.contexts;
          if (!contexts) continue;
          for (let i = 0; i < n; i += 500) {
            await Promise.all(
              ids.slice(i, i + 500).map((id) => contexts.create(makeContext(id, ONE_KB, at))),
            );
          }
          let i = 0;
          await benchEightInFlight(rec, adapter, () => contexts.get(pick(i++)));
        } finally {
          await close();
        }
        await benchPostgresFloors(rec, ids.slice(0, n), at);
      }
    }

    n = sizes.contexts;
    const { peers, skipped } = await openKvPeers({ memory: true, embedded: true });
    for (const s of skipped) rec.skip(s.subject, s.reason);
    try {
      for (const peer of peers) {
        for (let i = 0; i < n; i += 500)
          await Promise.all(ids.slice(i, i + 500).map((id) => peer.set(id, ONE_KB)));
        let i = 0;
        const spec = {
          operation: 'context get',
          subject: peer.subject,
          kind: 'peer' as const,
          klass: peer.klass,
        };
        await rec.bench(peer.note ? { ...spec, note: peer.note } : spec, () => peer.get(pick(i++)));
      }
    } finally {
      await closePeers(peers);
    }

    // Floors: what a get cannot beat in memory, and what an immutable snapshot costs.
    const map = new Map(ids.map((id) => [id, makeContext(id, ONE_KB, at)]));
    let i = 0;
    await rec.bench(
      { operation: 'context get', subject: 'await Map.get', kind: 'floor', klass: 'memory' },
      async () => map.get(pick(i++)),
    );
    await rec.bench(
      { operation: 'context get', subject: 'structuredClone (1 KB)', kind: 'floor', klass: 'memory' },
      () => structuredClone(ONE_KB),
    );

    const raw = openRawSqlite();
    try {
      raw.db.exec('CREATE TABLE contexts (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID');
      const insert = raw.db.prepare('INSERT INTO contexts (id, data) VALUES (?, ?)');
      const json = JSON.stringify(makeContext('x', ONE_KB, at));
      raw.db.transaction(() => {
        for (const id of ids) insert.run(id, json);
      })();
      const select = raw.db.prepare<[string], { data: string }>('SELECT data FROM contexts WHERE id = ?');
      await rec.bench(
        {
          operation: 'context get',
          subject: 'better-sqlite3 SELECT + JSON.parse',
          kind: 'floor',
          klass: 'embedded',
        },
        () => JSON.parse((select.get(pick(i++)) as { data: string }).data),
      );
    } finally {
      raw.close();
    }
  },
};
