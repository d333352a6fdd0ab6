import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateTurns } from '../src/aggregate.js';
import { createSqliteStorage } from '../src/index.js';
import { openConnection } from '../src/storage.js';
import { buildChild } from './fixtures/build-child.js';

type Message =
  | { type: 'open' }
  | { type: 'turns'; round: number; batch: number; size: number }
  | { type: 'context'; id: string; version: number; n: number }
  | { type: 'error'; message: string };

const ROUNDS = 20;
let dir = '';
let child = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-sqlite-crash-'));
  child = await buildChild('crash-child');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until it has acknowledged something, then SIGKILLs it a random moment later. */
function runAndKill(path: string, round: number, acks: Message[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc: ChildProcess = fork(child, [path, String(round)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    proc.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    let armed = false;
    proc.on('message', (message: Message) => {
      if (message.type === 'error') reject(new Error(`writer failed: ${message.message}`));
      else if (message.type !== 'open') acks.push(message);
      if (message.type === 'turns' && !armed) {
        armed = true;
        setTimeout(() => proc.kill('SIGKILL'), 5 + Math.floor(Math.random() * 250));
      }
    });
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited with ${code ?? signal} before the kill: ${stderr}`));
    });
  });
}

describe('crash safety: a writer SIGKILLed at random moments', () => {
  it(`keeps every acknowledged write, whole batches only, over ${ROUNDS} kills`, async () => {
    const path = join(dir, 'crash.db');
    const ackedBatches = new Map<string, number>();
    const ackedVersions = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const acks: Message[] = [];
      await runAndKill(path, round, acks);
      for (const ack of acks) {
        if (ack.type === 'turns') ackedBatches.set(`r${ack.round}-b${ack.batch}`, ack.size);
        if (ack.type === 'context') {
          expect(ack.n).toBe(ack.version);
          ackedVersions.set(ack.id, Math.max(ackedVersions.get(ack.id) ?? 0, ack.version));
        }
      }

      // Reopens cleanly (recovering the WAL) and holds every acknowledged write.
      const storage = createSqliteStorage({ path });
      try {
        const stored = new Map<string, number>();
        let cursor: string | null = null;
        do {
          const page = await storage.turns.list(
            { sessionId: `s${round}` },
            { limit: 1000, cursor: cursor ?? undefined },
          );
          for (const turn of page.items) {
            const batch = turn.id.slice(0, turn.id.lastIndexOf('-'));
            stored.set(batch, (stored.get(batch) ?? 0) + 1);
          }
          cursor = page.nextCursor;
        } while (cursor);
        for (const [batch, size] of ackedBatches) {
          if (batch.startsWith(`r${round}-`)) expect(stored.get(batch), batch).toBe(size);
        }
        // A batch is all or nothing, acknowledged or not: sizes follow 1 + (batch % 7) * 20.
        for (const [batch, count] of stored) {
          const b = Number(batch.slice(batch.indexOf('-b') + 2));
          expect(count, batch).toBe(1 + (b % 7) * 20);
        }
        for (const [id, version] of ackedVersions) {
          const context = await storage.contexts.get(id);
          expect(context, id).toBeDefined();
          expect(context!.version).toBeGreaterThanOrEqual(version);
          // data.n and the version move together in one write: never one without the other.
          expect(context!.data.n).toBe(context!.version);
        }
      } finally {
        await storage.close();
      }
    }

    const raw = new Database(path);
    try {
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      raw.prepare("INSERT INTO turns_fts (turns_fts) VALUES ('integrity-check')").run();
      const { total, uniq } = raw
        .prepare('SELECT COUNT(*) AS total, COUNT(DISTINCT id) AS uniq FROM turns')
        .get() as {
        total: number;
        uniq: number;
      };
      expect(total).toBe(uniq);
      expect(total).toBeGreaterThanOrEqual([...ackedBatches.values()].reduce((a, b) => a + b, 0));
    } finally {
      raw.close();
    }

    // Rollups were written in the same transactions as the turns: they still match a scan.
    const conn = openConnection({ path });
    try {
      const spec = {
        groupBy: ['persona' as const],
        measures: ['count' as const, 'latencyP95' as const, 'lastAt' as const],
      };
      const viaRollups = await aggregateTurns(conn, spec);
      expect(viaRollups.rows.length).toBe(2);
      expect(viaRollups).toEqual(await aggregateTurns(conn, spec, 'test', { plan: 'base' }));
      const search = await aggregateTurns(conn, { filter: { framework: 'swot' }, measures: ['count'] });
      expect(search).toEqual(
        await aggregateTurns(conn, { filter: { framework: 'swot' }, measures: ['count'] }, 'test', {
          plan: 'base',
        }),
      );
    } finally {
      conn.db.close();
    }
  }, 120_000);
});
