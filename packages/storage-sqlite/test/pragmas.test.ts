import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConvokitError } from '@convokit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';
import {
  DEFAULT_CACHE_SIZE_MIB,
  DEFAULT_MMAP_SIZE_MIB,
  DEFAULT_WAL_AUTOCHECKPOINT_PAGES,
  openConnection,
} from '../src/storage.js';

const MIB = 1024 * 1024;

function caught(fn: () => unknown): ConvokitError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConvokitError) return error;
    throw error;
  }
  throw new Error('expected a ConvokitError');
}

describe('page cache and memory map', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cvk-sqlite-pragmas-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to a 64 MiB cache and a 1 GiB map', () => {
    expect([DEFAULT_CACHE_SIZE_MIB, DEFAULT_MMAP_SIZE_MIB]).toEqual([64, 1024]);
    const conn = openConnection({ path: join(dir, 'default.db') });
    try {
      // A negative cache_size is KiB.
      expect(conn.db.pragma('cache_size', { simple: true })).toBe(-64 * 1024);
      expect(conn.db.pragma('mmap_size', { simple: true })).toBe(1024 * MIB);
      expect(conn.db.pragma('wal_autocheckpoint', { simple: true })).toBe(DEFAULT_WAL_AUTOCHECKPOINT_PAGES);
    } finally {
      conn.db.close();
    }
  });

  it('takes both sizes from the options; 0 turns the map off', () => {
    const conn = openConnection({
      path: join(dir, 'sized.db'),
      cacheSizeMiB: 8,
      mmapSizeMiB: 0,
      walAutocheckpointPages: 500,
    });
    try {
      expect(conn.db.pragma('wal_autocheckpoint', { simple: true })).toBe(500);
      expect(conn.db.pragma('cache_size', { simple: true })).toBe(-8 * 1024);
      expect(conn.db.pragma('mmap_size', { simple: true })).toBe(0);
    } finally {
      conn.db.close();
    }
    const big = openConnection({ path: join(dir, 'sized.db'), mmapSizeMiB: 2047, readonly: true });
    try {
      expect(big.db.pragma('mmap_size', { simple: true })).toBe(2047 * MIB);
    } finally {
      big.db.close();
    }
  });

  it('reads and writes the same through the map as without it', async () => {
    const path = join(dir, 'mapped.db');
    const turn = (i: number) => ({
      id: `t${String(i).padStart(4, '0')}`,
      sessionId: `s${i % 3}`,
      at: 1_700_000_000_000 + i * 1000,
      userInput: `question ${i}`,
      assistantResponse: 'answer '.repeat(i % 50),
      frameworks: i % 2 ? ['okr'] : [],
      tools: [],
      mcpServers: [],
      outcome: 'ok' as const,
    });
    const mapped = createSqliteStorage({ path, mmapSizeMiB: 1 });
    await mapped.turns.append(Array.from({ length: 300 }, (_, i) => turn(i)));
    const plain = createSqliteStorage({ path, mmapSizeMiB: 0, readonly: true });
    try {
      const page = { limit: 20, order: 'desc' } as const;
      const viaMap = await mapped.turns.list({ sessionId: 's1' }, page);
      expect(viaMap.items.map((t) => t.id)).toEqual(
        Array.from({ length: 20 }, (_, k) => turn(298 - 3 * k).id),
      );
      expect(await plain.turns.list({ sessionId: 's1' }, page)).toEqual(viaMap);
      // A write through one handle is seen by the other, also once checkpointed into the mapped file.
      await mapped.turns.append([turn(301)]);
      expect((await plain.turns.list({ sessionId: 's1' }, page)).items[0]?.id).toBe('t0301');
      const checkpoint = openConnection({ path });
      checkpoint.db.pragma('wal_checkpoint(TRUNCATE)');
      checkpoint.db.close();
      expect((await mapped.turns.list({ sessionId: 's1' }, page)).items[0]?.id).toBe('t0301');
      expect(await mapped.turns.list({ sessionId: 's1' }, page)).toEqual(
        await plain.turns.list({ sessionId: 's1' }, page),
      );
    } finally {
      await plain.close();
      await mapped.close();
    }
  });

  it('refuses sizes out of range with VALIDATION naming the option', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ cacheSizeMiB: 0 }, 'cacheSizeMiB'],
      [{ cacheSizeMiB: 1.5 }, 'cacheSizeMiB'],
      [{ cacheSizeMiB: 2 ** 21 }, 'cacheSizeMiB'],
      [{ mmapSizeMiB: -1 }, 'mmapSizeMiB'],
      [{ mmapSizeMiB: 2048 }, 'mmapSizeMiB'],
      [{ mmapSizeMiB: '64' }, 'mmapSizeMiB'],
      [{ walAutocheckpointPages: 0 }, 'walAutocheckpointPages'],
      [{ walAutocheckpointPages: 2 ** 31 }, 'walAutocheckpointPages'],
    ];
    for (const [options, field] of cases) {
      const error = caught(() => createSqliteStorage({ path: join(dir, 'bad.db'), ...options } as never));
      expect(error.code).toBe('VALIDATION');
      expect(error.details.issues).toEqual([expect.objectContaining({ path: field })]);
    }
  });
});
