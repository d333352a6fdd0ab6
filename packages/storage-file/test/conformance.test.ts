import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStorageConformance } from '@convokit/storage-testkit';
import { expect } from 'vitest';
import { createFileStorage, type FileStorage } from '../src/index.js';

const directories = new Map<FileStorage, string>();

runStorageConformance({
  name: 'file',
  async create({ clock }) {
    const directory = mkdtempSync(join(tmpdir(), 'convokit-file-conformance-'));
    const storage = await createFileStorage({ directory, clock });
    directories.set(storage, directory);
    return storage;
  },
  async destroy(storage) {
    const file = storage as FileStorage;
    const directory = directories.get(file) as string;
    directories.delete(file);
    await file.close();
    // Whatever a case did, the files it left must reopen cleanly.
    const reopened = await createFileStorage({ directory, readOnly: true });
    expect(reopened.recovery.tornRecordsDropped).toBe(0);
    await reopened.close();
    rmSync(directory, { recursive: true, force: true });
  },
});
