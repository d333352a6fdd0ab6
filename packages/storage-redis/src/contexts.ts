import {
  type Context,
  type ContextChanges,
  type ContextFilter,
  ContextFilterSchema,
  ContextSchema,
  type ContextStore,
  type ContextTouch,
  ConvokitError,
  decodeCursor,
  EpochMsSchema,
  encodeCursor,
  fingerprint,
  type GetContextByIdOptions,
  GetContextByIdOptionsSchema,
  type GetContextOptions,
  isEpochMs,
  type PageInput,
  type PageResult,
  PageSchema,
  SweepOptionsSchema,
  validate,
} from '@convokit/core';
import { changeArgs, isVersion, type SentText } from './changes.js';
import type { Conn, ScriptingRedis } from './conn.js';
import { plainContext } from './context-check.js';

const NowOptionsSchema = PageSchema.extend({ now: EpochMsSchema.optional() }).pick({ now: true }).strict();
const ListOptionsSchema = PageSchema.extend({ now: EpochMsSchema.optional() }).strict();
const DeleteOptionsSchema = NowOptionsSchema.extend({
  expectedVersion: ContextSchema.shape.version.optional(),
}).strict();
const TouchSchema = NowOptionsSchema.omit({ now: true })
  .extend({ at: EpochMsSchema, expiresAt: EpochMsSchema.optional() })
  .strict();

/** Context field -> hash field for the optional keys an index serves. */
const INDEXED = {
  scope: 'scope',
  ownerId: 'owner',
  sessionId: 'session',
  persona: 'persona',
  parentId: 'parent',
} as const;
/** Most selective first: the index a list or count walks. */
const INDEX_ORDER = ['parentId', 'sessionId', 'ownerId', 'persona', 'scope'] as const;

type Hash = Record<string, string>;

function toHash(c: Context, data: string, metadata: string): string[] {
  const out = [
    'id',
    c.id,
    'scope',
    c.scope,
    'data',
    data,
    'metadata',
    metadata,
    'ver',
    String(c.version),
    'created',
    String(c.createdAt),
    'updated',
    String(c.updatedAt),
    'acc',
    String(c.accessCount),
    'last',
    String(c.lastAccessedAt),
  ];
  if (c.ownerId !== undefined) out.push('owner', c.ownerId);
  if (c.sessionId !== undefined) out.push('session', c.sessionId);
  if (c.persona !== undefined) out.push('persona', c.persona);
  if (c.parentId !== undefined) out.push('parent', c.parentId);
  if (c.expiresAt !== undefined) out.push('exp', String(c.expiresAt));
  return out;
}

