import type { Clock, Storage } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { conformanceCases, runConformanceCase, runStorageConformance } from '../src/index.js';
import { createNaiveStorage } from './naive-adapter.js';

/** A store like the Redis adapter: contexts and audit, no turns. */
function contextsOnly(clock: Clock): Storage {
  const full = createNaiveStorage({ clock });
  return {
    name: 'contexts-only',
    contractVersion: full.contractVersion,
    capabilities: { ...full.capabilities, turns: false },
    contexts: full.contexts,
    audit: full.audit,
    close: () => full.close(),
    [Symbol.asyncDispose]: () => full.close(),
  };
}

describe('parts an adapter does not serve', () => {
  it('cases of an unserved part are skipped (from capabilities), the rest run and pass', async () => {
    const init = { name: 'contexts-only', create: ({ clock }: { clock: Clock }) => contextsOnly(clock) };
    const outcomes = new Map<string, number>();
    for (const testCase of conformanceCases) {
      const outcome = await runConformanceCase(init, testCase);
      const key = `${testCase.part}:${outcome}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    const turnCases = conformanceCases.filter((c) => c.part === 'turns').length;
    expect(outcomes.get('turns:skipped')).toBe(turnCases);
    expect(outcomes.get('turns:passed')).toBeUndefined();
    // The naive store has no deferred expiry (an optional capability): those cases are skipped.
    const deferred = conformanceCases.filter((c) => c.requires === 'contexts.deleteExpiredDeferred').length;
    expect(deferred).toBeGreaterThan(0);
    expect(outcomes.get('contexts:skipped')).toBe(deferred);
    expect(outcomes.get('contexts:passed')).toBe(
      conformanceCases.filter((c) => c.part === 'contexts').length - deferred,
    );
    expect(outcomes.get('audit:passed')).toBe(conformanceCases.filter((c) => c.part === 'audit').length);
    expect(outcomes.get('storage:passed')).toBe(conformanceCases.filter((c) => c.part === 'storage').length);
  });

  it('cases that need turns.version are skipped for a store without it; the rest still pass', async () => {
    const withoutVersion = ({ clock }: { clock: Clock }): Storage => {
      const full = createNaiveStorage({ clock });
      const { version: _version, ...turns } = full.turns!;
      // Without version() the store must not hand out append versions either.
      const append: typeof turns.append = async (batch, options) => {
        const { version: _v, ...result } = await turns.append(batch, options);
        return result;
      };
      return { ...full, turns: { ...turns, append } };
    };
    const versionCases = conformanceCases.filter((c) => c.concern === 'turns-version');
    const outcomes = await Promise.all(
      versionCases.map((c) => runConformanceCase({ name: 'no-version', create: withoutVersion }, c)),
    );
    expect(outcomes.filter((o) => o === 'passed')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'skipped')).toHaveLength(versionCases.length - 1);
    expect(versionCases.filter((c) => c.requires === 'turns.version')).toHaveLength(versionCases.length - 1);
  });

  it('declaring a part the store lacks fails that part instead of skipping it', async () => {
    const init = {
      name: 'liar',
      parts: ['turns', 'contexts', 'audit'] as const,
      create: ({ clock }: { clock: Clock }) => contextsOnly(clock),
    };
    const turnCase = conformanceCases.find((c) => c.part === 'turns')!;
    await expect(runConformanceCase({ ...init, parts: [...init.parts] }, turnCase)).rejects.toMatchObject({
      code: 'UNSUPPORTED',
    });
  });

  it('destroy runs after each case, also after a failure', async () => {
    let destroyed = 0;
    const init = {
      name: 'counted',
      create: ({ clock }: { clock: Clock }) =>
        createNaiveStorage({ clock, defects: ['use-after-close-allowed'] }),
      destroy: async (storage: Storage) => {
        destroyed++;
        await storage.close();
      },
    };
    const lifecycle = conformanceCases.filter((c) => c.concern === 'lifecycle');
    const results = await Promise.allSettled(lifecycle.map((c) => runConformanceCase(init, c)));
    expect(results.some((r) => r.status === 'rejected')).toBe(true);
    expect(destroyed).toBe(lifecycle.length);
  });
});

// Registration with `parts`: turn cases are listed as skipped with the reason in their name.
runStorageConformance({
  name: 'contexts-only (parts declared)',
  parts: ['contexts', 'audit'],
  create: ({ clock }) => contextsOnly(clock),
});
