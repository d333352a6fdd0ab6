import {
  type AuditEvent,
  type Context,
  type ContextChanges,
  ContextChangesSchema,
  type ContextFilter,
  ContextFilterSchema,
  ContextSchema,
  type ContextStore,
  type ContextTouch,
  ConvokitError,
  decodeCursor,
  EpochMsSchema,
  type ExpireAuditOptions,
  encodeCursor,
  fingerprint,
  type GetContextByIdOptions,
  GetContextByIdOptionsSchema,
  type GetContextOptions,
  type PageInput,
  type PageResult,
  PageSchema,
  SweepOptionsSchema,
  validate,
} from '@convokit/core';
import { checkAuditBatch, insertAuditEvents } from './audit.js';
import type { Db, PgSql } from './db.js';
import { GetBatcher } from './get-batch.js';
import { Params } from './params.js';

interface ContextRow {
  id: string;
  scope: Context['scope'];
  owner_id: string | null;
  session_id: string | null;
  persona: string | null;
  parent_id: string | null;
  data: string;
  metadata: string;
  version: number;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  access_count: number;
  last_accessed_at: number;
}

const COLUMNS =
  'id, scope, owner_id, session_id, persona, parent_id, data, metadata, version, created_at, updated_at, expires_at, access_count, last_accessed_at';

export function rowToContext(r: ContextRow): Context {
  const c: Context = {
    id: r.id,
    scope: r.scope,
    data: JSON.parse(r.data),
    metadata: JSON.parse(r.metadata),
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    accessCount: r.access_count,
    lastAccessedAt: r.last_accessed_at,
  };
  if (r.owner_id !== null) c.ownerId = r.owner_id;
  if (r.session_id !== null) c.sessionId = r.session_id;
  if (r.persona !== null) c.persona = r.persona;
  if (r.parent_id !== null) c.parentId = r.parent_id;
  if (r.expires_at !== null) c.expiresAt = r.expires_at;
  return c;
}

const FILTER_COLUMNS = {
  scope: 'scope',
  ownerId: 'owner_id',
  sessionId: 'session_id',
  persona: 'persona',
  parentId: 'parent_id',
} as const;

const LIVE = (now: string) => `(expires_at IS NULL OR expires_at > ${now})`;

const ListOptionsSchema = PageSchema.extend({ now: EpochMsSchema.optional() }).strict();
const NowOptionsSchema = ListOptionsSchema.pick({ now: true }).strict();
const DeleteOptionsSchema = NowOptionsSchema.extend({
  expectedVersion: ContextSchema.shape.version.optional(),
}).strict();
const TouchSchema = NowOptionsSchema.omit({ now: true })
  .extend({ at: EpochMsSchema, expiresAt: EpochMsSchema.optional() })
  .strict();

function filterSql(filter: ContextFilter, p: Params): string[] {
  const where: string[] = [];
  for (const [field, column] of Object.entries(FILTER_COLUMNS) as [keyof ContextFilter, string][]) {
    const value = filter[field];
    if (value !== undefined) where.push(`${column} = ${p.add(value, 'text')}`);
  }
  return where;
}

