import type { JsonObject } from '@convokit/core';
import { ConvokitError } from '@convokit/core';
import { JsonMeter, jsonBoundFast, lastBoundDepth } from './json.js';
import type { ResolvedLimits } from './options.js';

export interface Measured {
  /** UTF-8 bytes of the JSON of `data` plus that of `metadata`, or an upper bound of them. */
  bytes: number;
  /** The deeper nesting of the two, exact. */
  depth: number;
}

/** Measures trusted (already checked) data and metadata exactly. */
export function measure(data: JsonObject, metadata: JsonObject): Measured {
  const meter = new JsonMeter();
  const bytes = meter.bytes(data) + meter.bytes(metadata);
  return { bytes, depth: meter.depth };
}

/** As `measure`, with an upper bound of the bytes (see `JsonMeter`): no look at the characters. */
export function measureBound(data: JsonObject, metadata: JsonObject): Measured {
  // The fast walk first (no meter object); the meter for anything it refuses.
  const dataBytes = jsonBoundFast(data);
  if (dataBytes >= 0) {
    const dataDepth = lastBoundDepth();
    const metaBytes = jsonBoundFast(metadata);
    if (metaBytes >= 0) return { bytes: dataBytes + metaBytes, depth: Math.max(dataDepth, lastBoundDepth()) };
  }
  const meter = new JsonMeter(undefined, '', true);
  const bytes = meter.bytes(data) + meter.bytes(metadata);
  return { bytes, depth: meter.depth };
}

/** UTF-8 bytes of the JSON of `data` and `metadata`: what `limits.maxBytes` bounds. */
export function serializedBytes(data: JsonObject, metadata: JsonObject): number {
  return measure(data, metadata).bytes;
}

/**
 * Throws `LIMIT` when a context's data would exceed the size or depth limits. `bytes` may be an
 * upper bound: only when it exceeds `maxBytes` are `data` and `metadata` measured exactly.
 */
export function checkDataLimits(
  bytesBound: number,
  depth: number,
  limits: ResolvedLimits,
  contextId: string,
  data: JsonObject,
  metadata: JsonObject,
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
  if (bytesBound <= limits.maxBytes) return;
  const bytes = serializedBytes(data, metadata);
  if (bytes > limits.maxBytes) {
    throw new ConvokitError(
      'LIMIT',
      `Context ${contextId}: data and metadata take ${bytes} bytes as JSON, the limit is ${limits.maxBytes}`,
      { limit: 'maxBytes', max: limits.maxBytes, actual: bytes, contextId },
    );
  }
}
