import { createManualClock, requirePart, type Storage } from '@convokit/core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { conformanceCases } from './cases/index.js';
import { CONFORMANCE_START } from './start.js';
import type { CaseContext, ConformanceCase, StorageInitializer, StoragePart } from './types.js';

function served(init: StorageInitializer, storage: Storage, part: StoragePart): boolean {
  return init.parts ? init.parts.includes(part) : storage.capabilities[part] === true;
}

function caseContext(storage: Storage, clock: CaseContext['clock']): CaseContext {
  return {
    storage,
    clock,
    get turns() {
      return requirePart(storage, 'turns', 'storage-testkit');
    },
    get contexts() {
      return requirePart(storage, 'contexts', 'storage-testkit');
    },
    get audit() {
      return requirePart(storage, 'audit', 'storage-testkit');
    },
  };
}

/**
 * Runs one case against a fresh store from `init` (created with a manual clock at
 * CONFORMANCE_START, destroyed afterwards). Resolves `skipped` when the store does not serve the
 * case's part or the optional capability it `requires`; rejects with the case's failure otherwise.
 */
export async function runConformanceCase(
  init: StorageInitializer,
  testCase: ConformanceCase,
): Promise<'passed' | 'skipped'> {
  const clock = createManualClock(CONFORMANCE_START);
  const storage = await init.create({ clock });
  let failure: unknown;
  let outcome: 'passed' | 'skipped' = 'passed';
  try {
    if (testCase.part !== 'storage' && !served(init, storage, testCase.part)) outcome = 'skipped';
    else if (testCase.requires === 'turns.version' && !storage.turns?.version) outcome = 'skipped';
    else if (testCase.requires === 'turns.sessionStats' && !storage.turns?.sessionStats) outcome = 'skipped';
    else if (testCase.requires === 'turns.personaPreference' && !storage.turns?.personaPreference)
      outcome = 'skipped';
    else if (testCase.requires === 'contexts.deleteExpiredAudited' && !storage.contexts?.deleteExpiredAudited)
      outcome = 'skipped';
    else if (
      testCase.requires === 'contexts.deleteExpiredDeferred' &&
      !storage.contexts?.deleteExpiredDeferred
    )
      outcome = 'skipped';
    else await testCase.run(caseContext(storage, clock));
  } catch (error) {
    failure = error;
  }
  try {
    if (init.destroy) await init.destroy(storage);
    else await storage.close();
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) throw failure;
  return outcome;
}

/**
 * Registers the whole suite as vitest `describe`/`it` blocks: one describe per concern, one test
 * per case, each on a fresh store. Cases for parts the adapter does not serve are reported skipped.
 */
export function runStorageConformance(init: StorageInitializer): void {
  describe(`storage conformance: ${init.name}`, () => {
    if (init.beforeAll) beforeAll(() => init.beforeAll!());
    if (init.afterAll) afterAll(() => init.afterAll!());
    const concerns = new Map<string, ConformanceCase[]>();
    for (const testCase of conformanceCases) {
      const key = testCase.part === 'storage' ? testCase.concern : `${testCase.part}: ${testCase.concern}`;
      concerns.set(key, [...(concerns.get(key) ?? []), testCase]);
    }
    for (const [concern, cases] of concerns) {
      describe(concern, () => {
        for (const testCase of cases) {
          if (init.parts && testCase.part !== 'storage' && !init.parts.includes(testCase.part)) {
            it.skip(`${testCase.name} (${testCase.part} not served by ${init.name})`, () => {});
            continue;
          }
          it(testCase.name, async (context) => {
            const outcome = await runConformanceCase(init, testCase);
            if (outcome === 'skipped')
              context.skip(`${init.name} does not serve ${testCase.requires ?? testCase.part}`);
          });
        }
      });
    }
  });
}