export function createContextStore(db: Db): ContextStore {
  const { S } = db;
  const getter = new GetBatcher<ContextRow, Context>(
    db,
    'contexts.get',
    `SELECT ${COLUMNS} FROM ${S}.contexts WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
    `SELECT ${COLUMNS} FROM ${S}.contexts WHERE id = ANY($1::text[])`,
    (row) => row.id,
    (row, now) => row.expires_at === null || row.expires_at > now,
    rowToContext,
  );

  async function create(context: Context): Promise<Context> {
    db.assertOpen();
    const c = validate(ContextSchema, context, 'contexts.create');
    return db.run('contexts.create', async (sql) => {
      const rows = await sql.unsafe(
        `INSERT INTO ${S}.contexts (${COLUMNS})
         VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::int,
                 $10::bigint, $11::bigint, $12::bigint, $13::bigint, $14::bigint)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          c.id,
          c.scope,
          c.ownerId ?? null,
          c.sessionId ?? null,
          c.persona ?? null,
          c.parentId ?? null,
          JSON.stringify(c.data),
          JSON.stringify(c.metadata),
          c.version,
          c.createdAt,
          c.updatedAt,
          c.expiresAt ?? null,
          c.accessCount,
          c.lastAccessedAt,
        ] as never[],
        { prepare: true },
      );
      if (rows.length === 0) {
        throw new ConvokitError('CONFLICT', `Context ${c.id} already exists`, {
          where: 'contexts.create',
          id: c.id,
        });
      }
      return structuredClone(c);
    });
  }

  async function get(id: string, options?: GetContextByIdOptions): Promise<Context | undefined> {
    db.assertOpen();
    const given =
      options === undefined
        ? undefined
        : validate(GetContextByIdOptionsSchema, options, 'contexts.get options').now;
    return getter.get(String(id), given ?? db.clock.now());
  }

  async function update(
    id: string,
    expectedVersion: number,
    changes: ContextChanges,
    now: number,
  ): Promise<Context> {
    db.assertOpen();
    const ch = validate(ContextChangesSchema, changes, 'contexts.update');
    validate(ContextSchema.shape.version, expectedVersion, 'contexts.update expectedVersion');
    validate(EpochMsSchema, now, 'contexts.update now');
    const p = new Params();
    const sets = [`version = version + 1`, `updated_at = ${p.add(now, 'bigint')}`];
    if (ch.data !== undefined) sets.push(`data = ${p.add(JSON.stringify(ch.data), 'text')}`);
    if (ch.metadata !== undefined) sets.push(`metadata = ${p.add(JSON.stringify(ch.metadata), 'text')}`);
    if (ch.ownerId !== undefined) sets.push(`owner_id = ${p.add(ch.ownerId, 'text')}`);
    if (ch.parentId !== undefined) sets.push(`parent_id = ${p.add(ch.parentId, 'text')}`);
    if (ch.expiresAt !== undefined) sets.push(`expires_at = ${p.add(ch.expiresAt, 'bigint')}`);
    const idParam = p.add(id, 'text');
    const versionParam = p.add(expectedVersion, 'int');
    const nowParam = p.add(now, 'bigint');
    return db.run('contexts.update', async (sql) => {
      const rows = await sql.unsafe<ContextRow[]>(
        `UPDATE ${S}.contexts SET ${sets.join(', ')}
         WHERE id = ${idParam} AND version = ${versionParam} AND ${LIVE(nowParam)}
         RETURNING ${COLUMNS}`,
        p.values as never[],
        { prepare: true },
      );
      if (rows[0]) return rowToContext(rows[0]);
      const current = await sql.unsafe<{ version: number }[]>(
        `SELECT version FROM ${S}.contexts WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
        [id, now] as never[],
        { prepare: true },
      );
      if (!current[0]) {
        throw new ConvokitError('NOT_FOUND', `Context ${id} does not exist or has expired`, {
          where: 'contexts.update',
          id,
        });
      }
      throw new ConvokitError(
        'CONFLICT',
        `Context ${id} is at version ${current[0].version}, not ${expectedVersion}`,
        { where: 'contexts.update', id, expectedVersion, actualVersion: current[0].version },
      );
    });
  }

  async function touch(id: string, t: ContextTouch): Promise<void> {
    db.assertOpen();
    const { at, expiresAt } = validate(TouchSchema, t, 'contexts.touch');
    await db.run('contexts.touch', (sql) =>
      sql.unsafe(
        `UPDATE ${S}.contexts
         SET access_count = access_count + 1, last_accessed_at = $2::bigint, expires_at = coalesce($3::bigint, expires_at)
         WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
        [id, at, expiresAt ?? null] as never[],
        { prepare: true },
      ),
    );
  }

  async function del(id: string, options?: { expectedVersion?: number; now?: number }): Promise<boolean> {
    db.assertOpen();
    const opts = validate(DeleteOptionsSchema, options ?? {}, 'contexts.delete options');
    const now = opts.now ?? db.clock.now();
    return db.run('contexts.delete', async (sql) => {
      if (opts.expectedVersion === undefined) {
        const r = await sql.unsafe(
          `DELETE FROM ${S}.contexts WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
          [id, now] as never[],
          { prepare: true },
        );
        return r.count > 0;
      }
      const r = await sql.unsafe(
        `DELETE FROM ${S}.contexts WHERE id = $1::text AND version = $3::int AND ${LIVE('$2::bigint')}`,
        [id, now, opts.expectedVersion] as never[],
        { prepare: true },
      );
      if (r.count > 0) return true;
      const current = await sql.unsafe<{ version: number }[]>(
        `SELECT version FROM ${S}.contexts WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
        [id, now] as never[],
        { prepare: true },
      );
      if (!current[0]) return false;
      throw new ConvokitError(
        'CONFLICT',
        `Context ${id} is at version ${current[0].version}, not ${opts.expectedVersion}`,
        {
          where: 'contexts.delete',
          id,
          expectedVersion: opts.expectedVersion,
          actualVersion: current[0].version,
        },
      );
    });
  }

  async function list(
    filter: ContextFilter = {},
    options: PageInput & GetContextOptions = {},
  ): Promise<PageResult<Context>> {
    db.assertOpen();
    const f = validate(ContextFilterSchema, filter, 'contexts.list');
    const { limit, cursor, now: given } = validate(ListOptionsSchema, options, 'contexts.list options');
    const now = given ?? db.clock.now();
    const print = fingerprint(f);
    const p = new Params();
    const where = filterSql(f, p);
    where.push(LIVE(p.add(now, 'bigint')));
    if (cursor !== undefined) {
      const [createdAt, id] = decodeCursor(cursor, print, 'contexts.list');
      if (typeof createdAt !== 'number' || typeof id !== 'string') {
        throw new ConvokitError('VALIDATION', 'Invalid cursor for contexts.list', { where: 'contexts.list' });
      }
      where.push(`(created_at, id) > (${p.add(createdAt, 'bigint')}, ${p.add(id, 'text')})`);
    }
    return db.read('contexts.list', async (sql) => {
      const rows = await sql.unsafe<ContextRow[]>(
        `SELECT ${COLUMNS} FROM ${S}.contexts WHERE ${where.join(' AND ')}
         ORDER BY created_at, id LIMIT ${limit + 1}`,
        p.values as never[],
        { prepare: true },
      );
      const items = rows.slice(0, limit).map(rowToContext);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt, last.id], print) : null,
      };
    });
  }

  async function count(filter: ContextFilter = {}, options?: GetContextOptions): Promise<number> {
    db.assertOpen();
    const f = validate(ContextFilterSchema, filter, 'contexts.count');
    const { now: given } = validate(NowOptionsSchema, options ?? {}, 'contexts.count options');
    const p = new Params();
    const where = filterSql(f, p);
    where.push(LIVE(p.add(given ?? db.clock.now(), 'bigint')));
    return db.read('contexts.count', async (sql) => {
      const rows = await sql.unsafe<{ n: number }[]>(
        `SELECT count(*)::float8 AS n FROM ${S}.contexts WHERE ${where.join(' AND ')}`,
        p.values as never[],
        { prepare: true },
      );
      return rows[0]!.n;
    });
  }

  // Without values the sweep reads neither data nor metadata: a constant stands in for both.
  const SUMMARY_COLUMNS = COLUMNS.replace('data, metadata', "'{}'::text AS data, '{}'::text AS metadata");

  /**
   * Deletes up to `limit` expired contexts on `sql` and returns them oldest expiry first (ties by
   * id), without their values when `values` is false. SKIP LOCKED: two sweepers at once split the
   * work instead of waiting on each other.
   */
  async function sweep(sql: PgSql, now: number, limit: number | undefined, values: boolean | undefined) {
    const rows = await sql.unsafe<ContextRow[]>(
      `DELETE FROM ${S}.contexts WHERE id IN (
         SELECT id FROM ${S}.contexts WHERE expires_at <= $1::bigint
         ORDER BY expires_at, id ${limit === undefined ? '' : `LIMIT ${limit}`}
         FOR UPDATE SKIP LOCKED)
       RETURNING ${values === false ? SUMMARY_COLUMNS : COLUMNS}`,
      [now] as never[],
      { prepare: true },
    );
    const deleted = rows
      .map(rowToContext)
      .sort((a, b) => a.expiresAt! - b.expiresAt! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (values !== false) return deleted;
    // Without values (see the contract): typed as contexts only to fit its general signature.
    return deleted.map(({ data: _data, metadata: _metadata, ...summary }) => summary) as Context[];
  }

  async function deleteExpired(
    now: number,
    options: { limit?: number; values?: boolean } = {},
  ): Promise<Context[]> {
    db.assertOpen();
    validate(EpochMsSchema, now, 'contexts.deleteExpired');
    const { limit, values } = validate(SweepOptionsSchema, options ?? {}, 'contexts.deleteExpired options');
    return db.run('contexts.deleteExpired', (sql) => sweep(sql, now, limit, values));
  }

  /**
   * `deleteExpired` and the expire events of what it deleted in one transaction: the DELETE, the
   * events built and checked, then their INSERT. A throwing or invalid event or a stored id
   * throws inside the transaction, which rolls the deletes back.
   */
  async function deleteExpiredAudited(now: number, options: ExpireAuditOptions): Promise<Context[]> {
    db.assertOpen();
    const where = 'contexts.deleteExpiredAudited';
    validate(EpochMsSchema, now, where);
    if (typeof options !== 'object' || options === null || typeof options.event !== 'function') {
      throw new ConvokitError('VALIDATION', `Invalid input to ${where}: event: must be a function`, {
        where,
        issues: [{ path: 'event', message: 'must be a function' }],
      });
    }
    const { event, ...rest } = options;
    const { limit, values } = validate(SweepOptionsSchema, rest, `${where} options`);
    let thrown: { error: unknown } | undefined;
    try {
      return await db.tx(where, async (sql) => {
        const deleted = await sweep(sql, now, limit, values);
        if (deleted.length === 0) return deleted;
        const events = new Array<AuditEvent>(deleted.length);
        try {
          for (let i = 0; i < deleted.length; i++) events[i] = event(deleted[i]!);
        } catch (error) {
          thrown = { error };
          throw error;
        }
        await insertAuditEvents(sql, S, checkAuditBatch(events, where), where);
        return deleted;
      });
    } catch (error) {
      // The caller's own error, as it threw it, not wrapped as a storage failure.
      throw thrown ? thrown.error : error;
    }
  }

  return { create, get, update, touch, delete: del, list, count, deleteExpired, deleteExpiredAudited };
}
