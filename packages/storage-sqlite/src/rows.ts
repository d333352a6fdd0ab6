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
