import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStorageConformance } from '@convokit/storage-testkit';
import { createSqliteStorage } from '../src/index.js';

let dir = '';
let n = 0;

runStorageConformance({
  name: 'sqlite (file)',
  beforeAll() {
    dir = mkdtempSync(join(tmpdir(), 'convokit-sqlite-conformance-'));
  },
  afterAll() {
    rmSync(dir, { recursive: true, force: true });
  },
  create: ({ clock }) => createSqliteStorage({ path: join(dir, `case-${++n}.db`), clock }),
});

runStorageConformance({
  name: 'sqlite (:memory:)',
  create: ({ clock }) => createSqliteStorage({ path: ':memory:', clock }),
});
