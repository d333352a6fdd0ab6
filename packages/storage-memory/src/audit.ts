import {
  type AuditEvent,
  type AuditFilter,
  AuditFilterSchema,
  type AuditLog,
  ConvokitError,
  decodeCursor,
  encodeCursor,
  fingerprint,
  type PageInput,
  type PageResult,
  PageSchema,
  validate,
} from '@convokit/core';
import { AuditChecker } from './audit-check.js';
import { invalid, underPath } from './checks.js';
import type { Host } from './host.js';
import { compareTimed, insertOne, insertSorted, lowerBound } from './sorted.js';

/**
 * A posting list: most contexts have only a few events (often one, their create), so a single
 * event is kept as itself and becomes a list only when a second arrives.
 */
type Posting = AuditEvent | AuditEvent[];

/** Audit events in (`at`, `id`) order, with posting lists by context and by principal. */
export class MemoryAuditLog implements AuditLog {
  readonly sorted: AuditEvent[] = [];
  /**
   * Ids stored, for the duplicate check; built only once an id arrives that is not above every
   * stored one. A writer with monotonic ids (the context manager's ULIDs) never needs it, and a
   * Set entry costs about as much as the rest of the event's index entries together.
   */
  #ids: Set<string> | null = null;
  /** The greatest id stored (string order). */
  #maxId = '';
  /**
   * Posting lists by context and by principal, built on the first `list` that names one and kept
   * up to date from then on. An audit log is written far more than it is read by context or
   * principal, and the two indexes cost about 45 bytes per event (a map entry per context, an
   * array slot per event) for a query that may never come; the first one pays a pass over the
   * log instead (about 10 ms per 100k events).
   */
  #byContext: Map<string, Posting> | null = null;
  #byPrincipal: Map<string, Posting> | null = null;
  readonly #checker: AuditChecker;

  constructor(private readonly host: Host) {
    this.#checker = new AuditChecker(host.frozen);
  }

  async append(events: readonly AuditEvent[]): Promise<void> {
    this.host.open();
    const batch = this.checkBatch(events, 'audit.append');
    if (batch.length === 0) return;
    // The mutation object only when a journal takes it: this runs on every audited write.
    if (this.host.journal !== undefined) this.host.record({ type: 'audit.append', events: batch });
    this.applyAppend(batch);
  }

