import type { NormalizedTurnFilter } from '@convokit/core';

export interface SqlFragment {
  clauses: string[];
  params: unknown[];
}

const SINGLE: Array<[keyof NormalizedTurnFilter, string]> = [
  ['sessionId', 'session_id'],
  ['conversationId', 'conversation_id'],
  ['userId', 'user_id'],
  ['persona', 'persona'],
];

const MULTI: Array<[keyof NormalizedTurnFilter, string]> = [
  ['framework', 'turn_frameworks'],
  ['tool', 'turn_tools'],
  ['mcpServer', 'turn_mcp_servers'],
];

/**
 * The WHERE clauses of a turn filter over `turns` aliased `t`, with the semantics of core
 * `matchesTurnFilter`: a missing value never matches a list, and a multi-valued filter matches a
 * turn that used any of the names. Lists bind as one JSON parameter so the SQL text (and its
 * prepared statement) does not depend on how many values a list has.
 */
export function turnFilterSql(f: NormalizedTurnFilter, alias = 't'): SqlFragment {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (f.from !== undefined) {
    clauses.push(`${alias}.at >= ?`);
    params.push(f.from);
  }
  if (f.to !== undefined) {
    clauses.push(`${alias}.at < ?`);
    params.push(f.to);
  }
  if (f.outcome !== undefined) {
    clauses.push(`${alias}.outcome = ?`);
    params.push(f.outcome);
  }
  for (const [field, column] of SINGLE) {
    const values = f[field] as string[] | undefined;
    if (!values) continue;
    if (values.length === 1) {
      clauses.push(`${alias}.${column} = ?`);
      params.push(values[0]);
    } else {
      clauses.push(`${alias}.${column} IN (SELECT value FROM json_each(?))`);
      params.push(JSON.stringify(values));
    }
  }
  for (const [field, table] of MULTI) {
    const values = f[field] as string[] | undefined;
    if (!values) continue;
    if (values.length === 1) {
      clauses.push(`${alias}.seq IN (SELECT seq FROM ${table} WHERE name = ?)`);
      params.push(values[0]);
    } else {
      clauses.push(
        `${alias}.seq IN (SELECT seq FROM ${table} WHERE name IN (SELECT value FROM json_each(?)))`,
      );
      params.push(JSON.stringify(values));
    }
  }
  return { clauses, params };
}

export function whereSql(clauses: readonly string[]): string {
  return clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
}
