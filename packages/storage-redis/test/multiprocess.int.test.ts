import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshStorage, reportSkip, url } from './support.js';

reportSkip('multiprocess.int.test.ts');

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('./children/worker.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const CONTEXTS = 10;
const UPDATES = 1000;

describe.skipIf(!url)('several processes on one Redis', () => {
  let ctx: ReturnType<typeof freshStorage>;
  /** Each worker's wins per context in the first test ("<id>/<worker>"). */
  const firstWins = new Map<string, number>();
  const call = async (command: Record<string, unknown>) => {
    const { stdout } = await run(
      process.execPath,
      [WORKER, JSON.stringify({ url, keyPrefix: ctx.storage.keyPrefix, ...command })],
      { timeout: 120_000 },
    );
    return JSON.parse(stdout.trim().split('\n').pop()!);
  };

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error(`build the package first (pnpm build): ${DIST} is missing`);
    ctx = freshStorage();
    const now = Date.now();
    for (let i = 0; i < CONTEXTS; i++) {
      await ctx.storage.contexts.create({
        id: `shared-${i}`,
        scope: 'global',
        ownerId: 'mp',
        data: {},
        metadata: {},
        version: 1,
        createdAt: now,
        updatedAt: now,
        accessCount: 0,
        lastAccessedAt: now,
      });
    }
  });
  afterAll(() => ctx?.drop());

  test('4 processes x 1,000 versioned updates on 10 contexts lose nothing', {
    timeout: 180_000,
  }, async () => {
    const results = await Promise.all(
      [0, 1, 2, 3].map((worker) => call({ action: 'updates', worker, updates: UPDATES, contexts: CONTEXTS })),
    );
    for (const r of results) expect(r.error).toBeUndefined();
    expect(results.reduce((n, r) => n + r.ok, 0)).toBe(4 * UPDATES);
    for (let i = 0; i < CONTEXTS; i++) {
      const id = `shared-${i}`;
      const wins = results.reduce((n, r) => n + (r.perContext[id] ?? 0), 0);
      const stored = (await ctx.storage.contexts.get(id))!;
      expect(stored.version).toBe(wins + 1);
      results.forEach((r, worker) => {
        firstWins.set(`${id}/${worker}`, r.perContext[id] ?? 0);
        expect(stored.data[`w${worker}`]).toBe(r.perContext[id]);
      });
    }
    console.log(
      `[storage-redis] multiprocess: ${results.reduce((n, r) => n + r.conflicts, 0)} conflicts retried`,
    );
  });

  test('4 processes x 1,000 versioned updates, each first read a checked one (versionChecked), lose nothing', {
    timeout: 180_000,
  }, async () => {
    const start = new Map<string, number>();
    for (let i = 0; i < CONTEXTS; i++)
      start.set(`shared-${i}`, (await ctx.storage.contexts.get(`shared-${i}`))!.version);
    const results = await Promise.all(
      [0, 1, 2, 3].map((worker) =>
        call({ action: 'updates', worker, updates: UPDATES, contexts: CONTEXTS, checked: true }),
      ),
    );
    for (const r of results) expect(r.error).toBeUndefined();
    expect(results.reduce((n, r) => n + r.ok, 0)).toBe(4 * UPDATES);
    for (const [id, version] of start) {
      const wins = results.reduce((n, r) => n + (r.perContext[id] ?? 0), 0);
      const stored = (await ctx.storage.contexts.get(id))!;
      expect(stored.version).toBe(version + wins);
      // Every win of every worker is in the data (the first test counted from zero too).
      results.forEach((r, worker) => {
        expect(stored.data[`w${worker}`]).toBe(
          (firstWins.get(`${id}/${worker}`) ?? 0) + (r.perContext[id] ?? 0),
        );
      });
    }
    // The path under test ran: some first reads were answered by a cached copy without a PING.
    const unchecked = results.reduce((n, r) => n + r.uncheckedHits, 0);
    expect(unchecked).toBeGreaterThan(0);
    console.log(
      `[storage-redis] multiprocess, checked reads: ${results.reduce((n, r) => n + r.conflicts, 0)} conflicts retried, ${unchecked} first reads from the cache unconfirmed`,
    );
  });

  test('a context expired by one process is invisible to the others', async () => {
    expect(await call({ action: 'see', id: 'shared-0' })).toEqual({ visible: true, count: CONTEXTS });
    expect(await call({ action: 'expire', id: 'shared-0' })).toEqual({ expired: 'shared-0' });
    const seen = await Promise.all([1, 2, 3].map(() => call({ action: 'see', id: 'shared-0' })));
    expect(seen).toEqual([1, 2, 3].map(() => ({ visible: false, count: CONTEXTS - 1 })));
    expect(await ctx.storage.contexts.get('shared-0')).toBeUndefined();
  });

  test('an audit event written by one process is listed by another', async () => {
    const event = {
      id: 'mp-ev-1',
      at: Date.now(),
      principal: 'p1',
      action: 'update',
      contextId: 'shared-1',
      scope: 'global',
      outcome: 'ok',
      changedKeys: ['last'],
      version: 2,
    };
    expect(await call({ action: 'audit', event })).toEqual({ appended: 'mp-ev-1' });
    expect(await call({ action: 'listAudit', contextId: 'shared-1' })).toEqual({ ids: ['mp-ev-1'] });
  });
});
