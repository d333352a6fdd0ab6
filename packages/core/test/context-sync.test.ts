import { describe, expect, it } from 'vitest';
import { CONTEXT_STORE_SYNC, type ContextStore, contextStoreSync } from '../src/index.js';

describe('contextStoreSync', () => {
  const side = { getNow: () => undefined, touchNow: () => undefined };

  it('finds a side offered under the registry symbol, and nothing else', () => {
    expect(CONTEXT_STORE_SYNC).toBe(Symbol.for('convokit.contextStore.sync'));
    expect(contextStoreSync({ [CONTEXT_STORE_SYNC]: side } as unknown as ContextStore)).toBe(side);
    expect(contextStoreSync({} as ContextStore)).toBeUndefined();
    // Half a side, or something that is not one, is no side: the caller keeps the async contract.
    expect(
      contextStoreSync({ [CONTEXT_STORE_SYNC]: { getNow: side.getNow } } as unknown as ContextStore),
    ).toBe(undefined);
    expect(contextStoreSync({ [CONTEXT_STORE_SYNC]: true } as unknown as ContextStore)).toBeUndefined();
  });
});
