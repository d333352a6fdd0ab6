import type { Turn, TurnFilter } from './schemas/turn.js';

/** A TurnFilter with every list field as an array (or absent), as adapters evaluate it. */
export interface NormalizedTurnFilter {
  from?: number;
  to?: number;
  sessionId?: string[];
  conversationId?: string[];
  userId?: string[];
  persona?: string[];
  framework?: string[];
  tool?: string[];
  mcpServer?: string[];
  outcome?: 'ok' | 'error';
}

const LIST_FIELDS = [
  'sessionId',
  'conversationId',
  'userId',
  'persona',
  'framework',
  'tool',
  'mcpServer',
] as const;

export function normalizeTurnFilter(filter: TurnFilter = {}): NormalizedTurnFilter {
  const out: NormalizedTurnFilter = {};
  if (filter.from !== undefined) out.from = filter.from;
  if (filter.to !== undefined) out.to = filter.to;
  if (filter.outcome !== undefined) out.outcome = filter.outcome;
  for (const field of LIST_FIELDS) {
    const value = filter[field];
    if (value !== undefined) out[field] = [...new Set(Array.isArray(value) ? value : [value])];
  }
  return out;
}

/** Whether `turn` passes `filter`: the reference semantics every adapter implements. */
export function matchesTurnFilter(turn: Turn, f: NormalizedTurnFilter): boolean {
  if (f.from !== undefined && turn.at < f.from) return false;
  if (f.to !== undefined && turn.at >= f.to) return false;
  if (f.outcome !== undefined && turn.outcome !== f.outcome) return false;
  if (f.sessionId && !f.sessionId.includes(turn.sessionId)) return false;
  if (
    f.conversationId &&
    (turn.conversationId === undefined || !f.conversationId.includes(turn.conversationId))
  )
    return false;
  if (f.userId && (turn.userId === undefined || !f.userId.includes(turn.userId))) return false;
  if (f.persona && (turn.persona === undefined || !f.persona.includes(turn.persona))) return false;
  if (f.framework && !turn.frameworks.some((x) => f.framework!.includes(x))) return false;
  if (f.tool && !turn.tools.some((x) => f.tool!.includes(x))) return false;
  if (f.mcpServer && !turn.mcpServers.some((x) => f.mcpServer!.includes(x))) return false;
  return true;
}
