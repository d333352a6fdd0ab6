import type { JsonObject } from '@convokit/core';
import { makeContext, ONE_KB } from '../data.js';
import { openRawSqlite } from '../floors.js';
import { closePeers, openKvPeers } from '../peers.js';
import type { Scenario } from '../scenario.js';

const CREATE = 'context create';
const UPDATE = 'context update (shallow merge)';
const DELETE = 'context delete';

/**
 * Issues 2, 3 and 9: create, shallow-merge update (the caller merges a small patch into the 1 KB
 * data it holds and writes it with the version it read) and delete, through the async store API.
 * Writes on disk are autocommit: one call, one transaction.
 */
export const contextWrite: Scenario = {
  id: 'context-write',
  title: 'Context create, shallow-merge update, delete (1 KB context)',
  issues: [2, 3, 9],
  quick: true,
  async run({ rec, adapters, sizes }) {
    const at = Date.now();
    const patch = (i: number): JsonObject => ({ ...ONE_KB, step: i });

    for (const adapter of adapters) {
      const count = sizes.writes[adapter.klass];
      const { storage, dispose } = await adapter.open();
      try {
        const contexts = storage.contexts;
        if (!contexts) {
          rec.skip(adapter.subject, 'no context store');
          continue;
        }
        let prefix = '';
        await rec.fixed(
          { operation: CREATE, subject: adapter.subject, kind: 'ours', klass: adapter.klass },
          count,
          (i) => contexts.create(makeContext(`${prefix}${i}`, ONE_KB, at)),
          {
            setup: (run) => {
              prefix = `c${run}-`;
            },
          },
        );
        // Update the contexts of the first run, cycling; each call carries the version it read.
        const versions = new Array<number>(count).fill(1);
        let i = 0;
        await rec.bench(
          { operation: UPDATE, subject: adapter.subject, kind: 'ours', klass: adapter.klass },
          async () => {
            const k = i++ % count;
            const next = await contexts.update(`c0-${k}`, versions[k] as number, { data: patch(i) }, at);
            versions[k] = next.version;
          },
        );
        if (adapter.name === 'redis') {
          // Issue 9, many callers: 8 updates of 8 different contexts in flight on the store's one
          // connection (the row above is one caller awaiting each update).
          await rec.bench(
            {
              operation: `${UPDATE} x8 concurrent`,
              subject: adapter.subject,
              kind: 'ours',
              klass: adapter.klass,
              itemsPerOp: 8,
            },
            () =>
              Promise.all(
                Array.from({ length: 8 }, async () => {
                  const k = i++ % count;
                  const next = await contexts.update(
                    `c0-${k}`,
                    versions[k] as number,
                    { data: patch(i) },
                    at,
                  );
                  versions[k] = next.version;
                }),
              ),
          );
        }
        await rec.fixed(
          { operation: DELETE, subject: adapter.subject, kind: 'ours', klass: adapter.klass },
          count,
          (k) => contexts.delete(`${prefix}${k}`),
          {
            setup: async (run) => {
              prefix = `d${run}-`;
              for (let k = 0; k < count; k += 200) {
                await Promise.all(
                  Array.from({ length: Math.min(200, count - k) }, (_, j) =>
                    contexts.create(makeContext(`${prefix}${k + j}`, ONE_KB, at)),
                  ),
                );
              }
            },
          },
        );
      } finally {
        await dispose();
      }
    }

    const { peers, skipped } = await openKvPeers({ memory: true, embedded: true });
    for (const s of skipped) rec.skip(s.subject, s.reason);
    try {
      for (const peer of peers) {
        const count = sizes.writes[peer.klass];
        const spec = { subject: peer.subject, kind: 'peer' as const, klass: peer.klass };
        let prefix = '';
        await rec.fixed({ ...spec, operation: CREATE }, count, (i) => peer.set(`${prefix}${i}`, ONE_KB), {
          setup: (run) => {
            prefix = `c${run}-`;
          },
        });
        let i = 0;
        await rec.bench({ ...spec, operation: UPDATE }, () => peer.set(`c0-${i % count}`, patch(i++)));
        await rec.fixed({ ...spec, operation: DELETE }, count, (k) => peer.delete(`${prefix}${k}`), {
          setup: async (run) => {
            prefix = `d${run}-`;
            for (let k = 0; k < count; k++) await peer.set(`${prefix}${k}`, ONE_KB);
          },
        });
      }
    } finally {
      await closePeers(peers);
    }

    // Floors: an awaited Map write of a cloned snapshot; raw autocommit statements.
    const memoryCount = sizes.writes.memory;
    const map = new Map<string, unknown>();
    let prefix = '';
    await rec.fixed(
      { operation: CREATE, subject: 'await Map.set(structuredClone)', kind: 'floor', klass: 'memory' },
      memoryCount,
      async (i) => map.set(`${prefix}${i}`, structuredClone(makeContext(`${prefix}${i}`, ONE_KB, at))),
      {
        setup: (run) => {
          prefix = `c${run}-`;
        },
      },
    );
    let n = 0;
    await rec.bench(
      { operation: UPDATE, subject: 'await Map.set(structuredClone)', kind: 'floor', klass: 'memory' },
      async () => map.set(`c0-${n % memoryCount}`, structuredClone(patch(n++))),
    );
    await rec.fixed(
      { operation: DELETE, subject: 'await Map.delete', kind: 'floor', klass: 'memory' },
      memoryCount,
      async (k) => map.delete(`d-${k}`),
      { setup: () => void Array.from({ length: memoryCount }, (_, k) => map.set(`d-${k}`, ONE_KB)) },
    );

    const raw = openRawSqlite();
    try {
      const count = sizes.writes.embedded;
      raw.db.exec(
        'CREATE TABLE contexts (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL)',
      );
      const insert = raw.db.prepare('INSERT INTO contexts (id, version, data) VALUES (?, 1, ?)');
      const update = raw.db.prepare(
        'UPDATE contexts SET data = ?, version = version + 1 WHERE id = ? AND version = ?',
      );
      const select = raw.db.prepare<[string], { version: number }>(
        'SELECT version FROM contexts WHERE id = ?',
      );
      const remove = raw.db.prepare('DELETE FROM contexts WHERE id = ?');
      const subject = 'better-sqlite3 autocommit';
      await rec.fixed(
        { operation: CREATE, subject, kind: 'floor', klass: 'embedded' },
        count,
        (i) => insert.run(`${prefix}${i}`, JSON.stringify(makeContext(`${prefix}${i}`, ONE_KB, at))),
        {
          setup: (run) => {
            prefix = `c${run}-`;
          },
        },
      );
      let m = 0;
      await rec.bench(
        { operation: UPDATE, subject, kind: 'floor', klass: 'embedded', note: 'with version check' },
        () => {
          const id = `c0-${m % count}`;
          const { version } = select.get(id) as { version: number };
          update.run(JSON.stringify(patch(m++)), id, version);
        },
      );
      await rec.fixed(
        { operation: DELETE, subject, kind: 'floor', klass: 'embedded' },
        count,
        (k) => remove.run(`d-${k}`),
        {
          setup: () =>
            raw.db.transaction(() => {
              for (let k = 0; k < count; k++) insert.run(`d-${k}`, '{}');
            })(),
        },
      );
    } finally {
      raw.close();
    }
  },
};
