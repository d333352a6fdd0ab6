import type { AuditEvent, Turn } from '@convokit/core';
import type { MemoryMutation, MemoryStorage } from '@convokit/storage-memory';

/** Turns or audit events handed to the engine in one call during replay. */
const BATCH = 1000;

/**
 * Replays mutations into the memory engine, joining runs of consecutive appends into one call:
 * the engine indexes a batch faster than the same turns one call at a time. Adjacent appends never
 * share an id (the journal records only turns actually appended), so joining them is exact.
 *
 * Turns are handed over with `adoptMutation`: they come straight from `JSON.parse` of a record
 * whose checksum matched, so nobody else holds them and they were validated when first written;
 * the engine freezes them where they are instead of copying them.
 */
export class ReplayBatcher {
  #turns: Turn[] = [];
  #events: AuditEvent[] = [];

  constructor(private readonly memory: MemoryStorage) {}

  readonly apply = (mutation: MemoryMutation): void => {
    if (mutation.type === 'turns.append') {
      if (this.#events.length > 0) this.#flushEvents();
      for (const turn of mutation.turns) this.#turns.push(turn);
      if (this.#turns.length >= BATCH) this.#flushTurns();
    } else if (mutation.type === 'audit.append') {
      if (this.#turns.length > 0) this.#flushTurns();
      for (const event of mutation.events) this.#events.push(event);
      if (this.#events.length >= BATCH) this.#flushEvents();
    } else {
      this.flush();
      this.memory.applyMutation(mutation);
    }
  };

  /** Applies what is held back; call at the end of each file. */
  flush(): void {
    if (this.#turns.length > 0) this.#flushTurns();
    if (this.#events.length > 0) this.#flushEvents();
  }

  #flushTurns(): void {
    const turns = this.#turns;
    this.#turns = [];
    this.memory.adoptMutation({ type: 'turns.append', turns });
  }

  #flushEvents(): void {
    const events = this.#events;
    this.#events = [];
    this.memory.applyMutation({ type: 'audit.append', events });
  }
}
