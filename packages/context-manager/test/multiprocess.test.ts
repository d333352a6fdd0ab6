import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '@convokit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createChatContextManager } from '../src/index.js';
import { alice, removeTempDirs, sqliteFactory, sqliteUnavailable, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const worker = join(here, 'fixtures', 'sqlite-worker.mjs');
const sqliteDist = join(pkg, 'node_modules', '@convokit', 'storage-sqlite', 'dist', 'index.js');
const ownDist = join(pkg, 'dist', 'index.js');
const coreDist = join(pkg, 'node_modules', '@convokit', 'core', 'dist', 'index.js');

function newestSource(dir: string): number {
  return Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
}

/** Why the several-processes test cannot run here, if it cannot. */
function unavailable(): string | undefined {
  if (sqliteUnavailable) return sqliteUnavailable;
  if (!existsSync(sqliteDist))
    return '@convokit/storage-sqlite is not built (the package test script builds it via turbo)';
  if (!existsSync(coreDist))
    return '@convokit/core is not built (the package test script builds it via turbo)';
  if (!existsSync(ownDist))
    return 'this package is not built: run `pnpm test` (tsup && vitest run) or `pnpm build`';
  if (statSync(ownDist).mtimeMs < newestSource(join(pkg, 'src'))) {
    return 'dist/ is older than src/: run `pnpm test` (tsup && vitest run) or `pnpm build`';
  }
  return undefined;
}

const reason = unavailable();
if (reason) console.warn(`[context-manager tests] skipping the several-processes test: ${reason}`);

function run(db: string, command: string, args: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, db, command, JSON.stringify(args)], {
      cwd: pkg,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill(), 90_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`worker ${command} exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>);
      } catch {
        reject(new Error(`worker ${command} printed no result: ${out} ${err}`));
      }
    });
  });
}

describe.skipIf(reason !== undefined)('two processes on one sqlite file', () => {
  it('concurrent updates to the same contexts lose nothing; a sweep in one is seen by the other', async () => {
    const db = join(tempDir(), 'shared.db');
    const storage = await sqliteFactory!({ path: db, clock: systemClock });
    const manager = createChatContextManager({ storage, sweepIntervalMs: 0 });
    const h = manager.as(alice);
    const ids = ['p1', 'p2', 'p3'];
    for (const id of ids) await h.create('session', { start: true }, { id });

    const rounds = 60;
    const startAt = Date.now() + 3000;
    const [a, b] = await Promise.all([
      run(db, 'update', { ids, worker: 'w1', rounds, startAt }),
      run(db, 'update', { ids, worker: 'w2', rounds, startAt }),
    ]);
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    for (const id of ids) {
      const c = (await h.get(id))!;
      expect(c.version).toBe(1 + 2 * rounds);
      const keys = Object.keys(c.data).filter((k) => k !== 'start');
      expect(keys).toHaveLength(2 * rounds);
      for (let i = 0; i < rounds; i++) {
        expect(c.data[`w1-${i}`]).toBe(i);
        expect(c.data[`w2-${i}`]).toBe(i);
      }
    }
    const updates = await manager.audit({ action: 'update' }, { limit: 1000 });
    expect(updates.items).toHaveLength(2 * rounds * ids.length);
    console.info(`[context-manager tests] cross-process CAS retries: w1 ${a.retries}, w2 ${b.retries}`);

    // an expiry: created here, swept by one process, gone for the other
    await h.create('session', { soon: true }, { id: 'short', ttlMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const swept = await run(db, 'sweep', { id: 'short' });
    expect(swept).toMatchObject({ ok: true, visible: false });
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    const checked = await run(db, 'check', { id: 'short' });
    expect(checked).toEqual({ ok: true, visible: false, recreatedVersion: 1 });
    const expired = await manager.audit({ action: 'expire', contextId: 'short' });
    expect(expired.items.map((e) => e.principal)).toEqual(['system']);
    expect((await h.get('short'))!.data).toEqual({ again: true });

    await manager.close();
    await storage.close();
  });
});
