import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  createIdGenerator,
  createLogger,
  createManualClock,
  decodeCursor,
  encodeCursor,
  Metrics,
  makeSnippet,
  stableStringify,
  tokenize,
} from '../src/index.js';

describe('ids', () => {
  it('are time-ordered and strictly increasing within one millisecond', () => {
    const clock = createManualClock(1_700_000_000_000);
    const next = createIdGenerator(clock);
    const a = next();
    const b = next();
    clock.advance(1);
    const c = next();
    expect(a < b && b < c).toBe(true);
    expect(a).toHaveLength(26);
  });
});

describe('cursors', () => {
  it('round-trip and refuse a cursor from another query', () => {
    const cursor = encodeCursor([1234, 'id-9'], 'f1');
    expect(decodeCursor(cursor, 'f1', 'turns.list')).toEqual([1234, 'id-9']);
    expect(() => decodeCursor(cursor, 'f2', 'turns.list')).toThrow(/different filter/);
    expect(() => decodeCursor('garbage!', 'f1', 'turns.list')).toThrow(/Invalid cursor/);
  });

  it('fingerprints ignore key order', () => {
    expect(stableStringify({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe(
      stableStringify({ a: [1, { c: 3, d: 2 }], b: 1 }),
    );
  });
});

describe('search text', () => {
  it('tokenizes letters and digits, lower-cased', () => {
    expect(tokenize('Kubernetes-rollout: OKR v2!')).toEqual(['kubernetes', 'rollout', 'okr', 'v2']);
  });

  it('marks whole-word matches in the snippet', () => {
    const s = makeSnippet('Plan the OKR review; okrs are not okr.', new Set(['okr']));
    expect(s).toBe('Plan the <mark>OKR</mark> review; okrs are not <mark>okr</mark>.');
  });
});

describe('logger', () => {
  it('is silent by default and redacts conversation text and context values', () => {
    expect(createLogger('x').level).toBe('silent');
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger('test', pino({ level: 'info' }, sink));
    log.info(
      { turn: { userInput: 'secret question', assistantResponse: 'secret answer' }, data: { k: 'v' } },
      'hi',
    );
    const out = lines.join('');
    expect(out).toContain('"component":"test"');
    expect(out).not.toContain('secret');
    expect(out).not.toContain('"v"');
    expect(out).toContain('[redacted]');
  });
});

describe('metrics', () => {
  it('counts and summarises latencies', async () => {
    const m = new Metrics();
    m.increment('queries');
    m.increment('queries', 2);
    m.observe('q', 10);
    m.observe('q', 30);
    await m.time('t', async () => 1);
    const snap = m.snapshot();
    expect(snap.counters.queries).toBe(3);
    expect(snap.latencies.q).toMatchObject({ count: 2, avg: 20, max: 30 });
    expect(snap.latencies.t!.count).toBe(1);
  });
});
