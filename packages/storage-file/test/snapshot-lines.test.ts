import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createManualClock, type Turn } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createFileStorage } from '../src/index.js';
import { encodeRecord } from '../src/record.js';
import { tempDirectory } from './helpers.js';

const clock = createManualClock(Date.UTC(2026, 0, 1));
const turns: Turn[] = Array.from({ length: 250 }, (_, i) => ({
  id: `t${String(i).padStart(4, '0')}`,
  sessionId: `s${i % 7}`,
  at: clock.now() + i * 1000,
  userInput: `question ${i}`,
  assistantResponse: `answer ${i}`,
  frameworks: i % 3 === 0 ? ['swot'] : [],
  tools: [],
  mcpServers: [],
  outcome: 'ok',
}));

function snapshotPath(directory: string): string {
  const name = readdirSync(directory).find((n) => n.startsWith('snapshot-') && n.endsWith('.jsonl'));
  expect(name).toBeDefined();
  return join(directory, name!);
}

/** The mutation of each record line of a file (framing already checked by the reader). */
function mutations(path: string): Array<{ type: string; turns?: Turn[]; records?: number }> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line).m);
}

async function compactedStore(): Promise<string> {
  const directory = tempDirectory();
  const storage = await createFileStorage({ directory, clock, compactAfterRecords: false });
  await storage.turns.append(turns);
  await storage.compact();
  await storage.close();
  return directory;
}

describe('snapshot lines', () => {
  it('hold at most 100 turns each', async () => {
    const directory = await compactedStore();
    const appends = mutations(snapshotPath(directory)).filter((m) => m.type === 'turns.append');
    expect(appends.map((m) => m.turns!.length)).toEqual([100, 100, 50]);
  });

  it('of any length open as written: a snapshot with all 250 turns on one line (as 500 per line did)', async () => {
    const directory = await compactedStore();
    const path = snapshotPath(directory);
    const [header, ...rest] = mutations(path);
    const others = rest.filter((m) => m.type !== 'turns.append' && m.type !== 'footer');
    const records = [{ type: 'turns.append', turns }, ...others];
    writeFileSync(
      path,
      Buffer.concat(
        [header, ...records, { type: 'footer', records: records.length }].map((m) => encodeRecord(m)),
      ),
    );
    const storage = await createFileStorage({ directory, clock });
    const page = await storage.turns.list({}, { order: 'asc', limit: 1000 });
    expect(page.items).toEqual(turns);
    await storage.close();
  });
});
