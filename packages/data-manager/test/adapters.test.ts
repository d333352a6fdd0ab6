import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConversationalQueryInput, createManualClock, type Storage } from '@convokit/core';
import { createFileStorage } from '@convokit/storage-file';
import { createMemoryStorage } from '@convokit/storage-memory';
import { createSqliteStorage } from '@convokit/storage-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConversationalDataManager, createConversationalDataManager } from '../src/index.js';
import { FULL, fixtureTurns, NOW, W3 } from './fixtures.js';

/**
 * The same fixture through memory, file and sqlite storage must give the same responses (timing
 * fields aside): the manager computes only through the contract, and every adapter implements it
 * the same way.
 */
const dir = mkdtempSync(join(tmpdir(), 'convokit-dm-'));
const clock = createManualClock(NOW);
const stores: Array<{ name: string; storage: Storage; manager: ConversationalDataManager }> = [];

beforeAll(async () => {
  const all: Array<[string, Storage]> = [
    ['memory', createMemoryStorage({ clock })],
    [
      'file',
      await createFileStorage({ directory: join(dir, 'file'), createDirectory: true, clock, fsync: 'never' }),
    ],
    ['sqlite', createSqliteStorage({ path: join(dir, 'turns.db'), clock })],
  ];
  for (const [name, storage] of all) {
    const manager = createConversationalDataManager({
      storage,
      clock,
      insights: {
        thresholds: { minTurns: 3, minLatencySamples: 3, minFrameworkDetections: 3, minPairTurns: 2 },
      },
    });
    await manager.recordTurns(fixtureTurns());
    stores.push({ name, storage, manager });
  }
});

afterAll(async () => {
  for (const { manager, storage } of stores) {
    await manager.close();
    await storage.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Drops what may differ between runs: timings and the manager's own figures. */
function comparable(response: unknown): unknown {
  return JSON.parse(
    JSON.stringify(response, (key, value) =>
      key === 'processingTimeMs' || key === 'manager' ? undefined : value,
    ),
  );
}

const QUERIES: ConversationalQueryInput[] = [
  { type: 'conversation_history', timeRange: FULL, pagination: { limit: 4 } },
  { type: 'conversation_history', timeRange: FULL, options: { view: 'turns' }, pagination: { limit: 7 } },
  ...(['session', 'daily', 'weekly', 'monthly'] as const).flatMap(
    (aggregation): ConversationalQueryInput[] => [
      { type: 'persona_usage', timeRange: FULL, aggregation },
      { type: 'framework_analytics', timeRange: W3, aggregation },
      { type: 'performance_metrics', timeRange: FULL, aggregation },
      { type: 'engagement_patterns', timeRange: FULL, aggregation },
    ],
  ),
  { type: 'strategic_insights', timeRange: W3 },
  { type: 'persona_usage', filters: { framework: ['okr', 'porter'], outcome: 'ok' } },
  { type: 'framework_analytics', filters: { userId: 'u1' } },
];

describe('identical responses on memory, file and sqlite', () => {
  for (const query of QUERIES) {
    it(`${query.type} ${JSON.stringify({ ...query, type: undefined, timeRange: undefined })}`, async () => {
      const answers = await Promise.all(stores.map((s) => s.manager.query(query)));
      expect(answers[0]!.success).toBe(true);
      const [memory, ...others] = answers.map(comparable);
      for (const other of others) expect(other).toEqual(memory);
    });
  }

  it('session context', async () => {
    const answers = await Promise.all(stores.map((s) => s.manager.getSessionContext('s5')));
    const [memory, ...others] = answers.map(comparable);
    for (const other of others) expect(other).toEqual(memory);
  });

  it('search finds the same turns (scores are adapter-specific)', async () => {
    const answers = await Promise.all(stores.map((s) => s.manager.search('okr', { persona: 'cto' })));
    for (const answer of answers) {
      expect(answer.success).toBe(true);
      expect(answer.data!.map((h) => h.turn.id).sort()).toEqual(['t01', 't06']);
    }
  });

  it('later pages agree too', async () => {
    const first = await Promise.all(
      stores.map((s) =>
        s.manager.query({ type: 'conversation_history', timeRange: FULL, pagination: { limit: 3 } }),
      ),
    );
    const second = await Promise.all(
      stores.map((s, i) =>
        s.manager.query({
          type: 'conversation_history',
          timeRange: FULL,
          pagination: { limit: 3, cursor: first[i]!.metadata.nextCursor! },
        }),
      ),
    );
    const [memory, ...others] = second.map(comparable);
    for (const other of others) expect(other).toEqual(memory);
  });
});
