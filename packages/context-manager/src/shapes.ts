import { warmAuditEventShapes, warmContextShapes } from '@convokit/core';

/**
 * A V8 note, for memory and speed. Object literals with the same keys in the same order share
 * hidden classes, and a field that has only ever held numbers is stored as a private boxed
 * double: every context and audit event would carry its own 16-byte box per time field
 * (`createdAt`, `updatedAt`, `lastAccessedAt`, `expiresAt`, `at`), and every copy would allocate
 * new boxes and read the old ones. Core builds, once per process, objects of each shape this
 * package creates with strings in those fields, which makes V8 keep them as plain tagged fields:
 * copies then pass references, and the equal times of one write share one number. Contexts are
 * built in the field order of core `contextOf`, audit events in that of `warmAuditEventShapes`
 * (one literal per combination of `attemptedAction` and `version`). Nothing observable changes.
 * The warm-ups live in core: a bundler keeps a call into another package, not a warm-up in this
 * bundle whose result nobody reads.
 */
export function warmShapes(): void {
  warmContextShapes();
  warmAuditEventShapes();
}
