import type { AuditEvent, Context, Turn } from '@convokit/core';

export interface TurnRow {
  seq: number;
  id: string;
  session_id: string;
  conversation_id: string | null;
  user_id: string | null;
  at: number;
  persona: string | null;
  outcome: 'ok' | 'error';
  error_code: string | null;
  latency_ms: number | null;
  latency_bucket: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  feedback: number | null;
  user_input: string;
  assistant_response: string;
  frameworks: string;
  tools: string;
  mcp_servers: string;
  metadata: string | null;
}

/**
 * A stored turn: the narrow \`turns\` row (what analytics scan) joined with its texts, which live
 * in \`turn_texts\` so that scans over \`turns\` never read conversation text.
 */
export const TURN_SELECT =
  'SELECT t.seq, t.id, t.session_id, t.conversation_id, t.user_id, t.at, t.persona, t.outcome, t.error_code, t.latency_ms, t.latency_bucket, t.tokens_in, t.tokens_out, t.feedback, t.frameworks, t.tools, t.mcp_servers, x.user_input, x.assistant_response, x.metadata FROM turns t JOIN turn_texts x ON x.seq = t.seq';

export function turnOfRow(r: TurnRow): Turn {
  const turn: Turn = {
    id: r.id,
    sessionId: r.session_id,
    at: r.at,
    userInput: r.user_input,
    assistantResponse: r.assistant_response,
    frameworks: JSON.parse(r.frameworks),
    tools: JSON.parse(r.tools),
    mcpServers: JSON.parse(r.mcp_servers),
    outcome: r.outcome,
  };
  if (r.conversation_id !== null) turn.conversationId = r.conversation_id;
  if (r.user_id !== null) turn.userId = r.user_id;
  if (r.persona !== null) turn.persona = r.persona;
  if (r.latency_ms !== null) turn.latencyMs = r.latency_ms;
  if (r.tokens_in !== null) turn.tokens = { input: r.tokens_in, output: r.tokens_out ?? 0 };
  if (r.error_code !== null) turn.errorCode = r.error_code;
  if (r.feedback !== null) turn.feedback = r.feedback;
  if (r.metadata !== null) turn.metadata = JSON.parse(r.metadata);
  return turn;
}

/**
 * The same join as `TURN_SELECT` for reads of many turns, selected as arrays (`.raw(true)`):
 * better-sqlite3 builds an object per row with a property per column, which was about 40% of a
 * history page; `turnOfCells` reads the cells in this order. No seq or latency bucket (a turn has neither).
 */
export const TURN_CELLS_SELECT =
  'SELECT t.id, t.session_id, t.at, x.user_input, x.assistant_response, t.frameworks, t.tools, t.mcp_servers, t.outcome, t.conversation_id, t.user_id, t.persona, t.latency_ms, t.tokens_in, t.tokens_out, t.error_code, t.feedback, x.metadata FROM turns t JOIN turn_texts x ON x.seq = t.seq';

/** A turn from a row of `TURN_CELLS_SELECT`, with the fields `turnOfRow` gives, in the same order. */
export function turnOfCells(c: unknown[]): Turn {
  const turn: Turn = {
    id: c[0] as string,
    sessionId: c[1] as string,
    at: c[2] as number,
    userInput: c[3] as string,
    assistantResponse: c[4] as string,
    frameworks: JSON.parse(c[5] as string),
    tools: JSON.parse(c[6] as string),
    mcpServers: JSON.parse(c[7] as string),
    outcome: c[8] as Turn['outcome'],
  };
  if (c[9] !== null) turn.conversationId = c[9] as string;
  if (c[10] !== null) turn.userId = c[10] as string;
  if (c[11] !== null) turn.persona = c[11] as string;
  if (c[12] !== null) turn.latencyMs = c[12] as number;
  if (c[13] !== null) turn.tokens = { input: c[13] as number, output: (c[14] as number | null) ?? 0 };
  if (c[15] !== null) turn.errorCode = c[15] as string;
  if (c[16] !== null) turn.feedback = c[16] as number;
  if (c[17] !== null) turn.metadata = JSON.parse(c[17] as string);
  return turn;
}

export interface ContextRow {
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

export function contextOfRow(r: ContextRow): Context {
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
  return withOptionalColumns(c, r);
}

/** Sets the optional context fields whose columns are not null (in the adapter's field order). */
export function withOptionalColumns<C extends Omit<Context, 'data' | 'metadata'>>(
  c: C,
  r: Pick<ContextRow, 'owner_id' | 'session_id' | 'persona' | 'parent_id' | 'expires_at'>,
): C {
  if (r.owner_id !== null) c.ownerId = r.owner_id;
  if (r.session_id !== null) c.sessionId = r.session_id;
  if (r.persona !== null) c.persona = r.persona;
  if (r.parent_id !== null) c.parentId = r.parent_id;
  if (r.expires_at !== null) c.expiresAt = r.expires_at;
  return c;
}

export interface AuditRow {
  id: string;
  at: number;
  principal: string;
  action: AuditEvent['action'];
  context_id: string;
  scope: AuditEvent['scope'];
  outcome: AuditEvent['outcome'];
  changed_keys: string;
  attempted_action: AuditEvent['action'] | null;
  version: number | null;
}

export function auditOfRow(r: AuditRow): AuditEvent {
  const e: AuditEvent = {
    id: r.id,
    at: r.at,
    principal: r.principal,
    action: r.action,
    contextId: r.context_id,
    scope: r.scope,
    outcome: r.outcome,
    changedKeys: JSON.parse(r.changed_keys),
  };
  if (r.attempted_action !== null) e.attemptedAction = r.attempted_action;
  if (r.version !== null) e.version = r.version;
  return e;
}
