import { type Clock, ConvokitError } from '@convokit/core';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive storage failures that open the circuit. Default 5. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before letting one trial call through. Default 30 000. */
  cooldownMs: number;
}

export interface CircuitSnapshot {
  state: CircuitState;
  consecutiveFailures: number;
  /** When the circuit last opened; null while it has never opened since the last success. */
  openedAt: number | null;
  /** When an open circuit lets the next trial through; null unless open. */
  retryAt: number | null;
}

/**
 * Stops hammering a failing store: after `failureThreshold` consecutive failures every call fails
 * fast for `cooldownMs`; then one trial call is let through (half-open). Its success closes the
 * circuit, its failure opens it for another cooldown. Errors that are the caller's fault
 * (validation, conflicts, limits) are neither failures nor successes.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #clock: Clock;
  readonly #adapter: string;
  readonly #onChange: (state: CircuitState, snapshot: CircuitSnapshot) => void;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt: number | null = null;
  #trialInFlight = false;

  constructor(
    options: CircuitBreakerOptions,
    clock: Clock,
    adapter: string,
    onChange: (state: CircuitState, snapshot: CircuitSnapshot) => void = () => {},
  ) {
    this.#options = options;
    this.#clock = clock;
    this.#adapter = adapter;
    this.#onChange = onChange;
  }

  /** The state as the next call would see it (an open circuit past its cooldown reads half-open). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#clock.now() >= this.#retryAt()) return 'half-open';
    return this.#state;
  }

  snapshot(): CircuitSnapshot {
    const state = this.state;
    return {
      state,
      consecutiveFailures: this.#failures,
      openedAt: this.#openedAt,
      retryAt: state === 'open' ? this.#retryAt() : null,
    };
  }

  async run<T>(fn: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
    this.#admit();
    const trial = this.#state === 'half-open';
    try {
      const value = await fn();
      this.#succeeded();
      return value;
    } catch (error) {
      // A caller's error (bad input, a conflict) may be thrown before the store is reached, so it
      // proves nothing either way: no failure counted, and a half-open circuit stays half-open.
      if (isFailure(error)) this.#failed();
      throw error;
    } finally {
      if (trial) this.#trialInFlight = false;
    }
  }

  #admit(): void {
    if (this.#state === 'open') {
      if (this.#clock.now() < this.#retryAt()) throw this.#refusal('open');
      this.#set('half-open');
    }
    if (this.#state === 'half-open') {
      if (this.#trialInFlight) throw this.#refusal('half-open');
      this.#trialInFlight = true;
    }
  }

  #succeeded(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') {
      this.#openedAt = null;
      this.#set('closed');
    }
  }

  #failed(): void {
    this.#failures += 1;
    if (this.#state === 'half-open' || this.#failures >= this.#options.failureThreshold) {
      this.#openedAt = this.#clock.now();
      this.#set('open');
    }
  }

  #retryAt(): number {
    return (this.#openedAt ?? 0) + this.#options.cooldownMs;
  }

  #set(state: CircuitState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onChange(state, this.snapshot());
  }

  #refusal(circuit: 'open' | 'half-open'): ConvokitError {
    const retryAt = this.#retryAt();
    const message =
      circuit === 'open'
        ? `The ${this.#adapter} storage failed ${this.#failures} times in a row; calls are refused until ${new Date(retryAt).toISOString()}`
        : `The ${this.#adapter} storage is being retried by another call; try again shortly`;
    return new ConvokitError('STORAGE', message, {
      adapter: this.#adapter,
      circuit,
      consecutiveFailures: this.#failures,
      retryAt,
    });
  }
}

/** Whether an error means the store failed (as opposed to refusing bad input). */
export function isStorageFailure(error: unknown): boolean {
  if (!ConvokitError.is(error)) return true;
  return error.code === 'STORAGE' || error.code === 'LOCKED';
}
