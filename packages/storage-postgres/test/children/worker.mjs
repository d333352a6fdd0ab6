// A separate process with its own storage, driven by the multi-process test.
// Usage: node worker.mjs '<json command>'; prints one JSON line with the result.
import { createPostgresStorage } from '../../dist/index.js';

const cmd = JSON.parse(process.argv[2]);
const storage = createPostgresStorage({ url: cmd.url, schema: cmd.schema, pool: { max: 2 } });

async function updates() {
  let ok = 0;
  let conflicts = 0;
  const perContext = {};
  for (let i = 0; i < cmd.updates; i++) {
    const id = `shared-${(i + cmd.worker) % cmd.contexts}`;
    for (;;) {
      const current = await storage.contexts.get(id);
      try {
        await storage.contexts.update(id, current.version, { data: { last: cmd.worker, i } }, Date.now());
        ok += 1;
        perContext[id] = (perContext[id] ?? 0) + 1;
        break;
      } catch (error) {
        if (error.code !== 'CONFLICT') throw error;
        conflicts += 1;
      }
    }
  }
  return { ok, conflicts, perContext };
}

const actions = {
  updates,
  expire: async () => {
    const c = await storage.contexts.get(cmd.id);
    await storage.contexts.update(cmd.id, c.version, { expiresAt: Date.now() }, Date.now());
    return { expired: cmd.id };
  },
  see: async () => ({
    visible: (await storage.contexts.get(cmd.id)) !== undefined,
    count: await storage.contexts.count({ ownerId: 'mp' }),
  }),
  append: async () => storage.turns.append([cmd.turn]),
  // Two streams of one-turn appends at once (the pool has two connections): the versions returned.
  appendMany: async () => {
    const versions = [];
    const stream = async (k) => {
      for (let i = k; i < cmd.count; i += 2) {
        const result = await storage.turns.append([
          { ...cmd.turn, id: `${cmd.prefix}-${i}`, at: cmd.turn.at + i },
        ]);
        versions.push(result.version);
      }
    };
    await Promise.all([stream(0), stream(1)]);
    return { versions };
  },
  countTurns: async () => ({ count: await storage.turns.count({ sessionId: cmd.sessionId }) }),
};

try {
  const result = await actions[cmd.action]();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
  process.exitCode = 1;
} finally {
  await storage.close();
}
