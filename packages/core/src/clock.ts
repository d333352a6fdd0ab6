/** Time source, injected everywhere so expiry and time buckets are testable without sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ManualClock extends Clock {
  set(epochMs: number): void;
  advance(ms: number): void;
}

/** A clock that moves only when told to; for tests. */
export function createManualClock(start = 0): ManualClock {
  let current = start;
  return {
    now: () => current,
    set(epochMs) {
      current = epochMs;
    },
    advance(ms) {
      current += ms;
    },
  };
}