function pairsToHash(flat: string[], from = 0): Hash {
  const h: Hash = {};
  for (let i = from; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}

/** A context from its hash; one Redis already expired (`gone`) comes back with empty data and metadata. */
function fromHash(h: Hash): Context {
  const gone = h.gone === '1';
  const c: Context = {
    id: h.id!,
    scope: h.scope as Context['scope'],
    data: gone ? {} : JSON.parse(h.data!),
    metadata: gone ? {} : JSON.parse(h.metadata!),
    version: Number(h.ver),
    createdAt: Number(h.created),
    updatedAt: Number(h.updated),
    accessCount: Number(h.acc),
    lastAccessedAt: Number(h.last),
  };
  if (h.owner !== undefined) c.ownerId = h.owner;
  if (h.session !== undefined) c.sessionId = h.session;
  if (h.persona !== undefined) c.persona = h.persona;
  if (h.parent !== undefined) c.parentId = h.parent;
  if (h.exp !== undefined) c.expiresAt = Number(h.exp);
  return c;
}

/**
 * The fields `get` reads with one HMGET, in this order: the reply is a fixed-position array (no
 * field names to transfer or pair up), and a missing optional field is a null.
 */
const GET_FIELDS = [
  'id',
  'scope',
  'data',
  'metadata',
  'ver',
  'created',
  'updated',
  'acc',
  'last',
  'owner',
  'session',
  'persona',
  'parent',
  'exp',
] as const;
const F_ID = 0;
const F_EXP = 13;

/** A context from an HMGET of GET_FIELDS whose `id` is present. */
function fromRow(r: (string | null)[]): Context {
  const c: Context = {
    id: r[0]!,
    scope: r[1] as Context['scope'],
    data: JSON.parse(r[2]!),
    metadata: JSON.parse(r[3]!),
    version: Number(r[4]),
    createdAt: Number(r[5]),
    updatedAt: Number(r[6]),
    accessCount: Number(r[7]),
    lastAccessedAt: Number(r[8]),
  };
  if (r[9] !== null) c.ownerId = r[9]!;
  if (r[10] !== null) c.sessionId = r[10]!;
  if (r[11] !== null) c.persona = r[11]!;
  if (r[12] !== null) c.parentId = r[12]!;
  if (r[13] !== null) c.expiresAt = Number(r[13]);
  return c;
}

/**
 * The context an update wrote, from the UPDATE script's fixed-position reply (see scripts.ts),
 * what the call sent, the new version and `now`. Data and metadata are the copies made of what
 * was sent, or parsed from the reply's text, so the context handed out shares nothing with the
 * caller's changes.
 */
function fromUpdate(id: string, version: number, now: number, r: string[], sent: SentText): Context {
  const c: Context = {
    id,
    scope: r[1] as Context['scope'],
    data: sent.data === undefined ? JSON.parse(r[11]!) : sent.data.value,
    metadata: sent.metadata === undefined ? JSON.parse(r[10]!) : sent.metadata.value,
    version,
    createdAt: Number(r[6]),
    updatedAt: now,
    accessCount: Number(r[8]),
    lastAccessedAt: Number(r[9]),
  };
  if (r[2] !== '') c.ownerId = r[2]!;
  if (r[3] !== '') c.sessionId = r[3]!;
  if (r[4] !== '') c.persona = r[4]!;
  if (r[5] !== '') c.parentId = r[5]!;
  if (r[7] !== '') c.expiresAt = Number(r[7]);
  return c;
}

/** The GET_FIELDS row of the context an update wrote (see fromUpdate). */
function updatedRow(
  id: string,
  version: number,
  now: number,
  r: string[],
  sent: SentText,
): (string | null)[] {
  return [
    id,
    r[1]!,
    sent.data === undefined ? r[11]! : sent.data.text,
    sent.metadata === undefined ? r[10]! : sent.metadata.text,
    String(version),
    r[6]!,
    String(now),
    r[8]!,
    r[9]!,
    r[2] || null,
    r[3] || null,
    r[4] || null,
    r[5] || null,
    r[7] || null,
  ];
}

/** Joins the fields of the UPDATE script's reply (see scripts.ts). */
const FIELD_SEPARATOR = '\u001f';

function live(h: Hash, now: number): boolean {
  return h.exp === undefined || now < Number(h.exp);
}

function matches(h: Hash, f: ContextFilter): boolean {
  for (const [field, hashField] of Object.entries(INDEXED) as [keyof ContextFilter, string][]) {
    const want = f[field];
    if (want !== undefined && h[hashField] !== want) return false;
  }
  return true;
}

const PRUNE = `if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end return 0`;

export function createContextStore(conn: Conn): ContextStore {
  const P = conn.prefix;
  const ckey = (id: string) => `${P}ctx:${id}`;
  const indexKey = (f: ContextFilter) => {
    for (const field of INDEX_ORDER) {
      const value = f[field];
      if (value !== undefined) return `${P}ix:${INDEXED[field]}:${value}`;
    }
    return `${P}ix:all`;
  };
  const nowOf = (given: number | undefined) => given ?? conn.clock.now();

  /** Drops index entries whose context key is gone (Redis expired it), checking inside Redis. */
  const prune = (redis: ScriptingRedis, index: string, ids: string[]) =>
    Promise.all(ids.map((id) => redis.eval(PRUNE, 2, ckey(id), index, id)));

  async function create(context: Context): Promise<Context> {
    conn.assertOpen();
    const plain = plainContext(context);
    const c = plain ?? validate(ContextSchema, context, 'contexts.create');
    const data = JSON.stringify(c.data);
    const metadata = JSON.stringify(c.metadata);
    const args = toHash(c, data, metadata);
    conn.cache?.invalidate(ckey(c.id));
    return conn.one('contexts.create', async (redis) => {
      const created = await redis.ckCreate(P, ...args);
      if (created !== 1) {
        throw new ConvokitError('CONFLICT', `Context ${c.id} already exists`, {
          where: 'contexts.create',
          id: c.id,
        });
      }
      // The context handed out shares nothing with the input: plainContext copied data and
      // metadata; the schema's output may share them, so that path parses the text stored.
      return plain ?? { ...c, data: JSON.parse(data), metadata: JSON.parse(metadata) };
    });
  }

  async function get(id: string, options?: GetContextByIdOptions): Promise<Context | undefined> {
    conn.assertOpen();
    // The hot path skips zod when the options are plainly valid; anything else gets its full check.
    let now: number | undefined;
    let checked = false;
    if (options != null) {
      const keys = Object.keys(options).length;
      if (isEpochMs(options.now) && (keys === 1 || (keys === 2 && options.versionChecked === true))) {
        now = options.now;
        checked = keys === 2;
      } else {
        const o = validate(GetContextByIdOptionsSchema, options, 'contexts.get options');
        now = o.now;
        checked = o.versionChecked === true;
      }
    }
    const key = ckey(String(id));
    const cache = conn.cache;
    if (cache !== undefined) {
      const hit = cache.lookup(key);
      if (hit !== undefined) {
        // The caller checks by version (see GetContextByIdOptions): a live copy is answered
        // without the PING; anything else is left to the read that confirms.
        const unconfirmed = checked ? liveContext(hit.row, now) : undefined;
        if (unconfirmed !== undefined) {
          cache.hits += 1;
          cache.uncheckedHits += 1;
          return unconfirmed;
        }
        if ((await cache.confirm()) && cache.still(key, hit)) {
          conn.assertOpen();
          cache.hits += 1;
          return liveContext(hit.row, now);
        }
      }
      cache.misses += 1;
    }
    return conn.one('contexts.get', async (redis) => {
      const ticket = cache?.ticket();
      // OPTIN tracking: Redis tracks the key of the command right after CLIENT CACHING YES.
      const caching =
        ticket &&
        redis.client('CACHING', 'YES').then(
          () => true,
          () => false,
        );
      const row = (await redis.hmget(key, ...GET_FIELDS)) as (string | null)[];
      if (row[F_ID] === null) return undefined;
      const exp = row[F_EXP];
      if (cache !== undefined && ticket !== undefined && (await caching))
        cache.store(key, row, exp == null ? Number.NaN : Number(exp), ticket);
      return liveContext(row, now);
    });
  }

  /** The context of a GET_FIELDS row whose id is present, or undefined when it expired by `now`. */
  function liveContext(row: (string | null)[], now: number | undefined): Context | undefined {
    const exp = row[F_EXP];
    if (exp != null && nowOf(now) >= Number(exp)) return undefined;
    return fromRow(row);
  }

  async function update(
    id: string,
    expectedVersion: number,
    changes: ContextChanges,
    now: number,
  ): Promise<Context> {
    conn.assertOpen();
    if (!isVersion(expectedVersion))
      validate(ContextSchema.shape.version, expectedVersion, 'contexts.update expectedVersion');
    if (!isEpochMs(now)) validate(EpochMsSchema, now, 'contexts.update now');
    const args = [P, String(id), String(expectedVersion), String(now)];
    const sent = changeArgs(changes, args);
    const key = ckey(String(id));
    const cache = conn.cache;
    // Only a key this client reads through the cache is worth the read that keeps it.
    const ticket = cache?.invalidate(key) ? cache.ticket() : undefined;
    return conn.one('contexts.update', async (redis) => {
      const reply = redis.ckUpdate(...args);
      // Keeps what the update wrote in the cache (see README, "what this client writes"): Redis
      // stops tracking a key its tracking client writes, so the key is read again, right behind the
      // script and in the same write to the socket, after CLIENT CACHING YES; a version and an
      // access count other than the ones written there mean another client wrote in between.
      const check =
        ticket &&
        Promise.all([redis.client('CACHING', 'YES'), redis.hmget(key, 'ver', 'acc')]).then(
          ([, row]) => row as (string | null)[],
          () => undefined,
        );
      const r = (await reply).split(FIELD_SEPARATOR);
      if (r[0] === 'ok') {
        const version = expectedVersion + 1;
        if (cache !== undefined && ticket !== undefined) {
          const seen = await check;
          if (seen !== undefined && seen[0] === String(version) && seen[1] === r[8])
            cache.store(
              key,
              updatedRow(String(id), version, now, r, sent),
              r[7] ? Number(r[7]) : Number.NaN,
              ticket,
            );
        }
        return fromUpdate(String(id), version, now, r, sent);
      }
      if (r[0] === 'nf') {
        throw new ConvokitError('NOT_FOUND', `Context ${id} does not exist or has expired`, {
          where: 'contexts.update',
          id,
        });
      }
      const actualVersion = Number(r[1]);
      throw new ConvokitError(
        'CONFLICT',
        `Context ${id} is at version ${actualVersion}, not ${expectedVersion}`,
        {
          where: 'contexts.update',
          id,
          expectedVersion,
          actualVersion,
        },
      );
    });
  }

  async function touch(id: string, t: ContextTouch): Promise<void> {
    conn.assertOpen();
    const { at, expiresAt } = validate(TouchSchema, t, 'contexts.touch');
    const args = [P, id, String(at)];
    if (expiresAt !== undefined) args.push(String(expiresAt));
    conn.cache?.invalidate(ckey(id));
    // Written behind: the contract allows it, and it saves the context manager's read a round trip.
    await conn.behind('contexts.touch', (redis) => redis.ckTouch(...args));
  }

  async function del(id: string, options?: { expectedVersion?: number; now?: number }): Promise<boolean> {
    conn.assertOpen();
    const opts = validate(DeleteOptionsSchema, options ?? {}, 'contexts.delete options');
    const expected = opts.expectedVersion === undefined ? '' : String(opts.expectedVersion);
    conn.cache?.invalidate(ckey(id));
    return conn.one('contexts.delete', async (redis) => {
      const r = await redis.ckDelete(P, id, String(nowOf(opts.now)), expected);
      if (Number(r[0]) === -1) {
        const actualVersion = Number(r[1]);
        throw new ConvokitError(
          'CONFLICT',
          `Context ${id} is at version ${actualVersion}, not ${opts.expectedVersion}`,
          { where: 'contexts.delete', id, expectedVersion: opts.expectedVersion, actualVersion },
        );
      }
      return Number(r[0]) === 1;
    });
  }

  async function list(
    filter: ContextFilter = {},
    options: PageInput & GetContextOptions = {},
  ): Promise<PageResult<Context>> {
    conn.assertOpen();
    const f = validate(ContextFilterSchema, filter, 'contexts.list');
    const { limit, cursor, now: given } = validate(ListOptionsSchema, options, 'contexts.list options');
    const now = nowOf(given);
    const print = fingerprint(f);
    let after: { createdAt: number; id: string } | undefined;
    if (cursor !== undefined) {
      const [createdAt, id] = decodeCursor(cursor, print, 'contexts.list');
      if (typeof createdAt !== 'number' || typeof id !== 'string') {
        throw new ConvokitError('VALIDATION', 'Invalid cursor for contexts.list', { where: 'contexts.list' });
      }
      after = { createdAt, id };
    }
    const index = indexKey(f).slice(P.length);
    const filterArgs: string[] = [];
    for (const [field, hashField] of Object.entries(INDEXED) as [keyof ContextFilter, string][]) {
      const want = f[field];
      if (want !== undefined) filterArgs.push(hashField, want);
    }
    return conn.run('contexts.list', async (redis) => {
      // One script call serves a page; it hands back a resume point only after examining many
      // index entries that were not live or did not match (see LIST in scripts.ts).
      const items: Context[] = [];
      let from = after;
      for (;;) {
        const [state, score, id, ...rows] = await redis.ckList(
          P,
          index,
          from ? String(from.createdAt) : '-inf',
          from ? from.id : '',
          String(now),
          String(limit + 1 - items.length),
          ...filterArgs,
        );
        for (const flat of rows) items.push(fromHash(pairsToHash(flat)));
        if (state !== 'more' || items.length > limit) break;
        from = { createdAt: Number(score), id };
      }
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page,
        nextCursor: items.length > limit && last ? encodeCursor([last.createdAt, last.id], print) : null,
      };
    });
  }

  async function count(filter: ContextFilter = {}, options?: GetContextOptions): Promise<number> {
    conn.assertOpen();
    const f = validate(ContextFilterSchema, filter, 'contexts.count');
    const { now: given } = validate(NowOptionsSchema, options ?? {}, 'contexts.count options');
    const now = nowOf(given);
    const index = indexKey(f);
    const fields = ['id', 'exp', ...Object.values(INDEXED)];
    return conn.run('contexts.count', async (redis) => {
      const ids = await redis.zrange(index, 0, -1);
      let n = 0;
      for (let start = 0; start < ids.length; start += 1000) {
        const chunk = ids.slice(start, start + 1000);
        const pipeline = redis.pipeline();
        for (const id of chunk) pipeline.hmget(ckey(id), ...fields);
        const results = (await pipeline.exec()) ?? [];
        const gone: string[] = [];
        results.forEach(([error, value], i) => {
          if (error) throw error;
          const row = value as (string | null)[];
          if (row[0] === null) {
            gone.push(chunk[i]!);
            return;
          }
          const h: Hash = {};
          fields.forEach((name, j) => {
            if (row[j] !== null) h[name] = row[j]!;
          });
          if (live(h, now) && matches(h, f)) n += 1;
        });
        if (gone.length > 0) await prune(redis, index, gone);
      }
      return n;
    });
  }

  async function deleteExpired(
    now: number,
    options: { limit?: number; values?: boolean } = {},
  ): Promise<Context[]> {
    conn.assertOpen();
    validate(EpochMsSchema, now, 'contexts.deleteExpired');
    const { limit, values } = validate(SweepOptionsSchema, options ?? {}, 'contexts.deleteExpired options');
    // A sweep deletes contexts this call cannot name before it runs.
    conn.cache?.clear();
    return conn.one('contexts.deleteExpired', async (redis) => {
      const rows = await redis.ckSweep(P, String(now), String(limit ?? 0));
      const deleted = rows.map((flat) => fromHash(pairsToHash(flat)));
      if (values !== false) return deleted;
      // Without values (see the contract): typed as contexts only to fit its general signature.
      return deleted.map(({ data: _data, metadata: _metadata, ...summary }) => summary) as Context[];
    });
  }

  return { create, get, update, touch, delete: del, list, count, deleteExpired };
}
