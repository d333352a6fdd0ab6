import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from './adapters.js';

/**
 * Raw better-sqlite3 with prepared statements: the least any SQLite-backed store can cost on this
 * machine (WAL, synchronous=NORMAL, as our adapter runs by default).
 */
export function openRawSqlite(): { db: Database.Database; close(): void } {
  const dir = tempDir('raw-sqlite');
  const db = new Database(join(dir.path, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return {
    db,
    close() {
      db.close();
      dir.remove();
    },
  };
}
