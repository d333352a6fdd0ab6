import {
  type AuditEvent,
  AuditEventSchema,
  type AuditFilter,
  AuditFilterSchema,
  type AuditLog,
  ConvokitError,
  decodeCursor,
  encodeCursor,
  fingerprint,
  type PageInput,
  type PageResult,
  PageSchema,
  validate,
} from '@convokit/core';
import type { Db, PgSql } from './db.js';
import { Params } from './params.js';

const BatchSchema = AuditEventSchema.array().superRefine((events, ctx) => {
  const seen = new Set<string>();
  events.forEach((e, i) => {
    if (seen.has(e.id))
      ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'repeats an id earlier in the batch' });
    seen.add(e.id);
  });
});

/** A batch as `append` takes it: VALIDATION (the schema's, at `where`) for a bad event or a repeated id. */
export function checkAuditBatch(events: readonly AuditEvent[], where: string): AuditEvent[] {
  return validate(BatchSchema, events, where);
}

/**
 * Inserts a checked batch on `sql` (a transaction of the caller's, which a throw rolls back);
 * CONFLICT naming the ids already stored, after which the caller must not commit.
 */
export async function insertAuditEvents(
  sql: PgSql,
  S: string,
  batch: readonly AuditEvent[],
  where: string,
): Promise<void> {
  const rows = await sql.unsafe<{ id: string }[]>(
    `INSERT INTO ${S}.audit_events (id, at, principal, action, context_id, scope, body)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      batch.map((e) => e.id),
      batch.map((e) => e.at),
      batch.map((e) => e.principal),
      batch.map((e) => e.action),
      batch.map((e) => e.contextId),
      batch.map((e) => e.scope),
      batch.map((e) => JSON.stringify(e)),
    ] as never[],
    { prepare: true },
  );
  if (rows.length !== batch.length) {
    const written = new Set(rows.map((r) => r.id));
    const ids = [...new Set(batch.map((e) => e.id).filter((id) => !written.has(id)))];
    throw new ConvokitError(
      'CONFLICT',
      `${where}: event id(s) already stored: ${ids.slice(0, 5).join(', ')}`,
      {
        where,
        ids,
      },
    );
  }
}

export function createAuditLog(db: Db): AuditLog {
  const { S } = db;

  async function append(events: readonly AuditEvent[]): Promise<void> {
    db.assertOpen();
    const batch = checkAuditBatch(events, 'audit.append');
    if (batch.length === 0) return db.run('audit.append', async () => undefined);
    await db.tx('audit.append', (sql) => insertAuditEvents(sql, S, batch, 'audit.append'));
  }

  async function list(filter: AuditFilter = {}, options: PageInput = {}): Promise<PageResult<AuditEvent>> {
    db.assertOpen();
    const f = validate(AuditFilterSchema, filter, 'audit.list');
    const { limit, cursor } = validate(PageSchema, options, 'audit.list options');
    const print = fingerprint(f);
    const p = new Params();
    const where: string[] = ['TRUE'];
    if (f.contextId !== undefined) where.push(`context_id = ${p.add(f.contextId, 'text')}`);
    if (f.principal !== undefined) where.push(`principal = ${p.add(f.principal, 'text')}`);
    if (f.action !== undefined) where.push(`action = ${p.add(f.action, 'text')}`);
    if (f.scope !== undefined) where.push(`scope = ${p.add(f.scope, 'text')}`);
    if (f.from !== undefined) where.push(`at >= ${p.add(f.from, 'bigint')}`);
    if (f.to !== undefined) where.push(`at < ${p.add(f.to, 'bigint')}`);
    if (cursor !== undefined) {
      const [at, id] = decodeCursor(cursor, print, 'audit.list');
      if (typeof at !== 'number' || typeof id !== 'string') {
        throw new ConvokitError('VALIDATION', 'Invalid cursor for audit.list', { where: 'audit.list' });
      }
      where.push(`(at, id) < (${p.add(at, 'bigint')}, ${p.add(id, 'text')})`);
    }
    return db.read('audit.list', async (sql) => {
      const rows = await sql.unsafe<{ body: string }[]>(
        `SELECT body FROM ${S}.audit_events WHERE ${where.join(' AND ')} ORDER BY at DESC, id DESC LIMIT ${limit + 1}`,
        p.values as never[],
        { prepare: true },
      );
      const items = rows.slice(0, limit).map((r) => JSON.parse(r.body) as AuditEvent);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor([last.at, last.id], print) : null,
      };
    });
  }

  return { append, list };
}
