import type { ConversationalQueryInput } from '@convokit/core';
import type { ParsedQuery } from './parse.js';

/** The data-manager query a parsed question asks for. */
export function toConversationalQuery(parsed: ParsedQuery): ConversationalQueryInput {
  const query: ConversationalQueryInput = {
    type: parsed.type,
    timeRange: { ...parsed.timeRange },
    filters: { ...parsed.filters },
  };
  if (parsed.aggregation) query.aggregation = parsed.aggregation;
  if (parsed.limit !== undefined) query.pagination = { limit: parsed.limit };
  const options: NonNullable<ConversationalQueryInput['options']> = {};
  if (parsed.view) options.view = parsed.view;
  if (parsed.topN !== undefined) options.topN = parsed.topN;
  if (Object.keys(options).length > 0) query.options = options;
  return query;
}
