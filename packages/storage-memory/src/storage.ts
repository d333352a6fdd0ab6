import {
  ConvokitError,
  STORAGE_CONTRACT_VERSION,
  type StorageCapabilities,
  systemClock,
  type Turn,
} from '@convokit/core';
import { MemoryAuditLog } from './audit.js';
import { MemoryContextStore } from './contexts.js';
import { Host } from './host.js';
import { adoptTurn } from './turn-check.js';
import { MemoryTurnStore } from './turns.js';
import type { MemoryMutation, MemoryStorage, MemoryStorageOptions } from './types.js';

const CAPABILITIES: StorageCapabilities = Object.freeze({
  turns: true,
  contexts: true,
  audit: true,
  multiProcess: false,
  durable: false,
});

/** Records per mutation in `snapshotMutations`, so a snapshot is written in bounded pieces. */
const SNAPSHOT_BATCH = 1000;

/** The in-memory storage: every part of the contract, indexed, values frozen when written. */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const { clock = systemClock, journal } = options;
  if (typeof clock?.now !== 'function') {
    throw new ConvokitError(
      'VALIDATION',
      'Invalid input to createMemoryStorage: clock: must have a now() method',
      {
        where: 'createMemoryStorage',
        issues: [{ path: 'clock', message: 'must have a now() method' }],
      },
    );
  }
  if (journal !== undefined && typeof journal !== 'function') {
    throw new ConvokitError(
      'VALIDATION',
      'Invalid input to createMemoryStorage: journal: must be a function',
      {
        where: 'createMemoryStorage',
        issues: [{ path: 'journal', message: 'must be a function' }],
      },
    );
  }
  const host = new Host(clock, journal);
  const turns = new MemoryTurnStore(host);
  const contexts = new MemoryContextStore(host);
  const audit = new MemoryAuditLog(host);
  contexts.attachAudit(audit);

  const close = async (): Promise<void> => {
    if (host.closed) return;
    host.closed = true;
    turns.clear();
    contexts.clear();
    audit.clear();
  };

  const storage: MemoryStorage = {
    name: 'memory',
    contractVersion: STORAGE_CONTRACT_VERSION,
    capabilities: CAPABILITIES,
    turns,
    contexts,
    audit,

    applyMutation(mutation: MemoryMutation): void {
      host.open();
      // Replay trusts its input (it was checked when first written) but still copies and freezes
      // it, so the caller keeps its objects and the store holds its own.
      switch (mutation.type) {
        case 'turns.append':
          turns.applyAppend(
            mutation.turns.filter((t) => !turns.index.byId.has(t.id)).map((t) => host.frozen.fresh(t)),
          );
          return;
        case 'turns.deleteBefore':
          turns.applyDeleteBefore(mutation.before);
          return;
        case 'contexts.put':
          contexts.put(host.frozen.fresh(mutation.context));
          return;
        case 'contexts.delete':
          for (const id of mutation.ids) contexts.remove(id);
          return;
        case 'contexts.expire':
          for (const id of mutation.ids) contexts.remove(id);
          audit.applyAppend(mutation.events.map((e) => host.frozen.fresh(e)));
          return;
        case 'audit.append':
          audit.applyAppend(mutation.events.map((e) => host.frozen.fresh(e)));
          return;
        default:
          throw new ConvokitError('VALIDATION', 'Unknown memory mutation', {
            where: 'applyMutation',
            issues: [
              { path: 'type', message: `unknown mutation type ${(mutation as { type: unknown }).type}` },
            ],
          });
      }
    },

    adoptMutation(mutation: MemoryMutation): void {
      host.open();
      if (mutation.type !== 'turns.append') {
        storage.applyMutation(mutation);
        return;
      }
      const fresh: Turn[] = [];
      for (const turn of mutation.turns) if (!turns.index.byId.has(turn.id)) fresh.push(adoptTurn(turn));
      turns.applyAppend(fresh);
    },

    snapshotMutations(): Iterable<MemoryMutation> {
      host.open();
      // Taken now, so later writes do not leak into a snapshot being written.
      const turnList = turns.index.sorted.slice();
      const contextList = [...contexts.byId.values()];
      const eventList = audit.sorted.slice();
      return (function* () {
        for (let i = 0; i < turnList.length; i += SNAPSHOT_BATCH) {
          yield { type: 'turns.append', turns: turnList.slice(i, i + SNAPSHOT_BATCH) };
        }
        for (const context of contextList) yield { type: 'contexts.put', context };
        for (let i = 0; i < eventList.length; i += SNAPSHOT_BATCH) {
          yield { type: 'audit.append', events: eventList.slice(i, i + SNAPSHOT_BATCH) };
        }
      })();
    },

    close,
    [Symbol.asyncDispose]: close,
  };
  return storage;
}
