import type { Turn } from '@convokit/core';

let seq = 0;

/** A stored turn with defaults for what a test does not care about. */
export function turn(fields: Partial<Turn> & { at: number }): Turn {
  seq += 1;
  return {
    id: `t${String(seq).padStart(6, '0')}`,
    sessionId: 's1',
    userInput: 'question',
    assistantResponse: 'answer',
    frameworks: [],
    tools: [],
    mcpServers: [],
    outcome: 'ok',
    ...fields,
  };
}
