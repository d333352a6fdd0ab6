import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createManualClock, type Turn } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createFileStorage } from '../src/index.js';
import { encodeRecord } from '../src/record.js';
import { tempDirectory } from './helpers.js';

const LOG = 'log-0000000000.jsonl';
const clock = createManualClock(Date.UTC(2026, 0, 1));
const turn: Turn = {
  id: 't1',
  sessionId: 's1',
  at: clock.now(),
  userInput: 'question',
  assistantResponse: 'answer',
  frameworks: [],
  tools: [],
  mcpServers: [],
  outcome: 'ok',
};

/** Rewrites the log's header line with another format version (a valid record, CRC and all). */
function setHeaderVersion(directory: string, version: number): void {
  const path = join(directory, LOG);
  const [header, ...rest] = readFileSync(path, 'utf8').split('\n');
  const m = JSON.parse(header!).m;
  expect(m.type).toBe('header');
  writeFileSync(
    path,
    [
      encodeRecord({ ...m, version })
        .toString('utf8')
        .trimEnd(),
      ...rest,
    ].join('\n'),
  );
}

async function storeWithOneTurn(): Promise<string> {
  const directory = tempDirectory();
  const storage = await createFileStorage({ directory, clock });
  await storage.turns.append([turn]);
  await storage.close();
  return directory;
}

describe('file format version', () => {
  it('writes version 2 and still opens a version 1 log, its records intact', async () => {
    const directory = await storeWithOneTurn();
    expect(JSON.parse(readFileSync(join(directory, LOG), 'utf8').split('\n')[0]!).m.version).toBe(2);
    setHeaderVersion(directory, 1);
    const storage = await createFileStorage({ directory, clock });
    expect((await storage.turns.get('t1'))?.userInput).toBe('question');
    await storage.close();
  });

  it('refuses a log of a newer format with a STORAGE error naming the file and both versions', async () => {
    const directory = await storeWithOneTurn();
    setHeaderVersion(directory, 3);
    const opening = createFileStorage({ directory, clock });
    await expect(opening).rejects.toMatchObject({ code: 'STORAGE' });
    await expect(opening).rejects.toThrow(
      /format version 3; this version of @convokit\/storage-file reads up to 2/,
    );
    await expect(opening).rejects.toThrow(LOG);
  });
});
