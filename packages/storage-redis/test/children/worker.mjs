// A separate process with its own storage, driven by the multi-process test.
// Usage: node worker.mjs '<json command>'; prints one JSON line with the result.
import { createRedisStorage } from '../../dist/index.js';

const cmd = JSON.parse(process.argv[2]);
const storage = createRedisStorage({ url: cmd.url, keyPrefix: cmd.keyPrefix });

async function updates() {
  let ok = 0;
  let conflicts = 0;
  const perContext = {};
  for (let i = 0; i < cmd.updates; i++) {
    const id = `shared-${(i + cmd.worker) % cmd.contexts}`;
    // With cmd.checked the first read of each update may be the cache's copy unconfirmed
    // (versionChecked, as the context manager reads); a lost compare-and-set reads again plainly.
    for (let attempt = 1; ; attempt++) {
      const current = await storage.contexts.get(
        id,
        cmd.checked && attempt === 1 ? { versionChecked: true } : {},
      );
      try {
        // Each worker counts its own wins in the data: a lost update would lose a count.
        const key = `w${cmd.worker}`;
        const data = { ...current.data, [key]: (current.data[key] ?? 0) + 1 };
        await storage.contexts.update(id, current.version, { data }, Date.now());
        ok += 1;
        perContext[id] = (perContext[id] ?? 0) + 1;
        break;
      } catch (error) {
        if (error.code !== 'CONFLICT') throw error;
        conflicts += 1;
      }
    }
  }
  return { ok, conflicts, perContext, uncheckedHits: storage.cacheStats()?.uncheckedHits ?? 0 };
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
  audit: async () => {
    await storage.audit.append([cmd.event]);
    return { appended: cmd.event.id };
  },
  listAudit: async () => ({
    ids: (await storage.audit.list({ contextId: cmd.contextId })).items.map((e) => e.id),
  }),
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
