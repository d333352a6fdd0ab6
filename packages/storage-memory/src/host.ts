import { type Clock, ConvokitError, closedError } from '@convokit/core';
import { Frozen } from './json.js';
import type { MemoryMutation } from './types.js';

/** What the three stores of one memory storage share: the clock, the journal, the open flag. */
export class Host {
  readonly frozen = new Frozen();
  closed = false;

  constructor(
    readonly clock: Clock,
    readonly journal: ((mutation: MemoryMutation) => void) | undefined,
  ) {}

  /** Throws the contract's closed error once the storage is closed. */
  open(): void {
    if (this.closed) throw closedError('memory');
  }

  /** Hands a checked mutation to the journal before it is applied; a failure stops the write. */
  record(mutation: MemoryMutation): void {
    if (this.journal === undefined) return;
    try {
      this.journal(mutation);
    } catch (error) {
      throw ConvokitError.storage('The memory storage journal refused a write', error, {
        adapter: 'memory',
        mutation: mutation.type,
      });
    }
  }
}
