import type { JsonObject } from '@convokit/core';
import { ConvokitError } from '@convokit/core';
import type { ResolvedLimits } from './options.js';

/** UTF-8 bytes of the JSON of `data` and `metadata`: what `limits.maxBytes` bounds. */
export function serializedBytes(data: JsonObject, metadata: JsonObject): number {
  return jsonBytes(data) + jsonBytes(metadata);
}

function jsonBytes(value: JsonObject): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Throws `LIMIT` when a context's data would exceed the size or depth limits. */
export function checkDataLimits(
  data: JsonObject,
  metadata: JsonObject,
  depth: number,
  limits: ResolvedLimits,
  contextId: string,
): void {
  if (depth > limits.maxDepth) {
    throw new ConvokitError(
      'LIMIT',
      `Context ${contextId}: data nests ${depth} deep, the limit is ${limits.maxDepth}`,
      {
        limit: 'maxDepth',
        max: limits.maxDepth,
        actual: depth,
        contextId,
      },
    );
  }
  const bytes = serializedBytes(data, metadata);
  if (bytes > limits.maxBytes) {
    throw new ConvokitError(
      'LIMIT',
      `Context ${contextId}: data and metadata take ${bytes} bytes as JSON, the limit is ${limits.maxBytes}`,
      { limit: 'maxBytes', max: limits.maxBytes, actual: bytes, contextId },
    );
  }
}
