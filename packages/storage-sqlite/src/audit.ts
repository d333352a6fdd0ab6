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
  PageSchema,
  validate,
} from '@convokit/core';
import type { Connection } from './connection.js';
import { isUniqueViolation } from './errors.js';
import { type AuditRow, auditOfRow } from './rows.js';

const AuditBatchSchema = AuditEventSchema.array();

export function createAuditLog(conn: Connection): AuditLog {
  return {
    async append(events: readonly AuditEvent[]) {
      const valid = validate(AuditBatchSchema, events, 'audit.append');
      if (valid.length === 0) return conn.run('audit.append', () => undefined);
      conn.write('audit.append', () => {
        const insert = conn.prepare(
          `INSERT INTO audit (id, at, principal, action, context_id, scope, outcome, changed_keys, attempted_action, version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const e of valid) {
          try {
            insert.run(
              e.id,
              e.at,
              e.principal,
              e.action,
              e.contextId,
              e.scope,
              e.outcome,
              JSON.stringify(e.changedKeys),
              e.attemptedAction ?? null,
              e.version ?? null,
            );
          } catch (error) {
            if (!isUniqueViolation(error)) throw error;
            throw new ConvokitError('CONFLICT', `An audit event with id ${e.id} is already stored`, {
              where: 'audit.append',
              id: e.id,
            });
          }
        }
      });
    },

    async list(filter: AuditFilter = {}, options: PageInput = {}) {
      const f = validate(AuditFilterSchema, filter, 'audit.list');
      const page = validate(PageSchema, options, 'audit.list');
      const print = fingerprint({ filter: f });
      const clauses: string[] = [];
      const params: unknown[] = [];
      const columns: Array<[keyof AuditFilter, string]> = [
        ['contextId', 'context_id'],
        ['principal', 'principal'],
        ['action', 'action'],
        ['scope', 'scope'],
      ];
      for (const [field, column] of columns) {
        if (f[field] !== undefined) {
          clauses.push(`${column} = ?`);
          params.push(f[field]);
        }
      }
      if (f.from !== undefined) {
        clauses.push('at >= ?');
        params.push(f.from);
      }
      if (f.to !== undefined) {
        clauses.push('at < ?');
        params.push(f.to);
      }
      if (page.cursor) {
        const key = decodeCursor(page.cursor, print, 'audit.list');
        const [at, id] = key;
        if (key.length !== 2 || typeof at !== 'number' || typeof id !== 'string') {
          throw new ConvokitError(
            'VALIDATION',
            'Invalid cursor for audit.list: not a cursor this store issued',
            {
              where: 'audit.list',
              issues: [{ path: 'cursor', message: 'not a cursor this store issued' }],
            },
          );
        }
        clauses.push('(at < ? OR (at = ? AND id < ?))');
        params.push(at, at, id);
      }
      return conn.run('audit.list', () => {
        const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
        const rows = conn
          .prepare(`SELECT * FROM audit ${where} ORDER BY at DESC, id DESC LIMIT ?`)
          .all(...params, page.limit + 1) as AuditRow[];
        const more = rows.length > page.limit;
        const items = (more ? rows.slice(0, page.limit) : rows).map(auditOfRow);
        const last = items[items.length - 1];
        return { items, nextCursor: more && last ? encodeCursor([last.at, last.id], print) : null };
      });
    },
  };
}
