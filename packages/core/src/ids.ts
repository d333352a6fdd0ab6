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
