import { ConvokitError } from '@convokit/core';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** Structured content for a tool answer, with the same JSON as text for clients that read only text. */
export function ok(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

/**
 * A failed tool call: the error's code leads the text and is in the structured content, so a
 * client (or a model) can tell a bad argument from a conflict from a storage outage. Unknown
 * failures are reported as STORAGE without their stack.
 */
export function fail(error: unknown): CallToolResult {
  const e = ConvokitError.is(error)
    ? error
    : new ConvokitError('STORAGE', error instanceof Error ? error.message : String(error));
  const body = e.toJSON();
  return {
    isError: true,
    content: [{ type: 'text', text: `${body.code}: ${body.message}` }],
    structuredContent: { error: { code: body.code, message: body.message, details: body.details } },
  };
}

/** Runs a tool body; a throw becomes a tool error instead of taking the server down. */
export async function guarded(body: () => Promise<Record<string, unknown>>): Promise<CallToolResult> {
  try {
    return ok(await body());
  } catch (error) {
    return fail(error);
  }
}
