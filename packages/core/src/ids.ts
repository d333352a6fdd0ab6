import { monotonicFactory } from 'ulid';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';

export type IdGenerator = () => string;

/**
 * ULIDs: 26 characters, lexicographically sortable by creation time, and strictly increasing
 * within one generator even when several are made in the same millisecond.
 */
export function createIdGenerator(clock: Clock = systemClock): IdGenerator {
  const next = monotonicFactory();
  return () => next(clock.now());
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DIGIT: Readonly<Record<string, number>> = Object.fromEntries([...CROCKFORD].map((c, i) => [c, i]));
const ULID_LEN = 26;
/** The random part: the last 16 characters, 80 bits. */
const ULID_RANDOM_LEN = 16;

/** Whether `value` is a ULID as the generators make them: 26 Crockford base-32 capitals. */
export function isUlid(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== ULID_LEN) return false;
  for (let i = 0; i < ULID_LEN; i++) if (DIGIT[value[i]!] === undefined) return false;
  // 48 bits of time: the first character is at most 7.
  return DIGIT[value[0]!]! <= 7;
}

/**
 * The ULID `k` places after `first` (`k` a non-negative safe integer): `first` with `k` added to
 * its 80-bit random part, which is what a monotonic generator hands out `k` calls after `first`
 * within one millisecond. A reserved range of `n` event ids is stored as its first id alone and
 * its `k`-th id recomputed from it. `undefined` when the random part would overflow.
 */
export function ulidAdd(first: string, k: number): string | undefined {
  const digits = new Array<number>(ULID_RANDOM_LEN);
  for (let i = 0; i < ULID_RANDOM_LEN; i++) digits[i] = DIGIT[first[ULID_LEN - ULID_RANDOM_LEN + i]!]!;
  let carry = k;
  for (let i = ULID_RANDOM_LEN - 1; i >= 0 && carry > 0; i--) {
    const sum = digits[i]! + (carry % 32);
    carry = Math.floor(carry / 32) + (sum >= 32 ? 1 : 0);
    digits[i] = sum % 32;
  }
  if (carry > 0) return undefined;
  let out = first.slice(0, ULID_LEN - ULID_RANDOM_LEN);
  for (const d of digits) out += CROCKFORD[d];
  return out;
}
