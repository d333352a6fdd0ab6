import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Turn } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createFileStorage, type FsyncPolicy } from '../src/index.js';
import { forkWriter } from './child.js';
import { tempDirectory } from './helpers.js';

const ROUNDS = 24;
const POLICIES: FsyncPolicy[] = ['batch', 'always', 'never'];

/** Every turn id in the store's files (snapshot, then log), in file order, repeats kept. */
function turnIdsOnDisk(directory: string): string[] {
  const ids: string[] = [];
  for (const name of readdirSync(directory)
    .filter((n) => /^(snapshot|log)-\d+\.jsonl$/.test(n))
    .sort((a, b) =>
      a.startsWith('snapshot') === b.startsWith('snapshot')
        ? a.localeCompare(b)
        : a.startsWith('snapshot')
          ? -1
          : 1,
    )) {
    for (const line of readFileSync(join(directory, name), 'utf8').split('\n')) {
      if (line === '') continue;
      const { m } = JSON.parse(line) as { m: { type: string; turns?: Turn[] } };
      if (m.type === 'turns.append') ids.push(...(m.turns ?? []).map((t) => t.id));
    }
  }
  return ids;
}

async function allTurns(storage: Awaited<ReturnType<typeof createFileStorage>>): Promise<Turn[]> {
  const turns: Turn[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.turns.list({}, { order: 'asc', limit: 1000, ...(cursor ? { cursor } : {}) });
    turns.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return turns;
}

describe('crash safety', () => {
  it(`keeps every acknowledged write across ${ROUNDS} SIGKILLs at random moments`, {
    timeout: 90_000,
  }, async () => {
    const directory = tempDirectory();
    const seed = Date.now() % 1_000_000;
    let state = seed;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const ackedContextVersion = new Map<string, number>();
    let ackedTurns = 0;
    let ackedRounds = 0;
    let compactions = 0;

    let next = forkWriter('crash', directory);
    for (let round = 1; round <= ROUNDS; round++) {
      const policy = POLICIES[round % POLICIES.length] as FsyncPolicy;
      const writer = next;
      await writer.next('ready');
      writer.send({ round, fsync: policy, compactAfter: 40 });
      // Sometimes while opening (lock takeover, replay, repair), mostly while writing.
      const opened = random() < 0.2 ? undefined : await writer.next('opened');
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * (opened ? 120 : 40))));
      await writer.kill();
      // Started now, so its start-up overlaps the checks below; it touches nothing until told.
      if (round < ROUNDS) next = forkWriter('crash', directory);
      const where = `round ${round} (seed ${seed}, fsync ${policy})`;

      let maxAckedBatch = 0;
      for (const message of writer.messages) {
        if (message.type === 'turns') {
          maxAckedBatch = Math.max(maxAckedBatch, message.i as number);
          ackedTurns += message.count as number;
        } else if (message.type === 'context') {
          const id = message.id as string;
          ackedContextVersion.set(id, Math.max(ackedContextVersion.get(id) ?? 0, message.version as number));
        }
      }
      if (maxAckedBatch > 0) ackedRounds++;

      const storage = await createFileStorage({ directory, compactAfterRecords: false });
      if (writer.messages.some((m) => m.type === 'opened')) {
        expect(storage.recovery.staleLockTakenOver?.pid, where).toBe(writer.child.pid);
      }
      compactions = Math.max(compactions, storage.recovery.generation);

      // Turns: each round's batches are stored whole, without holes, up to at least the last
      // acknowledged one (the one in flight at the kill may be there too).
      const turns = await allTurns(storage);
      const batches = new Map<number, number>();
      for (const t of turns) {
        const [r, i] = t.id.slice(1).split('-').map(Number) as [number, number];
        if (r === round) batches.set(i, (batches.get(i) ?? 0) + 1);
      }
      const storedBatches = [...batches.keys()].sort((a, b) => a - b);
      const lastStored = storedBatches.at(-1) ?? 0;
      expect(lastStored, where).toBeGreaterThanOrEqual(maxAckedBatch);
      expect(lastStored - maxAckedBatch, where).toBeLessThanOrEqual(2);
      const expectedBatches: number[] = [];
      for (let i = 1; i <= lastStored; i += 2) expectedBatches.push(i);
      expect(storedBatches, where).toEqual(expectedBatches);
      for (const [i, count] of batches) expect(count, `${where} batch ${i}`).toBe(1 + (i % 5));

      // Nothing duplicated, in the store or in its files.
      const ids = turns.map((t) => t.id);
      expect(new Set(ids).size, where).toBe(ids.length);
      expect(await storage.turns.count(), where).toBe(ids.length);
      const onDisk = turnIdsOnDisk(directory);
      expect(onDisk.length, where).toBe(ids.length);
      expect(new Set(onDisk).size, where).toBe(onDisk.length);

      // Contexts: at least the acknowledged version, and data written with that very version.
      for (const [id, version] of ackedContextVersion) {
        const context = await storage.contexts.get(id);
        expect(context?.version, `${where} ${id}`).toBeGreaterThanOrEqual(version);
        expect(context?.data.v, `${where} ${id}`).toBe(context?.version);
      }
      await storage.close();
    }
    // The kills landed while writing, not only during start-up, and compactions happened between.
    expect(ackedRounds).toBeGreaterThanOrEqual(ROUNDS / 2);
    expect(ackedTurns).toBeGreaterThan(100);
    expect(compactions).toBeGreaterThan(0);
  });
});
