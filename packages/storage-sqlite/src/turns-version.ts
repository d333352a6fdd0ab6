import type { AppendResult } from '@convokit/core';
import type { Connection } from './connection.js';

/**
 * The optional `TurnStore.version`: one row (migration 6) that every write transaction changing
 * the turns raises by one. It lives in the database, so every process sharing the file sees
 * every change, and an append reads its new value in its own transaction (atomic with it).
 */
export interface TurnsVersion {
  /** The current value (inside or outside a transaction). */
  read(): number;
  /** Inside a write transaction that changed the turns: +1, returns the new value. */
  bump(): number;
  /** `result` with the version after it: bumped when the append stored a turn. */
  after(result: AppendResult): AppendResult;
}

export function turnsVersion(conn: Connection): TurnsVersion {
  const read = () => conn.prepare('SELECT value FROM turns_version WHERE id = 0').pluck().get() as number;
  const bump = () =>
    conn
      .prepare('UPDATE turns_version SET value = value + 1 WHERE id = 0 RETURNING value')
      .pluck()
      .get() as number;
  return {
    read,
    bump,
    after: (result) => ({ ...result, version: result.appended > 0 ? bump() : read() }),
  };
}
