import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Storage, Turn } from '@convokit/core';
import { tempDir } from '../adapters.js';
import { SEARCH_TERMS } from '../data.js';
import { createRawTurnsTable, openRawPostgres, openRawSqlite } from '../floors.js';
import { settledHeap } from '../managers.js';
import type { Scenario } from '../scenario.js';

const BATCH = 'turn append (batch of 1,000)';
const SINGLE = 'turn append (single)';
const SEARCHABLE = 'turn append + first search';

/**
 * Issues 2, 3 and 9: recording turns with search index and aggregates kept up to date, in batches
 * of 1,000 and one by one. Each run appends into a fresh store, so every run does the same work.
 */
export const turnAppend: Scenario = {
  id: 'turn-append',
  title: 'Turn append, batched and single',
  issues: [2, 3, 9],
  quick: true,
  async run({ rec, adapters, sizes, datasets }) {
    const largest = Math.max(sizes.appendTurns.memory, sizes.appendTurns.embedded, sizes.appendTurns.server);
    const all = datasets.turns(largest).turns;
    for (const adapter of adapters.filter((a) => a.turns)) {
      // Generating the turns, and the previous adapter's rows, leave a large heap of garbage:
      // collected here (the bench runs with --expose-gc), not inside this adapter's first timed
      // row. Measured on postgres: without it the batch row ran ~30% slower than the row after
      // it, which does the same appends plus a search.
      settledHeap();
      const count = sizes.appendTurns[adapter.klass];
      const batches = Math.floor(count / 1000);
      const singles = Math.min(count, adapter.klass === 'memory' ? 10_000 : 2_000);
      let open: { storage: Storage; dispose(): Promise<void> } | undefined;
      const hooks = {
        setup: async () => {
          open = await adapter.open();
          if (!open.storage.turns) throw new Error('no turn store');
        },
        teardown: async () => {
          await open?.dispose();
          open = undefined;
        },
      };
      const spec = {
        subject: adapter.subject,
        kind: 'ours' as const,
        klass: adapter.klass,
        ...(adapter.klass === 'server' ? { engine: adapter.name } : {}),
      };
      await rec.fixed(
        { ...spec, operation: BATCH, itemsPerOp: 1000 },
        batches,
        (i) => open?.storage.turns?.append(all.slice(i * 1000, i * 1000 + 1000)),
        hooks,
      );
      // The memory engine (and the file store on it) indexes text for search at the next search,
      // not on append: this row charges that catch-up to the appends, so stores that index on
      // append and stores that defer it are compared on the same work.
      await rec.fixed(
        {
          ...spec,
          operation: SEARCHABLE,
          itemsPerOp: 1000,
          note: 'batches of 1,000, then one search over all of them',
        },
        batches,
        async (i) => {
          await open?.storage.turns?.append(all.slice(i * 1000, i * 1000 + 1000));
          if (i === batches - 1) await open?.storage.turns?.search(SEARCH_TERMS.rare, { limit: 20 });
        },
        hooks,
      );
      await rec.fixed(
        { ...spec, operation: SINGLE },
        singles,
        (i) => open?.storage.turns?.append([all[i] as Turn]),
        hooks,
      );
    }

    // Peer in memory: LangGraph's InMemoryStore taking a batch of puts (no search index or rollups).
    try {
      const { InMemoryStore } = await import('@langchain/langgraph-checkpoint');
      let store = new InMemoryStore();
      const count = sizes.appendTurns.memory;
      const spec = {
        subject: 'LangGraph InMemoryStore',
        kind: 'peer' as const,
        klass: 'memory',
        note: 'batch of puts',
      };
      await rec.fixed(
        { ...spec, operation: BATCH, itemsPerOp: 1000 },
        Math.floor(count / 1000),
        (i) =>
          store.batch(
            all
              .slice(i * 1000, i * 1000 + 1000)
              .map((t) => ({ namespace: ['turns', t.sessionId], key: t.id, value: t })),
          ),
        {
          setup: () => {
            store = new InMemoryStore();
          },
        },
      );
    } catch (error) {
      rec.skip('LangGraph InMemoryStore', `does not load: ${(error as Error).message}`);
    }

    // Peer on disk: unstorage's fs driver, one file per turn.
    try {
      const { createStorage } = await import('unstorage');
      const { default: fsDriver } = await import('unstorage/drivers/fs');
      const dir = tempDir('unstorage-turns');
      const storage = createStorage({ driver: fsDriver({ base: dir.path }) });
      const count = Math.min(2_000, sizes.appendTurns.embedded);
      await rec.fixed(
        {
          operation: SINGLE,
          subject: 'unstorage fs',
          kind: 'peer',
          klass: 'embedded',
          note: 'a file per turn',
        },
        count,
        (i) => storage.setItem(`turns:${(all[i] as Turn).id}`, all[i] as Turn),
      );
      await rec.fixed(
        {
          operation: BATCH,
          subject: 'unstorage fs',
          kind: 'peer',
          klass: 'embedded',
          itemsPerOp: 1000,
          note: 'setItems',
        },
        Math.floor(count / 1000),
        (i) =>
          storage.setItems(all.slice(i * 1000, i * 1000 + 1000).map((t) => ({ key: `b:${t.id}`, value: t }))),
      );
      await storage.dispose();
      dir.remove();
    } catch (error) {
      rec.skip('unstorage fs', `does not load: ${(error as Error).message}`);
    }

    // Floor on PostgreSQL: the same batches as one bare multi-row INSERT each into a plain table
    // (fresh each run), without and with a tsvector column under a GIN index.
    if (adapters.some((a) => a.name === 'postgres')) {
      const raw = await openRawPostgres(1);
      if (raw) {
        try {
          for (const search of [false, true]) {
            let insert: (turns: readonly Turn[]) => Promise<unknown> = async () => {};
            await rec.fixed(
              {
                operation: BATCH,
                subject: search ? 'postgres.js multi-row INSERT + tsvector' : 'postgres.js multi-row INSERT',
                kind: 'floor',
                klass: 'server',
                engine: 'postgres',
                itemsPerOp: 1000,
                note: search
                  ? "to_tsvector('simple') under a GIN index; indexes on (session, at), (at)"
                  : 'indexes on (session, at), (at)',
              },
              Math.floor(sizes.appendTurns.server / 1000),
              (i) => insert(all.slice(i * 1000, i * 1000 + 1000)),
              {
                setup: async (run) => {
                  insert = await createRawTurnsTable(
                    raw,
                    `turns_${search ? 'search' : 'plain'}_${run}`,
                    search,
                  );
                },
              },
            );
          }
        } finally {
          await raw.close();
        }
      }
    }

    // Floors: cloning turns into an array; raw JSON-lines appends; raw SQLite inserts with FTS5.
    {
      const count = sizes.appendTurns.memory;
      let held: Turn[] = [];
      await rec.fixed(
        {
          operation: BATCH,
          subject: 'array push of structuredClone',
          kind: 'floor',
          klass: 'memory',
          itemsPerOp: 1000,
        },
        Math.floor(count / 1000),
        async (i) => {
          for (const t of all.slice(i * 1000, i * 1000 + 1000)) held.push(structuredClone(t));
        },
        {
          setup: () => {
            held = [];
          },
        },
      );
    }
    {
      const dir = tempDir('jsonl');
      const count = sizes.appendTurns.embedded;
      let fd = 0;
      const hooks = {
        setup: (run: number) => {
          fd = openSync(join(dir.path, `turns-${run}.jsonl`), 'a');
        },
        teardown: () => closeSync(fd),
      };
      await rec.fixed(
        {
          operation: BATCH,
          subject: 'raw JSON-lines append',
          kind: 'floor',
          klass: 'embedded',
          itemsPerOp: 1000,
          note: 'no fsync',
        },
        Math.floor(count / 1000),
        (i) => {
          let text = '';
          for (const t of all.slice(i * 1000, i * 1000 + 1000)) text += `${JSON.stringify(t)}\n`;
          writeSync(fd, text);
        },
        hooks,
      );
      await rec.fixed(
        {
          operation: SINGLE,
          subject: 'raw JSON-lines append',
          kind: 'floor',
          klass: 'embedded',
          note: 'no fsync',
        },
        Math.min(count, 2_000),
        (i) => writeSync(fd, `${JSON.stringify(all[i])}\n`),
        hooks,
      );
      dir.remove();
    }
    {
      const count = sizes.appendTurns.embedded;
      let raw: ReturnType<typeof openRawSqlite> | undefined;
      let insertBatch: (turns: Turn[]) => void = () => {};
      const hooks = {
        setup: () => {
          raw = openRawSqlite();
          const db = raw.db;
          db.exec(`CREATE TABLE turns (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, at INTEGER NOT NULL, persona TEXT,
            latency REAL, outcome TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX turns_session ON turns (session_id, at);
            CREATE INDEX turns_at ON turns (at);
            CREATE VIRTUAL TABLE turns_fts USING fts5 (user_input, assistant_response);`);
          const insert = db.prepare('INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?)');
          const fts = db.prepare(
            'INSERT INTO turns_fts (rowid, user_input, assistant_response) VALUES (last_insert_rowid(), ?, ?)',
          );
          insertBatch = db.transaction((turns: Turn[]) => {
            for (const t of turns) {
              insert.run(
                t.id,
                t.sessionId,
                t.at,
                t.persona ?? null,
                t.latencyMs ?? null,
                t.outcome,
                JSON.stringify(t),
              );
              fts.run(t.userInput, t.assistantResponse);
            }
          });
        },
        teardown: () => raw?.close(),
      };
      const subject = 'better-sqlite3 insert + FTS5';
      await rec.fixed(
        {
          operation: BATCH,
          subject,
          kind: 'floor',
          klass: 'embedded',
          itemsPerOp: 1000,
          note: 'one transaction',
        },
        Math.floor(count / 1000),
        (i) => insertBatch(all.slice(i * 1000, i * 1000 + 1000)),
        hooks,
      );
      await rec.fixed(
        { operation: SINGLE, subject, kind: 'floor', klass: 'embedded', note: 'autocommit' },
        Math.min(count, 2_000),
        (i) => insertBatch([all[i] as Turn]),
        hooks,
      );
    }
  },
};
