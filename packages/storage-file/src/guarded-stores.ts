import type { AuditLog, ContextStore, ExpireAuditOptions, TurnStore } from '@convokit/core';

/**
 * The memory engine's stores behind a check that runs first on every call, so a closed file
 * store reports itself (`file`, `closed`) rather than the engine underneath.
 */
export function guardTurns(inner: TurnStore, check: () => void): TurnStore {
  const version = inner.version?.bind(inner);
  const sessionStats = inner.sessionStats?.bind(inner);
  const personaPreference = inner.personaPreference?.bind(inner);
  return {
    append: async (turns, options) => {
      check();
      return inner.append(turns, options);
    },
    get: async (id) => {
      check();
      return inner.get(id);
    },
    list: async (filter, options) => {
      check();
      return inner.list(filter, options);
    },
    search: async (text, options) => {
      check();
      return inner.search(text, options);
    },
    aggregate: async (spec) => {
      check();
      return inner.aggregate(spec);
    },
    count: async (filter) => {
      check();
      return inner.count(filter);
    },
    deleteBefore: async (before) => {
      check();
      return inner.deleteBefore(before);
    },
    // The engine's one-pass summaries: without them the data manager groups every (session,
    // user) and (user, persona) pair into rows (seconds at 1M turns).
    ...(sessionStats && {
      sessionStats: async (filter) => {
        check();
        return sessionStats(filter);
      },
    }),
    ...(personaPreference && {
      personaPreference: async (filter) => {
        check();
        return personaPreference(filter);
      },
    }),
    // One writer per directory (the lock), so the engine's in-process counter sees every change.
    ...(version && {
      version: async () => {
        check();
        return version();
      },
    }),
  };
}

export function guardContexts(inner: ContextStore, check: () => void): ContextStore {
  const audited = inner.deleteExpiredAudited?.bind(inner);
  return {
    create: async (context) => {
      check();
      return inner.create(context);
    },
    get: async (id, options) => {
      check();
      return inner.get(id, options);
    },
    update: async (id, expectedVersion, changes, now) => {
      check();
      return inner.update(id, expectedVersion, changes, now);
    },
    touch: async (id, touch) => {
      check();
      return inner.touch(id, touch);
    },
    delete: async (id, options) => {
      check();
      return inner.delete(id, options);
    },
    list: async (filter, options) => {
      check();
      return inner.list(filter, options);
    },
    count: async (filter, options) => {
      check();
      return inner.count(filter, options);
    },
    deleteExpired: async (now, options) => {
      check();
      return inner.deleteExpired(now, options);
    },
    // The engine journals the deletes and their events as one record (`contexts.expire`).
    ...(audited && {
      deleteExpiredAudited: async (now: number, options: ExpireAuditOptions) => {
        check();
        return audited(now, options);
      },
    }),
  };
}

export function guardAudit(inner: AuditLog, check: () => void): AuditLog {
  return {
    append: async (events) => {
      check();
      return inner.append(events);
    },
    list: async (filter, options) => {
      check();
      return inner.list(filter, options);
    },
  };
}
