import { ConvokitError, createManualClock } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, createConversationalDataManager, isStorageFailure } from '../src/index.js';
import { FULL, fixtureTurns, NOW } from './fixtures.js';
import { flakyStorage } from './helpers.js';

const Q = { type: 'performance_metrics', timeRange: FULL } as const;

async function setupFlaky(cache: false | { ttlMs: number } = false) {
  const clock = createManualClock(NOW);
  const storage = flakyStorage(createMemoryStorage({ clock }));
  const manager = createConversationalDataManager({
    storage,
    clock,
    cache,
    circuitBreaker: { failureThreshold: 3, cooldownMs: 10_000 },
  });
  await manager.recordTurns(fixtureTurns());
  return { clock, storage, manager };
}

describe('storage failures and the circuit breaker', () => {
  it('a failing store gives STORAGE with the cause; recovery works', async () => {
    const { storage, manager } = await setupFlaky();
    storage.failing = true;
    const res = await manager.query(Q);
    expect(res.success).toBe(false);
    expect(res.data).toBeNull();
    expect(res.error?.code).toBe('STORAGE');
    expect(res.error?.details.cause).toBe('disk I/O error');
    expect(manager.getMetrics().counters['storage.failures']).toBe(1);
    storage.failing = false;
    expect((await manager.query(Q)).success).toBe(true);
  });

  it('opens after N consecutive failures, fails fast during the cooldown, half-opens after it', async () => {
    const { clock, storage, manager } = await setupFlaky();
    storage.failing = true;
    for (let i = 0; i < 3; i++) await manager.query(Q);
    expect(manager.getMetrics().circuit).toMatchObject({
      state: 'open',
      consecutiveFailures: 3,
      openedAt: NOW,
    });
    const callsBefore = storage.calls;
    const fast = await manager.query(Q);
    expect(fast.error?.code).toBe('STORAGE');
    expect(fast.error?.details).toMatchObject({ circuit: 'open', retryAt: NOW + 10_000 });
    expect(storage.calls).toBe(callsBefore); // the store was not touched
    expect(manager.getMetrics().counters['circuit.rejections']).toBe(1);

    clock.advance(10_000);
    expect(manager.getMetrics().circuit.state).toBe('half-open');
    const trial = await manager.query(Q); // still failing: open again for another cooldown
    expect(trial.error?.details.circuit).toBeUndefined();
    expect(manager.getMetrics().circuit).toMatchObject({ state: 'open', openedAt: NOW + 10_000 });

    storage.failing = false;
    expect((await manager.query(Q)).error?.details.circuit).toBe('open');
    clock.advance(10_000);
    expect((await manager.query(Q)).success).toBe(true);
    expect(manager.getMetrics().circuit).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
    expect(manager.getMetrics().counters['circuit.opened']).toBe(2);
  });

  it('never hides a lost write: recordTurn throws while failing and while open', async () => {
    const { storage, manager } = await setupFlaky();
    storage.failing = true;
    const turn = { sessionId: 'x', userInput: 'a', assistantResponse: 'b' };
    for (let i = 0; i < 3; i++) {
      await expect(manager.recordTurn(turn)).rejects.toMatchObject({ code: 'STORAGE' });
    }
    const open = await manager.recordTurn(turn).catch((e: unknown) => e);
    expect(ConvokitError.is(open, 'STORAGE')).toBe(true);
    expect((open as ConvokitError).details.circuit).toBe('open');
  });

  it('serves an expired answer marked degraded when the store fails', async () => {
    const { clock, storage, manager } = await setupFlaky({ ttlMs: 1000 });
    const fresh = await manager.query(Q);
    clock.advance(1001);
    storage.failing = true;
    const stale = await manager.query(Q);
    expect(stale).toMatchObject({ success: true, metadata: { cacheHit: true, degraded: true } });
    expect(stale.error?.code).toBe('STORAGE');
    expect(stale.data).toMatchObject({ overall: (fresh.data as { overall: unknown }).overall });
    // A write outside the answer's period cannot change it: the expired answer may still serve.
    storage.failing = false;
    await manager.recordTurn({ sessionId: 'x', at: FULL.to, userInput: 'a', assistantResponse: 'b' });
    storage.failing = true;
    expect((await manager.query(Q)).metadata.degraded).toBe(true);
    // A write inside it drops the answer, expired or not: nothing from before it is left to serve.
    storage.failing = false;
    await manager.recordTurn({ sessionId: 'x', at: FULL.to - 1, userInput: 'a', assistantResponse: 'b' });
    storage.failing = true;
    const after = await manager.query(Q);
    expect(after.success).toBe(false);
  });

  it('caller errors do not count as storage failures', async () => {
    const clock = createManualClock(0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 5 }, clock, 'test');
    const validation = new ConvokitError('VALIDATION', 'bad');
    await expect(breaker.run(() => Promise.reject(validation), isStorageFailure)).rejects.toBe(validation);
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(() => Promise.reject(new Error('boom')), isStorageFailure)).rejects.toThrow(
      'boom',
    );
    expect(breaker.state).toBe('open');
  });

  it('half-open lets one trial through; concurrent calls fail fast', async () => {
    const clock = createManualClock(0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 5 }, clock, 'test');
    await breaker.run(() => Promise.reject(new Error('x')), isStorageFailure).catch(() => {});
    clock.advance(5);
    let release!: () => void;
    const trial = breaker.run(() => new Promise<void>((r) => (release = r)), isStorageFailure);
    await expect(breaker.run(async () => 1, isStorageFailure)).rejects.toMatchObject({
      code: 'STORAGE',
      details: { circuit: 'half-open' },
    });
    release();
    await trial;
    expect(breaker.state).toBe('closed');
  });
});

describe('caller errors in the breaker', () => {
  it('neither reset the failure count nor close a half-open circuit', async () => {
    const clock = createManualClock(0);
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 5 }, clock, 'test');
    const fail = () => breaker.run(() => Promise.reject(new Error('x')), isStorageFailure).catch(() => {});
    const callerError = () =>
      breaker
        .run(() => Promise.reject(new ConvokitError('LIMIT', 'too long')), isStorageFailure)
        .catch(() => {});
    await fail();
    await callerError();
    await fail();
    expect(breaker.snapshot()).toMatchObject({ state: 'open', consecutiveFailures: 2 });
    clock.advance(5);
    await callerError(); // the trial never reached the store
    expect(breaker.state).toBe('half-open');
    await breaker.run(async () => 'ok', isStorageFailure);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });
});
