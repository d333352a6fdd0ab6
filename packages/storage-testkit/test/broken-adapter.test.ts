import { describe, expect, it } from 'vitest';
import { type ConformanceCase, conformanceCases, runConformanceCase } from '../src/index.js';
import { createNaiveStorage, DEFECTS, type Defect } from './naive-adapter.js';

/** Runs the cases of the given concerns against the adapter with `defect`; returns the failures. */
async function failingCases(defect: Defect, concerns: Set<string>): Promise<string[]> {
  const failed: string[] = [];
  for (const testCase of conformanceCases) {
    if (!concerns.has(testCase.concern)) continue;
    try {
      await runConformanceCase(
        { name: defect, create: ({ clock }) => createNaiveStorage({ clock, defects: [defect] }) },
        testCase,
      );
    } catch {
      failed.push(label(testCase));
    }
  }
  return failed;
}

function label(testCase: ConformanceCase): string {
  return `${testCase.concern}: ${testCase.name}`;
}

/** For each defect, cases that must catch it (each `concern: name`, as in `label`). */
const mustFail: Record<Defect, string[]> = {
  'update-ignores-version': [
    'contexts-versioning: a stale version is CONFLICT with details.actualVersion, and nothing changes',
    'contexts-versioning: concurrent updates at the same version: exactly one wins',
    'contexts-versioning: 20 concurrent read-modify-write updaters retrying on CONFLICT lose nothing',
  ],
  'get-hands-out-live-reference': [
    'turns-append: mutating a turn handed out (get, list, search) does not change the store',
    'contexts-crud: mutating a context handed out (create, get, list, update) does not change the store',
    'audit: events handed out and appended are copies',
  ],
  'list-ignores-persona-filter': ['turns-list: each filter field narrows list and count (lists mean any of)'],
  'percentiles-exact-not-histogram': ['turns-aggregate: every measure grouped by persona (null group first)'],
  'feedback-avg-over-all-turns': [
    'turns-aggregate: every measure over all turns (no groupBy)',
    'turns-aggregate: every measure grouped by persona (null group first)',
  ],
  'use-after-close-allowed': [
    'lifecycle: every call after close() rejects with STORAGE, reason closed',
    'lifecycle: close() is idempotent, also when called concurrently',
    'lifecycle: Symbol.asyncDispose closes the store',
  ],
  'expired-contexts-visible': [
    'contexts-expiry: a context is visible until expiresAt and invisible from then on, by the injected clock',
    'contexts-expiry: update of an expired context is NOT_FOUND',
    'contexts-expiry: delete of an expired context reports false',
  ],
  'version-ignores-delete': ['turns-version: deleteBefore raises the version by one only when it deletes'],
  'expire-audit-not-atomic': [
    'contexts-expire-audited: an event that throws rejects the call with its error and deletes nothing',
    'contexts-expire-audited: an invalid event is VALIDATION and deletes nothing',
    'contexts-expire-audited: an event id already stored is CONFLICT and deletes nothing',
  ],
  'append-not-atomic': ['turns-append: a batch with an already stored id is CONFLICT and writes nothing'],
  'cursor-ignores-filter': [
    'turns-list: a cursor used with another filter or order is VALIDATION',
    'contexts-crud: a context cursor used with another filter is VALIDATION',
    'audit: an audit cursor used with another filter is VALIDATION',
  ],
  'search-ignores-ranking': ["turns-search: mode 'any': a turn with all terms ranks above turns with some"],
  'week-starts-sunday': ['turns-aggregate: group by week'],
  'touch-bumps-version': ['contexts-crud: touch counts an access without a new version'],
  'delete-expired-ignores-limit': [
    'contexts-expiry: deleteExpired with a limit removes the oldest expiries first',
  ],
  'create-skips-validation': [
    'bad-input: create rejects each invalid context with VALIDATION naming the field, storing nothing',
  ],
  'audit-oldest-first': [
    'audit: append then list returns the events as given, newest first (ties by id descending)',
  ],
  'pairs-include-same-name': ['turns-aggregate: group by framework + framework'],
  'group-keys-locale-order': [
    'turns-aggregate: string keys sort by UTF-16 code unit (case-sensitive), pairs too',
  ],
};

describe('the suite catches a broken adapter', () => {
  it('lists an expectation for every defect, naming real cases', () => {
    const names = new Set(conformanceCases.map(label));
    expect(Object.keys(mustFail).sort()).toEqual([...DEFECTS].sort());
    for (const list of Object.values(mustFail)) for (const name of list) expect(names, name).toContain(name);
  });

  for (const defect of DEFECTS) {
    it(`fails the adapter with defect ${defect}`, async () => {
      const concerns = new Set(mustFail[defect].map((name) => name.slice(0, name.indexOf(':'))));
      const failed = await failingCases(defect, concerns);
      for (const name of mustFail[defect]) expect(failed, `${defect} must fail "${name}"`).toContain(name);
    });
  }
});
