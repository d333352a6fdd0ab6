import type { NormalizedTurnFilter } from '@convokit/core';
import type { Params } from './params.js';

/** The child table holding each multi-valued name list. */
export const NAME_TABLES = {
  framework: 'turn_frameworks',
  tool: 'turn_tools',
  mcpServer: 'turn_mcp_servers',
} as const;

const COLUMNS = {
  sessionId: 'session_id',
  conversationId: 'conversation_id',
  userId: 'user_id',
  persona: 'persona',
} as const;

/** SQL conditions (ANDed) for a filter over `turns` aliased `t`; `['TRUE']` when it has none. */
export function turnFilterSql(f: NormalizedTurnFilter, p: Params, S: string): string[] {
  const where: string[] = [];
  if (f.from !== undefined) where.push(`t.at >= ${p.add(f.from, 'bigint')}`);
  if (f.to !== undefined) where.push(`t.at < ${p.add(f.to, 'bigint')}`);
  if (f.outcome !== undefined) where.push(`t.outcome = ${p.add(f.outcome, 'text')}`);
  for (const [field, column] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, string][]) {
    const values = f[field];
    if (!values) continue;
    where.push(
      values.length === 1
        ? `t.${column} = ${p.add(values[0], 'text')}`
        : `t.${column} = ANY(${p.add(values, 'text[]')})`,
    );
  }
  // Name rows carry their turn's `at`, so the window bounds them too (their (name, at) index).
  let window: string | undefined;
  for (const [field, table] of Object.entries(NAME_TABLES) as [keyof typeof NAME_TABLES, string][]) {
    const values = f[field];
    if (!values) continue;
    if (window === undefined) {
      window = '';
      if (f.from !== undefined) window += ` AND x.at >= ${p.add(f.from, 'bigint')}`;
      if (f.to !== undefined) window += ` AND x.at < ${p.add(f.to, 'bigint')}`;
    }
    where.push(
      `EXISTS (SELECT 1 FROM ${S}.${table} x WHERE x.turn_id = t.id AND x.name = ANY(${p.add(values, 'text[]')})${window})`,
    );
  }
  if (where.length === 0) where.push('TRUE');
  return where;
}
