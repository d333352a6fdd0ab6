import { describe, expect, it } from 'vitest';
import {
  ConversationalQuerySchema,
  ConvokitError,
  TurnFilterSchema,
  TurnInputSchema,
  TurnSchema,
  validate,
} from '../src/index.js';

function caught(fn: () => unknown): ConvokitError {
  try {
    fn();
  } catch (error) {
    if (ConvokitError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ConvokitError');
}

describe('ConvokitError', () => {
  it('is recognised by brand, even from another copy of the package', () => {
    const e = new ConvokitError('CONFLICT', 'stale', { actualVersion: 3 });
    expect(ConvokitError.is(e)).toBe(true);
    expect(ConvokitError.is(e, 'CONFLICT')).toBe(true);
    expect(ConvokitError.is(e, 'NOT_FOUND')).toBe(false);
    const foreign = Object.assign(new Error('x'), { [Symbol.for('convokit.error')]: true, code: 'LIMIT' });
    expect(ConvokitError.is(foreign, 'LIMIT')).toBe(true);
    expect(ConvokitError.is(new Error('plain'))).toBe(false);
  });

  it('serialises code, message and details without the stack', () => {
    const e = new ConvokitError('LIMIT', 'too big', { bytes: 300_000 }, { cause: new Error('inner') });
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      name: 'ConvokitError',
      code: 'LIMIT',
      message: 'too big',
      details: { bytes: 300_000 },
    });
    expect((e.cause as Error).message).toBe('inner');
  });

  it('wraps driver failures as STORAGE and keeps ConvokitErrors as they are', () => {
    const wrapped = ConvokitError.storage('append failed', new Error('disk full'), { path: '/x' });
    expect(wrapped.code).toBe('STORAGE');
    expect(wrapped.message).toBe('append failed: disk full');
    const original = new ConvokitError('LOCKED', 'busy');
    expect(ConvokitError.storage('x', original)).toBe(original);
  });
});

describe('validate', () => {
  it('names the call, the field and what was wrong', () => {
    const e = caught(() => validate(TurnInputSchema, { sessionId: '', userInput: 'hi' }, 'recordTurn'));
    expect(e.code).toBe('VALIDATION');
    expect(e.details.where).toBe('recordTurn');
    const paths = (e.details.issues as { path: string }[]).map((i) => i.path);
    expect(paths).toContain('sessionId');
    expect(paths).toContain('assistantResponse');
    expect(e.message).toMatch(/^Invalid input to recordTurn: /);
  });

  it('fills defaults for a recorded turn and collapses repeated names', () => {
    const turn = validate(
      TurnInputSchema,
      { sessionId: 's', userInput: 'q', assistantResponse: 'a', frameworks: ['okr', 'okr', 'swot'] },
      'recordTurn',
    );
    expect(turn.frameworks).toEqual(['okr', 'swot']);
    expect(turn.tools).toEqual([]);
    expect(turn.outcome).toBe('ok');
  });

  it('refuses a stored turn with repeated names, unknown fields or a fractional time', () => {
    const base = {
      id: 't1',
      sessionId: 's',
      at: 1,
      userInput: 'q',
      assistantResponse: 'a',
      frameworks: [],
      tools: [],
      mcpServers: [],
      outcome: 'ok',
    };
    expect(() => validate(TurnSchema, base, 'x')).not.toThrow();
    expect(caught(() => validate(TurnSchema, { ...base, tools: ['a', 'a'] }, 'x')).details.issues).toEqual([
      { path: 'tools', message: 'must not repeat a name' },
    ]);
    expect(caught(() => validate(TurnSchema, { ...base, colour: 'red' }, 'x')).code).toBe('VALIDATION');
    expect(caught(() => validate(TurnSchema, { ...base, at: 1.5 }, 'x')).code).toBe('VALIDATION');
    expect(caught(() => validate(TurnSchema, { ...base, feedback: 2 }, 'x')).code).toBe('VALIDATION');
  });

  it('refuses an inverted time range', () => {
    expect(caught(() => validate(TurnFilterSchema, { from: 10, to: 5 }, 'list')).details.issues).toEqual([
      { path: 'from', message: '`from` must not be after `to`' },
    ]);
  });

  it('parses a conversational query with defaults and ISO times', () => {
    const q = validate(
      ConversationalQuerySchema,
      { type: 'persona_usage', timeRange: { from: '2026-03-01T00:00:00Z' } },
      'query',
    );
    expect(q.timeRange.from).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(q.aggregation).toBe('daily');
    expect(q.pagination.limit).toBe(50);
    expect(q.options.topN).toBe(5);
    expect(
      caught(() => validate(ConversationalQuerySchema, { type: 'nope' }, 'query')).details.issues,
    ).toEqual([expect.objectContaining({ path: 'type' })]);
  });
});
