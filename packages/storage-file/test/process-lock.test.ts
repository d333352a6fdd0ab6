import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createFileStorage } from '../src/index.js';
import { forkWriter } from './child.js';
import { tempDirectory } from './helpers.js';

describe('one writer per directory, across processes', () => {
  it('a second writer in another process gets LOCKED naming this process', async () => {
    const directory = tempDirectory();
    const storage = await createFileStorage({ directory });
    const other = forkWriter('try-open', directory);
    const reply = await other.next('error');
    expect(reply).toMatchObject({
      code: 'LOCKED',
      details: { directory, holder: { pid: process.pid, hostname: hostname() } },
    });
    expect(reply.message).toContain(directory);
    await other.exited;
    await storage.close();
    const again = forkWriter('try-open', directory);
    await again.next('opened');
  });

  it('a writer here gets LOCKED while another process holds the directory, and takes over once it is killed', async () => {
    const directory = tempDirectory();
    const holder = forkWriter('hold', directory);
    await holder.next('opened');
    const pid = holder.child.pid as number;
    await expect(createFileStorage({ directory })).rejects.toMatchObject({
      code: 'LOCKED',
      details: { holder: { pid } },
    });
    // A reader needs no lock.
    const reader = await createFileStorage({ directory, readOnly: true });
    await reader.close();
    await holder.kill();
    const storage = await createFileStorage({ directory });
    expect(storage.recovery.staleLockTakenOver).toMatchObject({ pid, hostname: hostname() });
    expect(storage.metrics.counter('file.stale_locks_taken_over')).toBe(1);
    await storage.close();
  });
});
