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

describe.skipIf(!url)('several processes on one database (postgres)', () => {
  let ctx: ReturnType<typeof freshStorage>;
  const call = async (command: Record<string, unknown>) => {
    const { stdout } = await run(
      process.execPath,
      [WORKER, JSON.stringify({ url, schema: ctx.storage.schema, ...command })],
      {
        timeout: 120_000,
      },
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
      const stored = await ctx.storage.contexts.get(id);
      expect(stored!.version).toBe(wins + 1);
    }
    console.log(
      `[storage-postgres] multiprocess: ${results.reduce((n, r) => n + r.conflicts, 0)} conflicts retried`,
    );
  });

  test('a context expired by one process is invisible to the others', async () => {
    expect(await call({ action: 'see', id: 'shared-0' })).toEqual({ visible: true, count: CONTEXTS });
    expect(await call({ action: 'expire', id: 'shared-0' })).toEqual({ expired: 'shared-0' });
    const seen = await Promise.all([1, 2, 3].map(() => call({ action: 'see', id: 'shared-0' })));
    expect(seen).toEqual([1, 2, 3].map(() => ({ visible: false, count: CONTEXTS - 1 })));
    expect(await ctx.storage.contexts.get('shared-0')).toBeUndefined();
  });

  test('a turn recorded through one process is counted by another', async () => {
    const turn = {
      id: 'mp-turn-1',
      sessionId: 'mp-session',
      at: Date.UTC(2026, 2, 2),
      userInput: 'q',
      assistantResponse: 'a',
      frameworks: [],
      tools: [],
      mcpServers: [],
      outcome: 'ok',
    };
    expect(await call({ action: 'countTurns', sessionId: 'mp-session' })).toEqual({ count: 0 });
    const before = await ctx.storage.turns.version!();
    expect(await call({ action: 'append', turn })).toEqual({
      appended: 1,
      skippedIds: [],
      version: before + 1,
    });
    expect(await call({ action: 'countTurns', sessionId: 'mp-session' })).toEqual({ count: 1 });
  });

  test('3 processes appending at once: every append gets its own version, one apart, none lost', {
    timeout: 120_000,
  }, async () => {
    const turn = {
      sessionId: 'mp-versions',
      at: Date.UTC(2026, 2, 3),
      userInput: 'q',
      assistantResponse: 'a',
      frameworks: ['x'],
      tools: [],
      mcpServers: [],
      outcome: 'ok',
    };
    const start = await ctx.storage.turns.version!();
    const count = 40;
    const results = await Promise.all(
      ['p0', 'p1', 'p2'].map((prefix) => call({ action: 'appendMany', prefix, count, turn })),
    );
    for (const r of results) expect(r.error).toBeUndefined();
    const versions = results.flatMap((r) => r.versions as number[]).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 3 * count }, (_, i) => start + 1 + i));
    expect(await ctx.storage.turns.version!()).toBe(start + 3 * count);
    expect(await ctx.storage.turns.count({ sessionId: 'mp-versions' })).toBe(3 * count);
  });
});
