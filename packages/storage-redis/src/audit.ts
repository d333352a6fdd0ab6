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
import type { Conn } from './conn.js';

const BatchSchema = AuditEventSchema.array().superRefine((events, ctx) => {
  const seen = new Set<string>();
  events.forEach((e, i) => {
    if (seen.has(e.id))
      ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'repeats an id earlier in the batch' });
    seen.add(e.id);
  });
});
const BATCH = 200;

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Events are JSON in one hash; sorted sets by time (all, per context, per principal) give the
 * newest-first order, ties by id descending (Redis orders equal scores by member bytes).
 */
export function createAuditLog(conn: Conn): AuditLog {
  const P = conn.prefix;

  async function append(events: readonly AuditEvent[]): Promise<void> {
    conn.assertOpen();
    const batch = validate(BatchSchema, events, 'audit.append');
    if (batch.length === 0) return conn.run('audit.append', async () => undefined);
    const args = [P];
    for (const e of batch) args.push(e.id, String(e.at), e.contextId, e.principal, JSON.stringify(e));
    await conn.one('audit.append', async (redis) => {
      const taken = await redis.ckAuditAppend(...args);
      if (taken.length > 0) {
        throw new ConvokitError(
          'CONFLICT',
          `audit.append: event id(s) already stored: ${taken.slice(0, 5).join(', ')}`,
          {
            where: 'audit.append',
            ids: taken,
          },
        );
      }
    });
  }

  async function list(filter: AuditFilter = {}, options: PageInput = {}): Promise<PageResult<AuditEvent>> {
    conn.assertOpen();
    const f = validate(AuditFilterSchema, filter, 'audit.list');
    const { limit, cursor } = validate(PageSchema, options, 'audit.list options');
    const print = fingerprint(f);
    let before: { at: number; id: string } | undefined;
    if (cursor !== undefined) {
      const [at, id] = decodeCursor(cursor, print, 'audit.list');
      if (typeof at !== 'number' || typeof id !== 'string') {
        throw new ConvokitError('VALIDATION', 'Invalid cursor for audit.list', { where: 'audit.list' });
      }
      before = { at, id };
    }
    const index =
      f.contextId !== undefined
        ? `${P}audit:ctx:${f.contextId}`
        : f.principal !== undefined
          ? `${P}audit:pr:${f.principal}`
          : `${P}audit:all`;
    // `to` is exclusive; a cursor bounds from above inclusively (ties are skipped by id below).
    let max: string | number = f.to !== undefined ? `(${f.to}` : '+inf';
    if (before && (f.to === undefined || before.at < f.to)) max = before.at;
    const min = f.from ?? '-inf';
    return conn.run('audit.list', async (redis) => {
      const items: AuditEvent[] = [];
      let offset = 0;
      for (;;) {
        const batch = await redis.zrevrangebyscore(index, max, min, 'WITHSCORES', 'LIMIT', offset, BATCH);
        offset += batch.length / 2;
        const ids: string[] = [];
        for (let i = 0; i < batch.length; i += 2) {
          const id = batch[i]!;
          if (before && Number(batch[i + 1]) === before.at && byteCompare(id, before.id) >= 0) continue;
          ids.push(id);
        }
        const bodies = ids.length > 0 ? await redis.hmget(`${P}audit:ev`, ...ids) : [];
        for (const body of bodies) {
          if (body === null) continue;
          const e = JSON.parse(body) as AuditEvent;
          if (f.contextId !== undefined && e.contextId !== f.contextId) continue;
          if (f.principal !== undefined && e.principal !== f.principal) continue;
          if (f.action !== undefined && e.action !== f.action) continue;
          if (f.scope !== undefined && e.scope !== f.scope) continue;
          items.push(e);
          if (items.length > limit) break;
        }
        if (items.length > limit || batch.length < BATCH * 2) break;
      }
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page,
        nextCursor: items.length > limit && last ? encodeCursor([last.at, last.id], print) : null,
      };
    });
  }

  return { append, list };
}
