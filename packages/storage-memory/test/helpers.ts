import type { Context, Turn } from '@convokit/core';

/** A turn with every required field; `over` sets the rest. */
export function turn(over: Partial<Turn> & { id: string }): Turn {
  return {
    sessionId: 's1',
    at: 1_000,
    userInput: '',
    assistantResponse: '',
    frameworks: [],
    tools: [],
    mcpServers: [],
    outcome: 'ok',
    ...over,
  };
}

export function context(over: Partial<Context> & { id: string }): Context {
  return {
    scope: 'session',
    data: {},
    metadata: {},
    version: 1,
    createdAt: 1_000,
    updatedAt: 1_000,
    accessCount: 0,
    lastAccessedAt: 1_000,
    ...over,
  };
}
