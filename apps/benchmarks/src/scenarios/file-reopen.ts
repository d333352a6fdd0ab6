import type { Storage, Turn } from '@convokit/core';
import { tempDir } from '../adapters.js';
import type { Scenario } from '../scenario.js';
import { sizeLabel } from './history.js';

type CreateFileStorage = (options: { directory: string }) => Storage | Promise<Storage>;

/**
 * Issue 3: reopening a file store whose log holds N records (one turn per append, the way a chat
 * records them), replay included: the time from open to the first answered count. Compaction
 * runs as the adapter's defaults decide, as it would for a user.
 */
export const fileReopen: Scenario = {
  id: 'file-reopen',
  title: 'File store reopen',
  issues: [3],
  quick: true,
  async run({ rec, datasets, options }) {
    let create: CreateFileStorage;
    try {
      const pkg = '@convokit/storage-file';
      const mod = (await import(pkg)) as { createFileStorage?: CreateFileStorage };
      if (typeof mod.createFileStorage !== 'function')
        throw new Error('createFileStorage is not exported yet');
      create = mod.createFileStorage;
    } catch (error) {
      rec.skip('convokit file', (error as Error).message.split('\n')[0] as string);
      return;
    }
    const n = options.quick ? 2_000 : 100_000;
    const turns = datasets.turns(n).turns;
    const dir = tempDir('file-reopen');
    try {
      const writer = await create({ directory: dir.path });
      const t0 = performance.now();
      for (let i = 0; i < n; i += 100) {
        await Promise.all(turns.slice(i, i + 100).map((t: Turn) => writer.turns?.append([t])));
      }
      const writeSeconds = (performance.now() - t0) / 1000;
      await writer.close();
      rec.metric(
        `file single appends/${sizeLabel(n)}`,
        'convokit file: single-turn appends, 100 in flight',
        n / writeSeconds,
        'turns/s',
      );
      const times: number[] = [];
      for (let run = 0; run < Math.max(1, options.runs); run++) {
        const t1 = performance.now();
        const reader = await create({ directory: dir.path });
        const count = await reader.turns?.count();
        times.push(performance.now() - t1);
        await reader.close();
        if (count !== n) throw new Error(`reopened store holds ${count} turns, expected ${n}`);
      }
      times.sort((a, b) => a - b);
      rec.metric(
        `file reopen ${sizeLabel(n)} records`,
        `convokit file: reopen with ${sizeLabel(n)} records (median of ${times.length})`,
        times[times.length >> 1] as number,
        'ms',
      );
    } finally {
      dir.remove();
    }
  },
};
