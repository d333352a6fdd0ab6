import { type Turn, tokenize } from '@convokit/core';

/**
 * What the FTS table indexes for a turn: core terms of both texts, space-separated (`terms`),
 * with the two token lists (the postings count them).
 */
export function searchTerms(turn: Pick<Turn, 'userInput' | 'assistantResponse'>): {
  user: string[];
  response: string[];
  terms: string;
} {
  const user = tokenize(turn.userInput);
  const response = tokenize(turn.assistantResponse);
  return { user, response, terms: `${user.join(' ')} ${response.join(' ')}` };
}
