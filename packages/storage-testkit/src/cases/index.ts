import type { ConformanceCase } from '../types.js';
import { auditCases } from './audit.js';
import { badInputAuditCases, badInputContextCases, badInputTurnCases } from './bad-input.js';
import { contextsCrudCases } from './contexts-crud.js';
import { contextsExpireAuditedCases } from './contexts-expire-audited.js';
import { contextsExpireDeferredCases } from './contexts-expire-deferred.js';
import { contextsExpiryCases } from './contexts-expiry.js';
import { contextsVersioningCases } from './contexts-versioning.js';
import { lifecycleCases } from './lifecycle.js';
import { turnsAggregateCases } from './turns-aggregate.js';
import { turnsAppendCases } from './turns-append.js';
import { turnsListCases } from './turns-list.js';
import { turnsPersonaPreferenceCases } from './turns-persona-preference.js';
import { turnsPropertyCases } from './turns-properties.js';
import { turnsSearchCases } from './turns-search.js';
import { turnsSessionStatsCases } from './turns-session-stats.js';
import { turnsVersionCases } from './turns-version.js';

/** Every check of the suite as plain data, in the order the suite registers them. */
export const conformanceCases: readonly ConformanceCase[] = Object.freeze([
  ...lifecycleCases,
  ...turnsAppendCases,
  ...turnsListCases,
  ...turnsSearchCases,
  ...turnsAggregateCases,
  ...turnsPropertyCases,
  ...turnsVersionCases,
  ...turnsSessionStatsCases,
  ...turnsPersonaPreferenceCases,
  ...contextsCrudCases,
  ...contextsVersioningCases,
  ...contextsExpiryCases,
  ...contextsExpireAuditedCases,
  ...contextsExpireDeferredCases,
  ...auditCases,
  ...badInputTurnCases,
  ...badInputContextCases,
  ...badInputAuditCases,
]);
