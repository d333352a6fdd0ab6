/*
 * The audit-event twin of `warmContextShapes` (see context-shape.ts for the V8 note): adapters and
 * managers that keep or pass on many audit events build them as one object literal per
 * combination of the optional fields, in the order below, and call `warmAuditEventShapes` once so
 * that `at` is a tagged field: equal times then share one number instead of a 16-byte box per
 * event. Kept in core, and called from there, because a bundler drops a warm-up whose result
 * nobody reads when it sits in the same bundle as its caller, but not a call into another package.
 */

/**
 * The four event literals: the eight fields every event has (`id`, `at`, `principal`, `action`,
 * `contextId`, `scope`, `outcome`, `changedKeys`), then `attemptedAction` and/or `version` when
 * present, built once with a string in `at`.
 */
function generalizeAuditEventShapes(): readonly object[] {
  const a = '' as unknown;
  const k = null as unknown;
  return [
    { id: a, at: a, principal: a, action: a, contextId: a, scope: a, outcome: a, changedKeys: k },
    { id: a, at: a, principal: a, action: a, contextId: a, scope: a, outcome: a, changedKeys: k, version: 0 },
    {
      id: a,
      at: a,
      principal: a,
      action: a,
      contextId: a,
      scope: a,
      outcome: a,
      changedKeys: k,
      attemptedAction: a,
    },
    {
      id: a,
      at: a,
      principal: a,
      action: a,
      contextId: a,
      scope: a,
      outcome: a,
      changedKeys: k,
      attemptedAction: a,
      version: 0,
    },
  ];
}

let auditEventShapes: readonly object[] | undefined;

/** Runs `generalizeAuditEventShapes` once per process and keeps what it built. */
export function warmAuditEventShapes(): readonly object[] {
  auditEventShapes ??= generalizeAuditEventShapes();
  return auditEventShapes;
}
