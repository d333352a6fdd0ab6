import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';
import { buildChild } from './fixtures/build-child.js';

const WORKERS = 4;
const UPDATES = 1000;
const CONTEXTS = 10;

interface Done {
  type: 'done';
  worker: number;
  perContext: number[];
  conflicts: number;
}

let dir = '';
let child = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-sqlite-contend-'));
  child = await buildChild('contend-child');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runWorker(path: string, worker: number): Promise<Done> {
  return new Promise((resolve, reject) => {
    const proc = fork(child, [path, String(worker), String(UPDATES), String(CONTEXTS)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let done: Done | undefined;
    proc.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    proc.on('message', (message: Done | { type: 'error'; message: string }) => {
      if (message.type === 'done') done = message;
      else reject(new Error(`worker ${worker} failed: ${message.message}`));
    });
    proc.on('exit', (code) =>
      done && code === 0 ? resolve(done) : reject(new Error(`worker ${worker} exited ${code}: ${stderr}`)),
    );
  });
}

describe('several processes updating shared contexts', () => {
  it(`${WORKERS} processes x ${UPDATES} versioned updates on ${CONTEXTS} contexts lose no update`, async () => {
    const path = join(dir, 'shared.db');
    const setup = createSqliteStorage({ path });
    for (let i = 0; i < CONTEXTS; i++) {
      await setup.contexts.create({
        id: `shared-${i}`,
        scope: 'global',
        data: { count: 0 },
        metadata: {},
        version: 1,
        createdAt: 0,
        updatedAt: 0,
        accessCount: 0,
        lastAccessedAt: 0,
      });
    }
    await setup.close();

    const results = await Promise.all(Array.from({ length: WORKERS }, (_, w) => runWorker(path, w)));

    const storage = createSqliteStorage({ path });
    try {
      let total = 0;
      for (let i = 0; i < CONTEXTS; i++) {
        const successes = results.reduce((sum, r) => sum + r.perContext[i]!, 0);
        const context = await storage.contexts.get(`shared-${i}`);
        // One version per successful update, and each update saw the previous one's count.
        expect(context!.version).toBe(1 + successes);
        expect(context!.data.count).toBe(successes);
        total += successes;
      }
      expect(total).toBe(WORKERS * UPDATES);
      const conflicts = results.reduce((sum, r) => sum + r.conflicts, 0);
      console.log(`${WORKERS * UPDATES} updates, ${conflicts} conflicts retried`);
    } finally {
      await storage.close();
    }
  }, 120_000);
});
