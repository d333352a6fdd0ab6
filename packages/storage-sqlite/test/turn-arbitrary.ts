import type { Turn } from '@convokit/core';
import fc from 'fast-check';

/** `undefined` or a value of `arb`. */
export const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** What varies between the property tests' turns: the times and the pools names come from. */
export interface TurnPools {
  /** Offsets from the test's start time, in ms. */
  at: fc.Arbitrary<number>;
  sessions: number;
  personas: string[];
  frameworks: string[];
  conversations?: string[];
  latencyMaxMs: number;
}

/** A turn's varying fields, made small enough to hit every key often. */
export function rawTurnArb(pools: TurnPools) {
  return fc.record({
    at: pools.at,
    session: fc.integer({ min: 0, max: pools.sessions - 1 }),
    user: maybe(fc.constantFrom('u1', 'u2', 'u3')),
    persona: maybe(fc.constantFrom(...pools.personas)),
    conversation: pools.conversations
      ? maybe(fc.constantFrom(...pools.conversations))
      : fc.constant(undefined),
    frameworks: fc.subarray(pools.frameworks),
    tools: fc.subarray(['search', 'calc']),
    mcpServers: fc.subarray(['m1', 'm2']),
    // Whole milliseconds and halves: every sum is exact whatever order it is added in.
    latencyMs: maybe(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: pools.latencyMaxMs }))),
    tokens: maybe(fc.record({ input: fc.nat(500), output: fc.nat(500) })),
    error: fc.boolean(),
    feedback: maybe(fc.constantFrom(-1, -0.5, 0, 0.5, 1)),
  });
}

export type RawTurn = ReturnType<typeof rawTurnArb> extends fc.Arbitrary<infer T> ? T : never;

/** Turns with ids `t0000`, `t0001`, ... at `start` plus each raw offset. */
export function toTurns(raw: readonly RawTurn[], start: number): Turn[] {
  return raw.map((r, i) => {
    const t: Turn = {
      id: `t${String(i).padStart(4, '0')}`,
      sessionId: `s${r.session}`,
      at: start + r.at,
      userInput: 'question',
      assistantResponse: 'answer',
      frameworks: r.frameworks,
      tools: r.tools,
      mcpServers: r.mcpServers,
      outcome: r.error ? 'error' : 'ok',
    };
    if (r.user) t.userId = r.user;
    if (r.persona) t.persona = r.persona;
    if (r.conversation) t.conversationId = r.conversation;
    if (r.latencyMs !== undefined) t.latencyMs = r.latencyMs;
    if (r.tokens) t.tokens = r.tokens;
    if (r.feedback !== undefined) t.feedback = r.feedback;
    return t;
  });
}
