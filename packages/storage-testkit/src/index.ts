export { expectClose, expectPercentile, expectRows } from './cases/aggregate-check.js';
export { fixtureAuditEvents } from './cases/audit.js';
export { fixtureContexts } from './cases/contexts-crud.js';
export { conformanceCases } from './cases/index.js';
export { referencePersonaPreference } from './cases/turns-persona-preference.js';
export { searchTurns } from './cases/turns-search.js';
export { referenceSessionStats } from './cases/turns-session-stats.js';
export { expectClosed, expectRejects, expectValidation } from './expect-error.js';
export {
  expireEventFields,
  ids,
  makeAuditEvent,
  makeContext,
  makeExpireEvent,
  makeTurn,
} from './fixtures/builders.js';
export type { ExpectedGroup, MeasureValues } from './fixtures/turns.js';
export {
  FIXTURE_GROUP_MEASURES,
  fixtureByPersona,
  fixtureFilters,
  fixtureGroups,
  fixtureTotals,
  fixtureTurns,
} from './fixtures/turns.js';
export { runConformanceCase, runStorageConformance } from './run.js';
export { CONFORMANCE_START } from './start.js';
export type { CaseContext, ConformanceCase, StorageInitializer, StoragePart } from './types.js';
