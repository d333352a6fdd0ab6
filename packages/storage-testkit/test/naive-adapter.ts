import {
  type AggregateResult,
  AggregateSpecSchema,
  type AuditEvent,
  AuditEventSchema,
  AuditFilterSchema,
  bucketStart,
  type Clock,
  type Context,
  ContextChangesSchema,
  type ContextFilter,
  ContextFilterSchema,
  ContextSchema,
  ConvokitError,
  closedError,
  DAY_MS,
  dayOfWeek,
  decodeCursor,
  distinctTerms,
  EpochMsSchema,
  encodeCursor,
  fingerprint,
  type GroupKey,
  type GroupValue,
  hourOfDay,
  KeySchema,
  LatencyHistogram,
  type Measure,
  MULTI_VALUED_KEYS,
  makeSnippet,
  matchesTurnFilter,
  normalizeTurnFilter,
  PageSchema,
  SearchOptionsSchema,
  SearchTextSchema,
  STORAGE_CONTRACT_VERSION,
  type Storage,
  type Turn,
  TurnFilterSchema,
  TurnOrderSchema,
  TurnSchema,
  tokenize,
  validate,
} from '@convokit/core';

/**
 * A deliberately simple adapter (arrays and maps, full scans) used to prove the suite can fail:
 * with no defects it passes everything; each defect breaks one promise of the contract.
 */
export const DEFECTS = [
  'update-ignores-version',
  'get-hands-out-live-reference',
  'list-ignores-persona-filter',
  'percentiles-exact-not-histogram',
  'feedback-avg-over-all-turns',
  'use-after-close-allowed',
  'expired-contexts-visible',
  'append-not-atomic',
  'cursor-ignores-filter',
  'search-ignores-ranking',
  'week-starts-sunday',
  'touch-bumps-version',
  'delete-expired-ignores-limit',
  'create-skips-validation',
  'audit-oldest-first',
  'pairs-include-same-name',
  'group-keys-locale-order',
  'version-ignores-delete',
  'expire-audit-not-atomic',
] as const;
export type Defect = (typeof DEFECTS)[number];

const ListOptionsSchema = PageSchema.extend({ order: TurnOrderSchema.default('desc') });
const ContextPageSchema = PageSchema.extend({ now: EpochMsSchema.optional() });
const VersionSchema = ContextSchema.shape.version;

type Key = (string | number)[];

function compareKeys(a: readonly GroupValue[], b: readonly GroupValue[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function cmp(a: Key, b: Key): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    return (a[i] as string | number) < (b[i] as string | number) ? -1 : 1;
  }
  return 0;
}

function page<T>(sorted: T[], keyOf: (item: T) => Key, limit: number, after: Key | undefined, fp: string) {
  const start = after ? sorted.findIndex((item) => cmp(keyOf(item), after) > 0) : 0;
  const rest = start < 0 ? [] : sorted.slice(start);
  const items = rest.slice(0, limit);
  const more = rest.length > limit;
  return { items, nextCursor: more ? encodeCursor(keyOf(items.at(-1)!), fp) : null };
}

