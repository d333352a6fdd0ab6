import type { Context } from '@convokit/core';

export interface ChangeEvent {
  type: 'create' | 'update' | 'delete';
  /** The context after the write (for `delete`, as it was when deleted). Treat as read-only. */
  context: Context;
  /** Id of the principal that made the change. */
  principal: string;
  /** Top-level keys written (data keys, `expiresAt`); names only. */
  changedKeys: string[];
  at: number;
}

export interface ExpireEvent {
  /** The context as it was when the sweep deleted it. Treat as read-only. */
  context: Context;
  at: number;
}

export interface ManagerEvents {
  change: ChangeEvent;
  expire: ExpireEvent;
}

export type EventName = keyof ManagerEvents;

/** A minimal typed emitter; a throwing listener is reported, never breaks the write that fired it. */
export class Emitter {
  readonly #listeners: { [K in EventName]: Set<(event: ManagerEvents[K]) => void> } = {
    change: new Set(),
    expire: new Set(),
  };
  readonly #onError: (error: unknown, event: EventName) => void;

  constructor(onError: (error: unknown, event: EventName) => void) {
    this.#onError = onError;
  }

  on<K extends EventName>(name: K, listener: (event: ManagerEvents[K]) => void): () => void {
    const set = this.#listeners[name] as Set<(event: ManagerEvents[K]) => void>;
    // A wrapper so the same function registered twice is two subscriptions, each removable once.
    const entry = (event: ManagerEvents[K]) => listener(event);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  has(name: EventName): boolean {
    return this.#listeners[name].size > 0;
  }

  emit<K extends EventName>(name: K, event: ManagerEvents[K]): void {
    for (const listener of this.#listeners[name] as Set<(event: ManagerEvents[K]) => void>) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error, name);
      }
    }
  }

  clear(): void {
    this.#listeners.change.clear();
    this.#listeners.expire.clear();
  }
}
