/**
 * A V8 note, for memory and speed. Object literals with the same keys in the same order share
 * hidden classes, and a field that has only ever held numbers is stored as a private boxed
 * double: every context and audit event would carry its own 16-byte box per time field
 * (`createdAt`, `updatedAt`, `lastAccessedAt`, `expiresAt`, `at`), and every copy would allocate
 * new boxes and read the old ones. Building, once, objects of each shape this package creates with
 * strings in those fields makes V8 keep them as plain tagged fields: copies then pass references,
 * and the equal times of one write share one number. Nothing observable changes; under another
 * engine this costs 40 small objects per manager and does nothing else.
 */
export function generalizeShapes(): readonly object[] {
  const built: object[] = [];
  // Contexts: the nine fields every context has, then the optional ones in the order every
  // builder here adds them (ownerId, sessionId, persona, parentId, expiresAt).
  for (let mask = 0; mask < 32; mask++) {
    const o: Record<string, unknown> = {
      id: '',
      scope: '',
      data: null,
      metadata: null,
      version: 0,
      createdAt: '',
      updatedAt: '',
      accessCount: 0,
      lastAccessedAt: '',
    };
    if (mask & 1) o.ownerId = '';
    if (mask & 2) o.sessionId = '';
    if (mask & 4) o.persona = '';
    if (mask & 8) o.parentId = '';
    if (mask & 16) o.expiresAt = '';
    built.push(o);
  }
  // The full literals `accessed` (engine.ts) builds for the usual combinations.
  const t = '';
  const d = null;
  built.push(
    // biome-ignore format: one literal per line, as in `accessed`
    { id: t, scope: t, data: d, metadata: d, version: 0, createdAt: t, updatedAt: t, accessCount: 0, lastAccessedAt: t, ownerId: t, sessionId: t, expiresAt: t },
    // biome-ignore format: as above
    { id: t, scope: t, data: d, metadata: d, version: 0, createdAt: t, updatedAt: t, accessCount: 0, lastAccessedAt: t, ownerId: t, expiresAt: t },
    // biome-ignore format: as above
    { id: t, scope: t, data: d, metadata: d, version: 0, createdAt: t, updatedAt: t, accessCount: 0, lastAccessedAt: t, ownerId: t },
  );
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
  // Returned, and kept by the caller, so that a bundler cannot drop the work as unused.
  return built;
}