export function createNaiveStorage(options: { clock: Clock; defects?: readonly Defect[] }): Storage {
  const { clock } = options;
  const has = (defect: Defect) => options.defects?.includes(defect) ?? false;
  const copy = <T>(value: T): T => (has('get-hands-out-live-reference') ? value : structuredClone(value));
  let closed = false;
  const open = () => {
    if (closed && !has('use-after-close-allowed')) throw closedError('naive');
  };

  const turns = new Map<string, Turn>();
  const contexts = new Map<string, Context>();
  const events: AuditEvent[] = [];
  const live = (c: Context, now: number) =>
    has('expired-contexts-visible') || c.expiresAt === undefined || now < c.expiresAt;

  function cursorFp(value: unknown): string {
    return has('cursor-ignores-filter') ? 'any' : fingerprint(value);
  }

  function groupValues(turn: Turn, key: GroupKey): GroupValue[] {
    switch (key) {
      case 'persona':
        return [turn.persona ?? null];
      case 'framework':
        return turn.frameworks;
      case 'tool':
        return turn.tools;
      case 'mcpServer':
        return turn.mcpServers;
      case 'session':
        return [turn.sessionId];
      case 'user':
        return [turn.userId ?? null];
      case 'conversation':
        return [turn.conversationId ?? null];
      case 'outcome':
        return [turn.outcome];
      case 'hour':
      case 'day':
      case 'month':
        return [bucketStart(key, turn.at)];
      case 'week':
        return [
          has('week-starts-sunday')
            ? turn.at - (turn.at % DAY_MS) - ((dayOfWeek(turn.at) + 1) % 7) * DAY_MS
            : bucketStart('week', turn.at),
        ];
      case 'hourOfDay':
        return [hourOfDay(turn.at)];
      case 'dayOfWeek':
        return [dayOfWeek(turn.at)];
    }
  }

  /** Every key tuple a turn belongs to; a multi-valued key named twice gives pairs. */
  function keyTuples(turn: Turn, groupBy: GroupKey[]): GroupValue[][] {
    let tuples: GroupValue[][] = [[]];
    const done = new Set<number>();
    for (let i = 0; i < groupBy.length; i++) {
      if (done.has(i)) continue;
      const key = groupBy[i]!;
      const j = groupBy.indexOf(key, i + 1);
      const values = groupValues(turn, key);
      const next: GroupValue[][] = [];
      if (j > 0 && (MULTI_VALUED_KEYS as readonly string[]).includes(key)) {
        done.add(j);
        const names = [...(values as string[])].sort();
        for (const tuple of tuples) {
          for (let a = 0; a < names.length; a++) {
            for (let b = has('pairs-include-same-name') ? a : a + 1; b < names.length; b++) {
              const t = [...tuple];
              t[i] = names[a]!;
              t[j] = names[b]!;
              next.push(t);
            }
          }
        }
      } else {
        for (const tuple of tuples) {
          for (const value of values) {
            const t = [...tuple];
            t[i] = value;
            next.push(t);
          }
        }
      }
      tuples = next;
    }
    return tuples;
  }

  function measure(list: Turn[], m: Measure): number | null {
    const withLatency = list.filter((t) => t.latencyMs !== undefined).map((t) => t.latencyMs!);
    const withFeedback = list.filter((t) => t.feedback !== undefined).map((t) => t.feedback!);
    const errors = list.filter((t) => t.outcome === 'error').length;
    const percentile = (q: number) => {
      if (withLatency.length === 0) return null;
      if (has('percentiles-exact-not-histogram')) {
        const sorted = [...withLatency].sort((a, b) => a - b);
        return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
      }
      const h = new LatencyHistogram();
      for (const v of withLatency) h.add(v);
      return h.quantile(q);
    };
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    switch (m) {
      case 'count':
        return list.length;
      case 'errors':
        return errors;
      case 'errorRate':
        return list.length === 0 ? null : errors / list.length;
      case 'sessions':
        return new Set(list.map((t) => t.sessionId)).size;
      case 'users':
        return new Set(list.filter((t) => t.userId !== undefined).map((t) => t.userId)).size;
      case 'latencyAvg':
        return withLatency.length === 0 ? null : sum(withLatency) / withLatency.length;
      case 'latencyP50':
        return percentile(0.5);
      case 'latencyP95':
        return percentile(0.95);
      case 'latencyP99':
        return percentile(0.99);
      case 'latencyCount':
        return withLatency.length;
      case 'tokensIn':
        return sum(list.map((t) => t.tokens?.input ?? 0));
      case 'tokensOut':
        return sum(list.map((t) => t.tokens?.output ?? 0));
      case 'feedbackAvg':
        if (withFeedback.length === 0) return null;
        return sum(withFeedback) / (has('feedback-avg-over-all-turns') ? list.length : withFeedback.length);
      case 'feedbackCount':
        return withFeedback.length;
      case 'firstAt':
        return list.length === 0 ? null : Math.min(...list.map((t) => t.at));
      case 'lastAt':
        return list.length === 0 ? null : Math.max(...list.map((t) => t.at));
    }
  }

  let version = 0;
  const turnStore: NonNullable<Storage['turns']> = {
    async append(batch, opts = {}) {
      open();
      const list = validate(TurnSchema.array(), batch, 'turns.append');
      const ifExists = opts.ifExists ?? 'error';
      if (ifExists !== 'error' && ifExists !== 'skip') {
        throw new ConvokitError('VALIDATION', 'bad ifExists', {
          issues: [{ path: 'ifExists', message: 'bad' }],
        });
      }
      const seen = new Set<string>();
      list.forEach((turn, i) => {
        if (seen.has(turn.id)) {
          throw new ConvokitError('VALIDATION', `duplicate id ${turn.id}`, {
            issues: [{ path: `${i}.id`, message: 'repeats an id of this batch' }],
          });
        }
        seen.add(turn.id);
      });
      const skippedIds: string[] = [];
      const toWrite: Turn[] = [];
      for (const turn of list) {
        if (turns.has(turn.id)) {
          if (ifExists === 'skip') {
            skippedIds.push(turn.id);
            continue;
          }
          throw new ConvokitError('CONFLICT', `turn ${turn.id} exists`, { id: turn.id });
        }
        if (has('append-not-atomic')) turns.set(turn.id, structuredClone(turn));
        else toWrite.push(turn);
      }
      for (const turn of toWrite) turns.set(turn.id, structuredClone(turn));
      const appended = list.length - skippedIds.length;
      if (appended > 0) version++;
      return { appended, skippedIds, version };
    },
    async version() {
      open();
      return version;
    },
    async get(id) {
      open();
      validate(KeySchema, id, 'turns.get');
      const turn = turns.get(id);
      return turn && copy(turn);
    },
    async list(filter = {}, opts = {}) {
      open();
      const f = normalizeTurnFilter(validate(TurnFilterSchema, filter, 'turns.list'));
      const o = validate(ListOptionsSchema, opts, 'turns.list');
      const applied = has('list-ignores-persona-filter') ? { ...f, persona: undefined } : f;
      const sign = o.order === 'asc' ? 1 : -1;
      const keyOf = (t: Turn): Key => (o.order === 'asc' ? [t.at, t.id] : [-t.at, invert(t.id)]);
      const sorted = [...turns.values()]
        .filter((t) => matchesTurnFilter(t, applied))
        .sort((a, b) => sign * (a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
      const fp = cursorFp({ filter: f, order: o.order });
      const after = o.cursor ? decodeCursor(o.cursor, fp, 'turns.list') : undefined;
      const result = page(sorted, keyOf, o.limit, after, fp);
      return { items: result.items.map(copy), nextCursor: result.nextCursor };
    },
    async search(text, opts = {}) {
      open();
      validate(SearchTextSchema, text, 'turns.search');
      const o = validate(SearchOptionsSchema, opts, 'turns.search');
      const f = normalizeTurnFilter(o.filter);
      const terms = distinctTerms(text);
      const termSet = new Set(terms);
      const hits = [];
      for (const turn of turns.values()) {
        if (!matchesTurnFilter(turn, f)) continue;
        const words = tokenize(`${turn.userInput} ${turn.assistantResponse}`);
        const matched = terms.filter((term) => words.includes(term));
        if (matched.length === 0 || (o.mode === 'all' && matched.length < terms.length)) continue;
        const tf = words.filter((w) => termSet.has(w)).length;
        const score = has('search-ignores-ranking') ? 1 : matched.length + tf / (tf + 1) / 2;
        const inInput = tokenize(turn.userInput).some((w) => termSet.has(w));
        const snippet = makeSnippet(inInput ? turn.userInput : turn.assistantResponse, termSet);
        hits.push({ turn: copy(turn), score, snippet });
      }
      hits.sort((a, b) => b.score - a.score || b.turn.at - a.turn.at || (a.turn.id < b.turn.id ? 1 : -1));
      return hits.slice(0, o.limit);
    },
    async aggregate(specInput): Promise<AggregateResult> {
      open();
      const spec = validate(AggregateSpecSchema, specInput, 'turns.aggregate');
      const f = normalizeTurnFilter(spec.filter);
      const groups = new Map<string, { keys: GroupValue[]; turns: Turn[] }>();
      if (spec.groupBy.length === 0) groups.set('[]', { keys: [], turns: [] });
      for (const turn of turns.values()) {
        if (!matchesTurnFilter(turn, f)) continue;
        for (const keys of keyTuples(turn, spec.groupBy)) {
          const id = JSON.stringify(keys);
          const group = groups.get(id) ?? { keys, turns: [] };
          group.turns.push(turn);
          groups.set(id, group);
        }
      }
      const rows = [...groups.values()].map((g) => ({
        keys: g.keys,
        values: Object.fromEntries(spec.measures.map((m) => [m, measure(g.turns, m)])),
      }));
      rows.sort((a, b) => {
        if (spec.orderBy) {
          const x = a.values[spec.orderBy.measure] ?? null;
          const y = b.values[spec.orderBy.measure] ?? null;
          if (x !== y) {
            if (x === null) return 1;
            if (y === null) return -1;
            return spec.orderBy.direction === 'asc' ? x - y : y - x;
          }
        }
        if (has('group-keys-locale-order')) return String(a.keys).localeCompare(String(b.keys));
        return compareKeys(a.keys, b.keys);
      });
      const end = spec.limit === undefined ? undefined : spec.offset + spec.limit;
      return { rows: rows.slice(spec.offset, end), totalGroups: rows.length };
    },
    async count(filter = {}) {
      open();
      const f = normalizeTurnFilter(validate(TurnFilterSchema, filter, 'turns.count'));
      return [...turns.values()].filter((t) => matchesTurnFilter(t, f)).length;
    },
    async deleteBefore(before) {
      open();
      validate(EpochMsSchema, before, 'turns.deleteBefore');
      let n = 0;
      for (const [id, turn] of turns) {
        if (turn.at < before) {
          turns.delete(id);
          n++;
        }
      }
      if (n > 0 && !has('version-ignores-delete')) version++;
      return n;
    },
  };

  const contextStore: NonNullable<Storage['contexts']> = {
    async create(input) {
      open();
      const context = has('create-skips-validation')
        ? input
        : validate(ContextSchema, input, 'contexts.create');
      if (contexts.has(context.id)) throw new ConvokitError('CONFLICT', `context ${context.id} exists`, {});
      contexts.set(context.id, structuredClone(context));
      return structuredClone(context);
    },
    async get(id, opts = {}) {
      open();
      const now = opts.now ?? clock.now();
      const c = contexts.get(id);
      return c && live(c, now) ? copy(c) : undefined;
    },
    async update(id, expectedVersion, changesInput, now) {
      open();
      validate(VersionSchema, expectedVersion, 'contexts.update');
      validate(EpochMsSchema, now, 'contexts.update');
      const changes = validate(ContextChangesSchema, changesInput, 'contexts.update');
      const c = contexts.get(id);
      if (!c || !live(c, now)) throw new ConvokitError('NOT_FOUND', `context ${id} not found`, { id });
      if (c.version !== expectedVersion && !has('update-ignores-version')) {
        throw new ConvokitError('CONFLICT', 'stale version', { id, actualVersion: c.version });
      }
      const next: Context = structuredClone({ ...c, version: c.version + 1, updatedAt: now });
      if (changes.data !== undefined) next.data = structuredClone(changes.data);
      if (changes.metadata !== undefined) next.metadata = structuredClone(changes.metadata);
      if (changes.ownerId !== undefined) next.ownerId = changes.ownerId;
      if (changes.parentId === null) delete next.parentId;
      else if (changes.parentId !== undefined) next.parentId = changes.parentId;
      if (changes.expiresAt === null) delete next.expiresAt;
      else if (changes.expiresAt !== undefined) next.expiresAt = changes.expiresAt;
      contexts.set(id, next);
      return structuredClone(next);
    },
    async touch(id, touchInput) {
      open();
      const touch = touchInput;
      validate(EpochMsSchema, touch.at, 'contexts.touch');
      validate(EpochMsSchema.optional(), touch.expiresAt, 'contexts.touch');
      const c = contexts.get(id);
      if (!c || !live(c, touch.at)) return;
      c.accessCount++;
      c.lastAccessedAt = touch.at;
      if (touch.expiresAt !== undefined) c.expiresAt = touch.expiresAt;
      if (has('touch-bumps-version')) c.version++;
    },
    async delete(id, opts = {}) {
      open();
      const o = opts;
      validate(VersionSchema.optional(), o.expectedVersion, 'contexts.delete');
      validate(EpochMsSchema.optional(), o.now, 'contexts.delete');
      const c = contexts.get(id);
      if (!c || !live(c, o.now ?? clock.now())) return false;
      if (o.expectedVersion !== undefined && o.expectedVersion !== c.version) {
        throw new ConvokitError('CONFLICT', 'stale version', { id, actualVersion: c.version });
      }
      contexts.delete(id);
      return true;
    },
    async list(filter = {}, opts = {}) {
      open();
      const f = validate(ContextFilterSchema, filter, 'contexts.list');
      const o = validate(ContextPageSchema, opts, 'contexts.list');
      const now = o.now ?? clock.now();
      const sorted = [...contexts.values()]
        .filter((c) => live(c, now) && matchesContext(c, f))
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      const fp = cursorFp(f);
      const after = o.cursor ? decodeCursor(o.cursor, fp, 'contexts.list') : undefined;
      const result = page(sorted, (c) => [c.createdAt, c.id], o.limit, after, fp);
      return { items: result.items.map(copy), nextCursor: result.nextCursor };
    },
    async count(filter = {}, opts = {}) {
      open();
      const f = validate(ContextFilterSchema, filter, 'contexts.count');
      const now = opts.now ?? clock.now();
      return [...contexts.values()].filter((c) => live(c, now) && matchesContext(c, f)).length;
    },
    async deleteExpired(now, opts = {}) {
      open();
      validate(EpochMsSchema, now, 'contexts.deleteExpired');
      const o = { limit: validate(VersionSchema.optional(), opts.limit, 'contexts.deleteExpired') };
      if (opts.values !== undefined && typeof opts.values !== 'boolean') {
        throw new ConvokitError('VALIDATION', 'values must be a boolean', {
          where: 'contexts.deleteExpired',
        });
      }
      const expired = [...contexts.values()]
        .filter((c) => c.expiresAt !== undefined && c.expiresAt <= now)
        .sort((a, b) => a.expiresAt! - b.expiresAt! || (a.id < b.id ? -1 : 1));
      const chosen =
        o.limit === undefined || has('delete-expired-ignores-limit') ? expired : expired.slice(0, o.limit);
      for (const c of chosen) contexts.delete(c.id);
      if (opts.values === false) {
        return chosen.map(({ data: _data, metadata: _metadata, ...rest }) =>
          structuredClone(rest),
        ) as Context[];
      }
      return chosen.map((c) => structuredClone(c));
    },
    async deleteExpiredAudited(now, opts) {
      open();
      if (typeof opts?.event !== 'function') {
        throw new ConvokitError('VALIDATION', 'event must be a function', {
          where: 'contexts.deleteExpiredAudited',
        });
      }
      // Chosen without deleting: the contexts go only once every event is valid and new.
      const kept = new Map(contexts);
      const chosen = await contextStore.deleteExpired(now, opts);
      if (!has('expire-audit-not-atomic')) for (const c of chosen) contexts.set(c.id, kept.get(c.id)!);
      const list = validate(
        AuditEventSchema.array(),
        chosen.map((c) => opts.event(structuredClone(c))),
        'audit.append',
      );
      const seen = new Set(events.map((e) => e.id));
      for (const e of list) {
        if (seen.has(e.id)) throw new ConvokitError('CONFLICT', `audit event ${e.id} exists`, { id: e.id });
        seen.add(e.id);
      }
      for (const c of chosen) contexts.delete(c.id);
      events.push(...list.map((e) => structuredClone(e)));
      return chosen;
    },
  };

  const auditLog: NonNullable<Storage['audit']> = {
    async append(batch) {
      open();
      const list = validate(AuditEventSchema.array(), batch, 'audit.append');
      events.push(...list.map((e) => structuredClone(e)));
    },
    async list(filter = {}, opts = {}) {
      open();
      const f = validate(AuditFilterSchema, filter, 'audit.list');
      const o = validate(PageSchema, opts, 'audit.list');
      const dir = has('audit-oldest-first') ? -1 : 1;
      const sorted = events
        .filter(
          (e) =>
            (f.contextId === undefined || e.contextId === f.contextId) &&
            (f.principal === undefined || e.principal === f.principal) &&
            (f.action === undefined || e.action === f.action) &&
            (f.scope === undefined || e.scope === f.scope) &&
            (f.from === undefined || e.at >= f.from) &&
            (f.to === undefined || e.at < f.to),
        )
        .sort((a, b) => dir * (b.at - a.at || (a.id < b.id ? 1 : -1)));
      const fp = cursorFp(f);
      const after = o.cursor ? decodeCursor(o.cursor, fp, 'audit.list') : undefined;
      const keyOf = (e: AuditEvent): Key => (dir === 1 ? [-e.at, invert(e.id)] : [e.at, e.id]);
      const result = page(sorted, keyOf, o.limit, after, fp);
      return { items: result.items.map(copy), nextCursor: result.nextCursor };
    },
  };

  return {
    name: 'naive',
    contractVersion: STORAGE_CONTRACT_VERSION,
    capabilities: { turns: true, contexts: true, audit: true, multiProcess: false, durable: false },
    turns: turnStore,
    contexts: contextStore,
    audit: auditLog,
    async close() {
      closed = true;
    },
    async [Symbol.asyncDispose]() {
      closed = true;
    },
  };
}

function matchesContext(c: Context, f: ContextFilter): boolean {
  return (
    (f.scope === undefined || c.scope === f.scope) &&
    (f.ownerId === undefined || c.ownerId === f.ownerId) &&
    (f.sessionId === undefined || c.sessionId === f.sessionId) &&
    (f.persona === undefined || c.persona === f.persona) &&
    (f.parentId === undefined || c.parentId === f.parentId)
  );
}

/** A string that sorts in the reverse order of `id` (for descending keyset keys). */
function invert(id: string): string {
  return [...id].map((ch) => String.fromCharCode(0xffff - ch.charCodeAt(0))).join('') + '\uffff';
}
