import { ConvokitError } from './errors.js';

/**
 * Opaque keyset cursors: base64url JSON of the last item's sort key plus a fingerprint of the
 * query, so a cursor replayed against another filter or order is refused instead of misread.
 */
export function encodeCursor(key: readonly (string | number)[], fingerprint: string): string {
  return Buffer.from(JSON.stringify({ k: key, f: fingerprint }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, fingerprint: string, where: string): (string | number)[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor(where, 'not a cursor this store issued');
  }
  const value = parsed as { k?: unknown; f?: unknown };
  if (
    typeof value !== 'object' ||
    value === null ||
    !Array.isArray(value.k) ||
    !value.k.every((p) => typeof p === 'string' || typeof p === 'number')
  ) {
    throw badCursor(where, 'not a cursor this store issued');
  }
  if (value.f !== fingerprint) throw badCursor(where, 'issued for a different filter or order');
  return value.k as (string | number)[];
}

function badCursor(where: string, why: string): ConvokitError {
  return new ConvokitError('VALIDATION', `Invalid cursor for ${where}: ${why}`, {
    where,
    issues: [{ path: 'cursor', message: why }],
  });
}

/** A stable fingerprint of a filter/order object (key order does not matter). */
export function fingerprint(value: unknown): string {
  return stableStringify(value);
}

/** JSON with object keys sorted, for cache keys and fingerprints. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}
