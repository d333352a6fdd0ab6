import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Turn } from '@convokit/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStorage, SCHEMA_VERSION } from '../src/index.js';
import { MIGRATIONS } from '../src/migrations.js';

const T = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;

/** The schema version this step brings: the index of its step, plus one. */
const TURNS_VERSION =
  MIGRATIONS.findIndex((m) => m.description === 'turns version counter (optional TurnStore.version)') + 1;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-turns-version-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function turn(id: string, at = T): Turn {
  return {
    id,
    sessionId: 's1',
    at,
    userInput: 'hello',
    assistantResponse: 'hi',
    frameworks: [],
    tools: [],
    mcpServers: [],
    outcome: 'ok',
  };
}

describe('the turns version (migration and several connections)', () => {
  it('migrates a database of the version before: turns kept, the version starts at 0', async () => {
    expect(TURNS_VERSION).toBe(6);
    const path = join(dir, 'old.db');
    const seeded = createSqliteStorage({ path });
    await seeded.turns!.append([turn('a'), turn('b', T + 1)]);
    await seeded.close();
    // Today's schema with this step undone, at the version before it.
    const db = new Database(path);
    db.exec(`DROP TABLE turns_version; PRAGMA user_version = ${TURNS_VERSION - 1};`);
    db.close();

    await using storage = createSqliteStorage({ path });
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
    const turns = storage.turns!;
    expect(await turns.count()).toBe(2);
    expect(await turns.version!()).toBe(0);
    expect((await turns.append([turn('c', T + 2)])).version).toBe(1);
  });

  it('every connection to the file sees every change, and each append reads its own step', async () => {
    const path = join(dir, 'shared.db');
    await using one = createSqliteStorage({ path });
    await using two = createSqliteStorage({ path });
    const [a, b] = [one.turns!, two.turns!];
    expect(await a.version!()).toBe(0);
    expect((await a.append([turn('old', T - 2 * DAY)])).version).toBe(1);
    expect(await b.version!()).toBe(1);
    expect((await b.append([turn('new')])).version).toBe(2);
    expect(await b.deleteBefore(T - DAY)).toBe(1);
    expect(await a.version!()).toBe(3);
    // Concurrent appends from both connections: each gets a distinct step, none is lost.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).append([turn(`t${i}`, T + i)])),
    );
    expect(results.map((r) => r.version).sort((x, y) => x! - y!)).toEqual(
      Array.from({ length: 10 }, (_, i) => 4 + i),
    );
    expect(await b.version!()).toBe(13);
  });
});
