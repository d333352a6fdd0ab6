import { type Turn, TurnSchema, validate } from '@convokit/core';
import { isKey, underPath } from './checks.js';
import { type Frozen, freezeInPlace } from './json.js';

const OPTIONAL: ReadonlySet<string> = new Set([
  'conversationId',
  'userId',
  'persona',
  'errorCode',
  'latencyMs',
  'feedback',
  'tokens',
  'metadata',
]);

/** Shared by every turn with an empty list, to spare an allocation per turn. */
const NONE: string[] = Object.freeze([]) as unknown as string[];

function names(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length > 100) return undefined;
  if (value.length === 0) return NONE;
  const out: string[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const name = value[i];
    if (!isKey(name)) return undefined;
    for (let j = 0; j < i; j++) if (out[j] === name) return undefined;
    out[i] = name;
  }
  return Object.freeze(out) as string[];
}

/**
 * A frozen copy of one turn of a batch. The common case (a well-formed turn) is checked by hand
 * field for field against TurnSchema, several times faster than the schema; anything the fast
 * check is unsure of goes through the schema itself, so acceptance and errors are the schema's.
 */
export function checkTurn(value: unknown, index: number, frozen: Frozen): Turn {
  const fast = fastTurn(value, frozen);
  if (fast !== undefined) return fast;
  const turn = underPath(() => validate(TurnSchema, value, 'turns.append'), String(index));
  return frozen.fresh(turn);
}

function fastTurn(value: unknown, frozen: Frozen): Turn | undefined {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return undefined;
  const v = value as Record<string, unknown>;
  const { id, sessionId, at, userInput, assistantResponse, outcome } = v;
  if (!isKey(id) || !isKey(sessionId)) return undefined;
  if (typeof at !== 'number' || !Number.isInteger(at) || at < 0 || at > 8.64e15) return undefined;
  if (typeof userInput !== 'string' || userInput.length > 1_000_000) return undefined;
  if (typeof assistantResponse !== 'string' || assistantResponse.length > 1_000_000) return undefined;
  if (outcome !== 'ok' && outcome !== 'error') return undefined;
  const frameworks = names(v.frameworks);
  const tools = names(v.tools);
  const mcpServers = names(v.mcpServers);
  if (frameworks === undefined || tools === undefined || mcpServers === undefined) return undefined;
  const turn: Turn = {
    id,
    sessionId,
    at,
    userInput,
    assistantResponse,
    frameworks,
    tools,
    mcpServers,
    outcome,
  };
  let fields = 9;
  for (const key in v) {
    const x = v[key];
    switch (key) {
      case 'id':
      case 'sessionId':
      case 'at':
      case 'userInput':
      case 'assistantResponse':
      case 'outcome':
      case 'frameworks':
      case 'tools':
      case 'mcpServers':
        fields--;
        continue;
    }
    if (x === undefined) {
      // Zod's strict object still refuses an unknown key whose value is undefined.
      if (!OPTIONAL.has(key)) return undefined;
      continue;
    }
    switch (key) {
      case 'conversationId':
      case 'userId':
      case 'persona':
      case 'errorCode':
        if (!isKey(x)) return undefined;
        turn[key] = x;
        break;
      case 'latencyMs':
        if (typeof x !== 'number' || !(x >= 0 && x <= 1e9)) return undefined;
        turn.latencyMs = x;
        break;
      case 'feedback':
        if (typeof x !== 'number' || !(x >= -1 && x <= 1)) return undefined;
        turn.feedback = x;
        break;
      case 'tokens': {
        if (typeof x !== 'object' || x === null || Object.getPrototypeOf(x) !== Object.prototype)
          return undefined;
        const { input, output, ...rest } = x as Record<string, unknown>;
        for (const _ in rest) return undefined;
        if (!Number.isSafeInteger(input) || (input as number) < 0) return undefined;
        if (!Number.isSafeInteger(output) || (output as number) < 0) return undefined;
        turn.tokens = Object.freeze({ input: input as number, output: output as number });
        break;
      }
      case 'metadata': {
        const json = frozen.jsonObject(x);
        if (json === undefined) return undefined;
        turn.metadata = json;
        break;
      }
      default:
        return undefined;
    }
  }
  // A required field that is not an own enumerable property (inherited, say): ask the schema.
  if (fields !== 0) return undefined;
  return Object.freeze(turn);
}

/**
 * Freezes, in place, a turn that was valid when first written and that nobody else holds (see
 * `MemoryStorage.adoptMutation`). Empty name lists become the shared empty list, as `checkTurn`
 * makes them, which spares an object per list.
 */
export function adoptTurn(turn: Turn): Turn {
  const t = turn as { -readonly [K in keyof Turn]: Turn[K] };
  t.frameworks = adoptNames(t.frameworks);
  t.tools = adoptNames(t.tools);
  t.mcpServers = adoptNames(t.mcpServers);
  if (t.tokens !== undefined) Object.freeze(t.tokens);
  if (t.metadata !== undefined) freezeInPlace(t.metadata);
  return Object.freeze(turn);
}

function adoptNames(list: string[]): string[] {
  return Array.isArray(list) && list.length === 0 ? NONE : (Object.freeze(list) as string[]);
}
