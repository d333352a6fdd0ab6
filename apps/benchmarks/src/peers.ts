import { join } from 'node:path';
import { tempDir } from './adapters.js';
import { reasonOf, trapped } from './stray.js';

/**
 * Other libraries' stores, measured in the same run on the same operations and data. Each is
 * driven the way its documentation shows; a peer that does not load here, or fails while it is
 * measured, is skipped with the reason (for instance @keyv/sqlite needs the sqlite3 native build,
 * which pnpm runs because sqlite3 is listed in onlyBuiltDependencies; where that build is missing
 * or broken, the peer is left out and the rest of the run goes on).
 */

export interface KvPeer {
  subject: string;
  klass: 'memory' | 'embedded';
  note?: string;
  get(key: string): Promise<unknown>;
  set(key: string, value: Record<string, unknown>): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  close(): Promise<void>;
}

export interface PeerSet<T> {
  peers: T[];
  skipped: { subject: string; reason: string }[];
}

/**
 * Opens one peer, or records why it cannot run here. The setup is trapped (see stray.ts): a peer
 * whose native addon fails to load in a callback, or that emits an unheard error, is skipped with
 * that reason instead of ending the run.
 */
async function attempt<T extends { close(): Promise<void> }>(
  subject: string,
  make: () => Promise<NoInfer<T>>,
  out: PeerSet<T>,
): Promise<void> {
  try {
    out.peers.push(await trapped(make, { discard: (peer) => peer.close() }));
  } catch (error) {
    out.skipped.push({ subject, reason: `does not load or run here: ${reasonOf(error)}` });
  }
}

/** Key-value peers for context get/set/delete. `embedded` ones write to a temporary directory. */
export async function openKvPeers(options: { embedded: boolean; memory: boolean }): Promise<PeerSet<KvPeer>> {
  const out: PeerSet<KvPeer> = { peers: [], skipped: [] };
  if (options.memory) {
    await attempt(
      'keyv Map',
      async () => {
        const { default: Keyv } = await import('keyv');
        const keyv = new Keyv();
        return {
          subject: 'keyv Map',
          klass: 'memory',
          note: 'default Map store, serializes values',
          get: (key) => keyv.get(key),
          set: (key, value) => keyv.set(key, value),
          delete: (key) => keyv.delete(key),
          close: async () => {},
        } satisfies KvPeer;
      },
      out,
    );
    await attempt(
      'LangGraph InMemoryStore',
      async () => {
        const { InMemoryStore } = await import('@langchain/langgraph-checkpoint');
        const store = new InMemoryStore();
        const ns = ['contexts'];
        return {
          subject: 'LangGraph InMemoryStore',
          klass: 'memory',
          note: 'hands out live references',
          get: (key) => store.get(ns, key),
          set: (key, value) => store.put(ns, key, value),
          delete: (key) => store.delete(ns, key),
          close: async () => {},
        } satisfies KvPeer;
      },
      out,
    );
    await attempt(
      'unstorage memory',
      async () => {
        const { createStorage } = await import('unstorage');
        const storage = createStorage();
        return {
          subject: 'unstorage memory',
          klass: 'memory',
          get: (key) => storage.getItem(key),
          set: (key, value) => storage.setItem(key, value),
          delete: (key) => storage.removeItem(key),
          close: () => storage.dispose(),
        } satisfies KvPeer;
      },
      out,
    );
  }
  if (options.embedded) {
    await attempt(
      'keyv + @keyv/sqlite (WAL)',
      async () => {
        const { default: Keyv } = await import('keyv');
        const { default: KeyvSqlite } = await import('@keyv/sqlite');
        const dir = tempDir('keyv');
        const store = new KeyvSqlite({ uri: `sqlite://${join(dir.path, 'keyv.db')}` });
        // Its errors also come as 'error' events; heard here, they reach us as rejected calls.
        store.on('error', () => {});
        await store.query('PRAGMA journal_mode=WAL');
        await store.query('PRAGMA synchronous=NORMAL');
        const keyv = new Keyv({ store, throwOnErrors: true });
        keyv.on('error', () => {});
        await keyv.set('warm', 1);
        return {
          subject: 'keyv + @keyv/sqlite (WAL)',
          klass: 'embedded',
          get: (key) => keyv.get(key),
          set: (key, value) => keyv.set(key, value),
          delete: (key) => keyv.delete(key),
          close: async () => {
            await keyv.disconnect();
            dir.remove();
          },
        } satisfies KvPeer;
      },
      out,
    );
    await attempt(
      'LangGraph SqliteSaver',
      async () => {
        const { SqliteSaver } = await import('@langchain/langgraph-checkpoint-sqlite');
        const { emptyCheckpoint, uuid6 } = await import('@langchain/langgraph-checkpoint');
        const dir = tempDir('langgraph');
        const saver = SqliteSaver.fromConnString(join(dir.path, 'checkpoints.db'));
        const config = (key: string) => ({ configurable: { thread_id: key, checkpoint_ns: '' } });
        return {
          subject: 'LangGraph SqliteSaver',
          klass: 'embedded',
          note: 'a checkpoint per thread; get = getTuple, set = put',
          get: (key) => saver.getTuple(config(key)),
          set: (key, value) =>
            saver.put(
              config(key),
              { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { context: value } },
              { source: 'update', step: 1, parents: {} },
            ),
          delete: (key) => saver.deleteThread(key),
          close: async () => {
            saver.db.close();
            dir.remove();
          },
        } satisfies KvPeer;
      },
      out,
    );
    await attempt(
      'unstorage fs',
      async () => {
        const { createStorage } = await import('unstorage');
        const { default: fsDriver } = await import('unstorage/drivers/fs');
        const dir = tempDir('unstorage');
        const storage = createStorage({ driver: fsDriver({ base: dir.path }) });
        return {
          subject: 'unstorage fs',
          klass: 'embedded',
          get: (key) => storage.getItem(key),
          set: (key, value) => storage.setItem(key, value),
          delete: (key) => storage.removeItem(key),
          close: async () => {
            await storage.dispose();
            dir.remove();
          },
        } satisfies KvPeer;
      },
      out,
    );
  }
  return out;
}

export async function closePeers(peers: { close(): Promise<void> }[]): Promise<void> {
  for (const peer of peers) await peer.close().catch(() => {});
}
