import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { Watchdog } from '../src/watchdog.js';

/** A clock moved by hand alongside vitest's fake timers. */
function manualClock() {
  let t = 0;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
      vi.advanceTimersByTime(ms);
    },
  };
}

const expired = (ms: number) => () => new Error(`late ${ms}`);

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets settled promises' reactions run. */
async function flush() {
  for (let k = 0; k < 5; k++) await Promise.resolve();
}

/** Settles `p` into an observable state without awaiting it. */
function observe<T>(p: Promise<T>) {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

describe('Watchdog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('passes a result and an error through, and forgets the call', async () => {
    const dog = new Watchdog(manualClock().now);
    await expect(dog.watch(Promise.resolve(7), 100, expired(100))).resolves.toBe(7);
    await expect(dog.watch(Promise.reject(new Error('boom')), 100, expired(100))).rejects.toThrow('boom');
    expect(dog.size).toBe(0);
  });

  test('rejects with the timeout error exactly at the deadline, not before', async () => {
    const clock = manualClock();
    const dog = new Watchdog(clock.now);
    const state = observe(dog.watch(deferred<number>().promise, 100, expired(100)));
    clock.advance(99);
    await Promise.resolve();
    expect(state.settled).toBe(false);
    clock.advance(1);
    await vi.waitFor(() => expect(state.settled).toBe(true));
    expect((state.error as Error).message).toBe('late 100');
    expect(dog.size).toBe(0);
  });

  test('a call settled in time is not rejected later, and a later call still gets its own deadline', async () => {
    const clock = manualClock();
    const dog = new Watchdog(clock.now);
    const first = deferred<string>();
    const a = observe(dog.watch(first.promise, 100, expired(100)));
    clock.advance(60);
    const b = observe(dog.watch(deferred<string>().promise, 100, expired(100)));
    first.resolve('a');
    await flush();
    clock.advance(40); // a's deadline passes: the timer fires, finds b not yet due
    await vi.waitFor(() => expect(a.settled).toBe(true));
    expect(a.value).toBe('a');
    expect(b.settled).toBe(false);
    clock.advance(59);
    await Promise.resolve();
    expect(b.settled).toBe(false);
    clock.advance(1);
    await vi.waitFor(() => expect(b.settled).toBe(true));
    expect((b.error as Error).message).toBe('late 100');
  });

  test('a shorter deadline than the armed one fires first', async () => {
    const clock = manualClock();
    const dog = new Watchdog(clock.now);
    const long = observe(dog.watch(deferred().promise, 1000, expired(1000)));
    const short = observe(dog.watch(deferred().promise, 10, expired(10)));
    clock.advance(10);
    await vi.waitFor(() => expect(short.settled).toBe(true));
    expect(long.settled).toBe(false);
    clock.advance(990);
    await vi.waitFor(() => expect(long.settled).toBe(true));
  });

  test('property: every call expires exactly when start + deadline is reached, unless settled first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            start: fc.integer({ min: 0, max: 50 }),
            deadline: fc.integer({ min: 1, max: 50 }),
            settleAfter: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (calls) => {
          vi.useFakeTimers();
          const clock = manualClock();
          const dog = new Watchdog(clock.now);
          const states: ReturnType<typeof observe>[] = [];
          const settleAt = new Map<number, () => void>();
          for (let t = 0; t <= 120; t++) {
            for (const [i, c] of calls.entries()) {
              if (c.start !== t) continue;
              const d = deferred<number>();
              states[i] = observe(dog.watch(d.promise, c.deadline, expired(c.deadline)));
              if (c.settleAfter !== undefined) settleAt.set(i, () => d.resolve(i));
            }
            for (const [i, c] of calls.entries()) {
              if (c.settleAfter !== undefined && c.start + c.settleAfter === t) settleAt.get(i)?.();
            }
            // Let settlements and expiries of this instant run before time moves on.
            await flush();
            clock.advance(1);
          }
          await flush();
          for (const [i, c] of calls.entries()) {
            const timedOut = c.settleAfter === undefined || c.settleAfter >= c.deadline;
            const state = states[i]!;
            expect(state.settled).toBe(true);
            if (timedOut) expect((state.error as Error).message).toBe(`late ${c.deadline}`);
            else expect(state.value).toBe(i);
          }
          expect(dog.size).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });
});
