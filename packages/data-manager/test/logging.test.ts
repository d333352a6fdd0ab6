import { createManualClock, type Logger } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { describe, expect, it } from 'vitest';
import { createConversationalDataManager } from '../src/index.js';
import { NOW } from './fixtures.js';
import { flakyStorage } from './helpers.js';

/** A logger that records what the manager hands it (pino's child/level methods, nothing else). */
function recordingLogger() {
  const lines: Array<{ level: string; bindings: unknown; obj: unknown; msg: unknown }> = [];
  const make = (bindings: unknown): unknown => {
    const log = (level: string) => (obj: unknown, msg?: unknown) => lines.push({ level, bindings, obj, msg });
    return {
      child: (b: unknown, options: unknown) => make({ b, options }),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      trace: log('trace'),
      fatal: log('fatal'),
    };
  };
  return { logger: make(null) as Logger, lines };
}

describe('logging', () => {
  it('logs failures and circuit changes under the data-manager component, never conversation text', async () => {
    const { logger, lines } = recordingLogger();
    const clock = createManualClock(NOW);
    const storage = flakyStorage(createMemoryStorage({ clock }));
    const manager = createConversationalDataManager({
      storage,
      clock,
      logger,
      circuitBreaker: { failureThreshold: 1 },
    });
    storage.failing = true;
    await expect(
      manager.recordTurn({
        sessionId: 's',
        userInput: 'secret question',
        assistantResponse: 'secret answer',
      }),
    ).rejects.toMatchObject({ code: 'STORAGE' });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'storage circuit open'],
      ['warn', 'storage call failed'],
      ['error', 'recording turns failed'],
    ]);
    const text = JSON.stringify(lines);
    expect(text).not.toContain('secret');
    // Every line comes from the child created by core's createLogger, which binds the component
    // and the redaction paths.
    for (const line of lines) {
      expect(line.bindings).toMatchObject({
        b: { component: 'data-manager' },
        options: { redact: { censor: '[redacted]' } },
      });
    }
  });
});
