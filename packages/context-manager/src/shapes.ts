import { warmContextShapes } from '@convokit/core';

/**
 * A V8 note, for memory and speed. Object literals with the same keys in the same order share
 * hidden classes, and a field that has only ever held numbers is stored as a private boxed
 * double: every context and audit event would carry its own 16-byte box per time field
 * (`createdAt`, `updatedAt`, `lastAccessedAt`, `expiresAt`, `at`), and every copy would allocate
 * new boxes and read the old ones. Building, once, objects of each shape this package creates with
 * strings in those fields makes V8 keep them as plain tagged fields: copies then pass references,
 * and the equal times of one write share one number. Nothing observable changes; under another
 * engine this costs a few dozen small objects, once per process, and does nothing else.
 */
let eventShapes: readonly object[] | undefined;

/** Warms the shapes once per process; what is built stays in this module so no bundler drops it. */
export function warmShapes(): readonly object[] {
  // Contexts: core's shapes, in the field order of core `contextOf` (which `accessed` uses).
  warmContextShapes();
  eventShapes ??= generalizeEventShapes();
  return eventShapes;
}

function generalizeEventShapes(): readonly object[] {
  const built: object[] = [];
  // Audit events: the eight fields every event has, then `version` and `attemptedAction`.
  for (let mask = 0; mask < 4; mask++) {
    const e: Record<string, unknown> = {
      id: '',
      at: '',
      principal: '',
      action: '',
      contextId: '',
      scope: '',
      outcome: '',
      changedKeys: null,
    };
    if (mask & 1) e.version = 0;
    if (mask & 2) e.attemptedAction = '';
    built.push(e);
  }
  return built;
}