  /**
   * The frozen events of a batch `append` would store, checked as it checks them and changing
   * nothing: VALIDATION for a bad event or an id repeated in the batch, CONFLICT for an id stored.
   */
  checkBatch(events: readonly AuditEvent[], where: string): AuditEvent[] {
    if (!Array.isArray(events)) throw invalid(where, 'events', 'must be an array of audit events');
    const batch: AuditEvent[] = new Array(events.length);
    // Most batches hold one event (the manager appends as writes come): no id set for those.
    const ids = events.length > 1 ? new Set<string>() : undefined;
    for (let i = 0; i < events.length; i++) {
      const event = this.#checker.check(events[i], i, where);
      if (ids !== undefined) {
        if (ids.has(event.id)) throw invalid(where, `${i}.id`, 'repeats an id earlier in the batch');
        ids.add(event.id);
      }
      batch[i] = event;
    }
    let existing: string[] | undefined;
    for (const e of batch) {
      if (!this.#has(e.id)) continue;
      if (existing === undefined) existing = [];
      existing.push(e.id);
    }
    if (existing !== undefined) {
      throw new ConvokitError('CONFLICT', `Audit events already stored: ${existing.slice(0, 5).join(', ')}`, {
        where,
        ids: existing,
      });
    }
    return batch;
  }

  /** Adds frozen events; ids already stored are ignored (replay may repeat them). */
  applyAppend(events: readonly AuditEvent[]): void {
    const fresh =
      events.length === 1 && !this.#has(events[0]!.id)
        ? events
        : events.filter((e) => !this.#has(e.id)).sort(compareTimed);
    const byContext = this.#byContext;
    const byPrincipal = this.#byPrincipal;
    for (const event of fresh) {
      this.#ids?.add(event.id);
      if (event.id > this.#maxId) this.#maxId = event.id;
      if (byContext !== null) post(byContext, event.contextId, event);
      if (byPrincipal !== null) post(byPrincipal, event.principal, event);
    }
    insertSorted(this.sorted, fresh);
  }

  #has(id: string): boolean {
    if (id > this.#maxId) return false;
    if (this.#ids === null) this.#ids = new Set(this.sorted.map((e) => e.id));
    return this.#ids.has(id);
  }

  clear(): void {
    this.sorted.length = 0;
    this.#ids = null;
    this.#maxId = '';
    this.#byContext = null;
    this.#byPrincipal = null;
  }

  /** The index by context, built from the log on first use. */
  #contextIndex(): Map<string, Posting> {
    if (this.#byContext === null) this.#byContext = indexBy(this.sorted, (e) => e.contextId);
    return this.#byContext;
  }

  /** The index by principal, built from the log on first use. */
  #principalIndex(): Map<string, Posting> {
    if (this.#byPrincipal === null) this.#byPrincipal = indexBy(this.sorted, (e) => e.principal);
    return this.#byPrincipal;
  }

  async list(filter?: AuditFilter, options?: PageInput): Promise<PageResult<AuditEvent>> {
    this.host.open();
    const where = 'audit.list';
    const f = underPath(() => validate(AuditFilterSchema, filter ?? {}, where), 'filter');
    const page = underPath(() => validate(PageSchema, options ?? {}, where), 'options');
    const print = fingerprint({ filter: f });
    let list: readonly AuditEvent[] = this.sorted;
    for (const candidate of [
      f.contextId === undefined ? undefined : postings(this.#contextIndex(), f.contextId),
      f.principal === undefined ? undefined : postings(this.#principalIndex(), f.principal),
    ]) {
      if (candidate !== undefined && candidate.length < list.length) list = candidate;
    }
    const lo = f.from === undefined ? 0 : lowerBound(list, f.from, '');
    let hi = f.to === undefined ? list.length : lowerBound(list, f.to, '');
    if (page.cursor !== undefined) {
      const [at, id] = decodeCursor(page.cursor, print, where);
      if (typeof at !== 'number' || typeof id !== 'string')
        throw invalid(where, 'cursor', 'not a cursor this store issued');
      hi = Math.min(hi, lowerBound(list, at, id));
    }
    const items: AuditEvent[] = [];
    for (let i = hi - 1; i >= lo && items.length <= page.limit; i--) {
      const e = list[i]!;
      if (
        (f.contextId === undefined || e.contextId === f.contextId) &&
        (f.principal === undefined || e.principal === f.principal) &&
        (f.action === undefined || e.action === f.action) &&
        (f.scope === undefined || e.scope === f.scope)
      ) {
        items.push(e);
      }
    }
    let nextCursor: string | null = null;
    if (items.length > page.limit) {
      items.length = page.limit;
      const last = items[items.length - 1]!;
      nextCursor = encodeCursor([last.at, last.id], print);
    }
    return { items, nextCursor };
  }
}

function post(index: Map<string, Posting>, key: string, event: AuditEvent): void {
  const list = index.get(key);
  if (list === undefined) index.set(key, event);
  else if (Array.isArray(list)) insertOne(list, event);
  else index.set(key, compareTimed(list, event) < 0 ? [list, event] : [event, list]);
}

/** Posting lists of `sorted` (in order) by `key`. */
function indexBy(sorted: readonly AuditEvent[], key: (event: AuditEvent) => string): Map<string, Posting> {
  const index = new Map<string, Posting>();
  for (const event of sorted) post(index, key(event), event);
  return index;
}

function postings(index: Map<string, Posting>, key: string): readonly AuditEvent[] {
  const list = index.get(key);
  return list === undefined ? [] : Array.isArray(list) ? list : [list];
}
