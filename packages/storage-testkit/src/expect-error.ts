import { ConvokitError, type ErrorCode } from '@convokit/core';
import { expect } from 'vitest';

/**
 * Awaits `call` and asserts it REJECTS (a synchronous throw from an async API is a contract
 * violation too: callers chain `.catch`) with a ConvokitError of `code`. Returns the error.
 */
export async function expectRejects(call: () => Promise<unknown>, code: ErrorCode): Promise<ConvokitError> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    throw new Error(
      `expected a rejected promise (${code}) but the call threw synchronously: ${describe(error)}`,
    );
  }
  if (!(promise instanceof Promise) && typeof (promise as { then?: unknown })?.then !== 'function') {
    throw new Error(`expected a promise rejecting with ${code}, got ${describe(promise)}`);
  }
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await promise };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    throw new Error(`expected a rejection with ${code}, but the call resolved to ${describe(outcome.value)}`);
  }
  const error = outcome.error;
  if (!ConvokitError.is(error)) {
    throw new Error(`expected ConvokitError ${code}, got ${describe(error)}`);
  }
  expect(error.code, `error code (message: ${error.message})`).toBe(code);
  return error;
}

/** A VALIDATION rejection whose `details.issues` names `path` (a dotted path, or a segment of one). */
export async function expectValidation(call: () => Promise<unknown>, path: string): Promise<ConvokitError> {
  const error = await expectRejects(call, 'VALIDATION');
  const issues = error.details.issues;
  expect(Array.isArray(issues), 'details.issues is an array').toBe(true);
  const list = issues as Array<{ path?: unknown; message?: unknown }>;
  const paths = list.map((issue) => String(issue.path ?? ''));
  // An unknown key is reported on the object holding it, with the key named in the message.
  const named = list.some((issue, i) => {
    const p = paths[i]!;
    return (
      p === path ||
      p.endsWith(`.${path}`) ||
      p.split('.').includes(path) ||
      String(issue.message).includes(`"${path}"`)
    );
  });
  expect(named, `details.issues ${JSON.stringify(list)} name "${path}"`).toBe(true);
  return error;
}

/** The closed-store error: STORAGE with `details.reason = 'closed'`. */
export async function expectClosed(call: () => Promise<unknown>, what: string): Promise<void> {
  let error: ConvokitError;
  try {
    error = await expectRejects(call, 'STORAGE');
  } catch (failure) {
    throw new Error(`${what} after close(): ${(failure as Error).message}`);
  }
  expect(error.details.reason, `${what} after close(): details.reason`).toBe('closed');
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
