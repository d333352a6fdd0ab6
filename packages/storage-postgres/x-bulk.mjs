// bulk.ts
import postgres2 from 'postgres';

// ../../work/main/packages/storage-postgres/src/rollups.ts
var HOUR = 36e5;
var DAY = 864e5;
var ALL_DIM = '';
var ROLLUP_TABLES = ['rollup_hour', 'rollup_day', 'rollup_latency_day', 'rollup_members'];
var TURN_COLS =
  'x.at, x.session_id, x.user_id, x.outcome, x.latency_ms, x.latency_bucket, x.tokens_in, x.tokens_out, x.feedback';
function expandedTurns(s) {
  return [
    `SELECT '' AS dim, '' AS key, ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'persona', coalesce(x.persona, ''), ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'outcome', x.outcome, ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'framework', n.name, ${TURN_COLS} FROM ${s.frameworks} n JOIN ${s.turns} x ON x.id = n.turn_id`,
    `SELECT 'tool', n.name, ${TURN_COLS} FROM ${s.tools} n JOIN ${s.turns} x ON x.id = n.turn_id`,
    `SELECT 'mcpServer', n.name, ${TURN_COLS} FROM ${s.mcpServers} n JOIN ${s.turns} x ON x.id = n.turn_id`,
    `SELECT 'session', x.session_id, ${TURN_COLS} FROM ${s.turns} x`,
    `SELECT 'hourOfDay', (mod(x.at, ${DAY}) / ${HOUR})::text, ${TURN_COLS} FROM ${s.turns} x`,
  ].join('\n UNION ALL ');
}
function totalsUpsert(S2, table, unit, dims) {
  return `INSERT INTO ${S2}.${table} AS r (dim, bucket, key, count, errors, tokens_in, tokens_out, feedback_sum,
      feedback_count, latency_count, latency_sum, latency_min, latency_max, first_at, last_at)
    SELECT dim, at - mod(at, ${unit}), key, count(*), count(*) FILTER (WHERE outcome = 'error'),
      coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0), coalesce(sum(feedback), 0), count(feedback),
      count(latency_ms), coalesce(sum(latency_ms), 0), min(latency_ms), max(latency_ms), min(at), max(at)
    FROM e WHERE ${dims}
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (dim, bucket, key) DO UPDATE SET
      count = r.count + excluded.count,
      errors = r.errors + excluded.errors,
      tokens_in = r.tokens_in + excluded.tokens_in,
      tokens_out = r.tokens_out + excluded.tokens_out,
      feedback_sum = r.feedback_sum + excluded.feedback_sum,
      feedback_count = r.feedback_count + excluded.feedback_count,
      latency_count = r.latency_count + excluded.latency_count,
      latency_sum = r.latency_sum + excluded.latency_sum,
      latency_min = least(r.latency_min, excluded.latency_min),
      latency_max = greatest(r.latency_max, excluded.latency_max),
      first_at = least(r.first_at, excluded.first_at),
      last_at = greatest(r.last_at, excluded.last_at)`;
}
var PLAIN = `dim NOT IN ('session', 'hourOfDay')`;
function rollupStatements(S2) {
  return [
    totalsUpsert(S2, 'rollup_hour', HOUR, PLAIN),
    totalsUpsert(S2, 'rollup_day', DAY, `dim <> 'hourOfDay'`),
    `INSERT INTO ${S2}.rollup_latency_day AS r (dim, bucket, key, lb, count)
      SELECT dim, at - mod(at, ${DAY}), key, latency_bucket, count(*)
      FROM e WHERE ${PLAIN} AND latency_bucket IS NOT NULL
      GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
      ON CONFLICT (dim, bucket, key, lb) DO UPDATE SET count = r.count + excluded.count`,
    // Sessions and users per dimension value and day (outcome filters with distinct counts scan).
    `INSERT INTO ${S2}.rollup_members (dim, kind, key, member, day)
      SELECT DISTINCT dim, kind, key, member, day FROM (
        SELECT dim, 's'::"char" AS kind, key, session_id AS member, at - mod(at, ${DAY}) AS day
        FROM e WHERE dim NOT IN ('session', 'outcome')
        UNION ALL
        SELECT dim, 'u'::"char", key, user_id, at - mod(at, ${DAY})
        FROM e WHERE dim NOT IN ('session', 'outcome') AND user_id IS NOT NULL
      ) m ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT DO NOTHING`,
  ];
}
function storedSource(S2) {
  const names = (table) =>
    `(SELECT n.turn_id, n.name FROM ${S2}.${table} n WHERE n.at >= $1::bigint AND n.at < $2::bigint)`;
  return {
    ctes: `src AS (SELECT id, session_id, user_id, at, persona, outcome, latency_ms, latency_bucket, tokens_in,
        tokens_out, feedback FROM ${S2}.turns WHERE at >= $1::bigint AND at < $2::bigint)`,
    source: {
      turns: 'src',
      frameworks: names('turn_frameworks'),
      tools: names('turn_tools'),
      mcpServers: names('turn_mcp_servers'),
    },
  };
}
function rebuildStatements(S2) {
  const { ctes, source } = storedSource(S2);
  const with_ = `WITH ${ctes}, e AS MATERIALIZED (${expandedTurns(source)})`;
  return [
    ...ROLLUP_TABLES.map((t) =>
      t === 'rollup_members'
        ? `DELETE FROM ${S2}.${t} WHERE day >= $1::bigint AND day < $2::bigint`
        : `DELETE FROM ${S2}.${t} WHERE bucket >= $1::bigint AND bucket < $2::bigint`,
    ),
    ...rollupStatements(S2).map((body) => `${with_} ${body}`),
  ];
}

// ../../work/main/packages/storage-postgres/src/migrations.ts
var TOTALS_TABLE = (S2, table) => `
  CREATE TABLE ${S2}.${table} (
    dim text COLLATE "C" NOT NULL,
    bucket bigint NOT NULL,
    key text COLLATE "C" NOT NULL,
    count bigint NOT NULL,
    errors bigint NOT NULL,
    tokens_in bigint NOT NULL,
    tokens_out bigint NOT NULL,
    feedback_sum double precision NOT NULL,
    feedback_count bigint NOT NULL,
    latency_count bigint NOT NULL,
    latency_sum double precision NOT NULL,
    latency_min double precision,
    latency_max double precision,
    first_at bigint NOT NULL,
    last_at bigint NOT NULL,
    PRIMARY KEY (dim, bucket, key)
  )`;
var LATENCY_TABLE = (S2, table) => `
  CREATE TABLE ${S2}.${table} (
    dim text COLLATE "C" NOT NULL,
    bucket bigint NOT NULL,
    key text COLLATE "C" NOT NULL,
    lb integer NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (dim, bucket, key, lb)
  )`;
var NAME_TABLE = (S2, table) => `
  CREATE TABLE ${S2}.${table} (
    turn_id text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (turn_id, name)
  )`;
var MIGRATIONS = [
  {
    version: 1,
    name: 'tables',
    statements: (S2) => [
      `CREATE TABLE ${S2}.turns (
        id text COLLATE "C" PRIMARY KEY,
        session_id text COLLATE "C" NOT NULL,
        conversation_id text COLLATE "C",
        user_id text COLLATE "C",
        persona text COLLATE "C",
        at bigint NOT NULL,
        outcome text NOT NULL,
        latency_ms double precision,
        latency_bucket integer,
        tokens_in bigint,
        tokens_out bigint,
        feedback double precision,
        body text NOT NULL,
        search tsvector NOT NULL
      )`,
      NAME_TABLE(S2, 'turn_frameworks'),
      NAME_TABLE(S2, 'turn_tools'),
      NAME_TABLE(S2, 'turn_mcp_servers'),
      `CREATE INDEX turns_at ON ${S2}.turns (at, id)`,
      `CREATE INDEX turns_search ON ${S2}.turns USING gin (search)`,
      `CREATE TABLE ${S2}.contexts (
        id text COLLATE "C" PRIMARY KEY,
        scope text NOT NULL,
        owner_id text COLLATE "C",
        session_id text COLLATE "C",
        persona text COLLATE "C",
        parent_id text COLLATE "C",
        data text NOT NULL,
        metadata text NOT NULL,
        version integer NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        expires_at bigint,
        access_count bigint NOT NULL,
        last_accessed_at bigint NOT NULL
      )`,
      `CREATE TABLE ${S2}.audit_events (
        id text COLLATE "C" PRIMARY KEY,
        at bigint NOT NULL,
        principal text COLLATE "C" NOT NULL,
        action text NOT NULL,
        context_id text COLLATE "C" NOT NULL,
        scope text NOT NULL,
        body text NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'secondary indexes',
    statements: (S2) => [
      `CREATE INDEX turns_session_at ON ${S2}.turns (session_id, at)`,
      `CREATE INDEX turns_persona_at ON ${S2}.turns (persona, at)`,
      `CREATE INDEX turns_user_at ON ${S2}.turns (user_id, at)`,
      `CREATE INDEX turns_conversation_at ON ${S2}.turns (conversation_id, at)`,
      `CREATE INDEX turn_frameworks_name ON ${S2}.turn_frameworks (name, at)`,
      `CREATE INDEX turn_tools_name ON ${S2}.turn_tools (name, at)`,
      `CREATE INDEX turn_mcp_servers_name ON ${S2}.turn_mcp_servers (name, at)`,
      `CREATE INDEX turn_frameworks_at ON ${S2}.turn_frameworks (at)`,
      `CREATE INDEX turn_tools_at ON ${S2}.turn_tools (at)`,
      `CREATE INDEX turn_mcp_servers_at ON ${S2}.turn_mcp_servers (at)`,
      `CREATE INDEX contexts_created ON ${S2}.contexts (created_at, id)`,
      `CREATE INDEX contexts_scope ON ${S2}.contexts (scope, created_at, id)`,
      `CREATE INDEX contexts_owner ON ${S2}.contexts (owner_id, created_at, id)`,
      `CREATE INDEX contexts_session ON ${S2}.contexts (session_id, created_at, id)`,
      `CREATE INDEX contexts_persona ON ${S2}.contexts (persona, created_at, id)`,
      `CREATE INDEX contexts_parent ON ${S2}.contexts (parent_id, created_at, id)`,
      `CREATE INDEX contexts_expiry ON ${S2}.contexts (expires_at, id) WHERE expires_at IS NOT NULL`,
      `CREATE INDEX audit_at ON ${S2}.audit_events (at, id)`,
      `CREATE INDEX audit_context ON ${S2}.audit_events (context_id, at, id)`,
      `CREATE INDEX audit_principal ON ${S2}.audit_events (principal, at, id)`,
    ],
  },
  {
    version: 3,
    name: 'rollups',
    statements: (S2) => [
      TOTALS_TABLE(S2, 'rollup_hour'),
      TOTALS_TABLE(S2, 'rollup_day'),
      LATENCY_TABLE(S2, 'rollup_latency_day'),
      // Key order serves DISTINCT (key, member) over a day range by an index-only scan.
      `CREATE TABLE ${S2}.rollup_members (
        dim text COLLATE "C" NOT NULL,
        kind "char" NOT NULL,
        key text COLLATE "C" NOT NULL,
        member text COLLATE "C" NOT NULL,
        day bigint NOT NULL,
        PRIMARY KEY (dim, kind, key, member, day)
      )`,
      `CREATE INDEX rollup_members_day ON ${S2}.rollup_members (day)`,
      // Appends from a process still on schema 2 would not add to the rollups: wait them out.
      `LOCK TABLE ${S2}.turns IN SHARE ROW EXCLUSIVE MODE`,
    ],
    async after(tx, S2) {
      for (const statement of rebuildStatements(S2)) await tx.unsafe(statement, [0, 864e13 + DAY]);
    },
  },
];
var LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
async function migrate(sql2, schema2, S2) {
  const applied = [];
  await sql2.begin(async (tx) => {
    await tx.unsafe('SELECT pg_advisory_xact_lock(hashtext($1))', [`convokit:${schema2}`]);
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${S2}`);
    await tx.unsafe(
      `CREATE TABLE IF NOT EXISTS ${S2}.schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await tx.unsafe(`SELECT version FROM ${S2}.schema_migrations`);
    const done = new Set(rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.statements(S2).join(';\n')).simple();
      if (m.after) await m.after(tx, S2);
      await tx.unsafe(`INSERT INTO ${S2}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
  });
  return applied;
}

// ../../work/main/packages/storage-postgres/src/storage.ts
// ../../work/main/packages/storage-postgres/src/audit.ts
import {
  AuditEventSchema,
  AuditFilterSchema,
  ConvokitError,
  ConvokitError as ConvokitError5,
  createLogger,
  decodeCursor,
  encodeCursor,
  fingerprint,
  PageSchema,
  STORAGE_CONTRACT_VERSION,
  systemClock,
  validate,
} from '@convokit/core';
import postgres from 'postgres';

// ../../work/main/packages/storage-postgres/src/params.ts
var Params = class {
  values = [];
  /** Adds a value and returns its placeholder, with a cast when given (`$3::text[]`). */
  add(value, cast) {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }
};
function quoteIdent(name) {
  return `"${name.replace(/"/g, '""')}"`;
}

// ../../work/main/packages/storage-postgres/src/audit.ts
var BatchSchema = AuditEventSchema.array().superRefine((events, ctx) => {
  const seen = /* @__PURE__ */ new Set();
  events.forEach((e, i) => {
    if (seen.has(e.id))
      ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'repeats an id earlier in the batch' });
    seen.add(e.id);
  });
});
function createAuditLog(db) {
  const { S: S2 } = db;
  async function append(events) {
    db.assertOpen();
    const batch = validate(BatchSchema, events, 'audit.append');
    if (batch.length === 0) return db.run('audit.append', async () => void 0);
    await db.tx('audit.append', async (sql2) => {
      const rows = await sql2.unsafe(
        `INSERT INTO ${S2}.audit_events (id, at, principal, action, context_id, scope, body)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          batch.map((e) => e.id),
          batch.map((e) => e.at),
          batch.map((e) => e.principal),
          batch.map((e) => e.action),
          batch.map((e) => e.contextId),
          batch.map((e) => e.scope),
          batch.map((e) => JSON.stringify(e)),
        ],
        { prepare: true },
      );
      if (rows.length !== batch.length) {
        const written = new Set(rows.map((r) => r.id));
        const ids = [...new Set(batch.map((e) => e.id).filter((id) => !written.has(id)))];
        throw new ConvokitError(
          'CONFLICT',
          `audit.append: event id(s) already stored: ${ids.slice(0, 5).join(', ')}`,
          {
            where: 'audit.append',
            ids,
          },
        );
      }
    });
  }
  async function list(filter = {}, options = {}) {
    db.assertOpen();
    const f = validate(AuditFilterSchema, filter, 'audit.list');
    const { limit, cursor } = validate(PageSchema, options, 'audit.list options');
    const print = fingerprint(f);
    const p = new Params();
    const where = ['TRUE'];
    if (f.contextId !== void 0) where.push(`context_id = ${p.add(f.contextId, 'text')}`);
    if (f.principal !== void 0) where.push(`principal = ${p.add(f.principal, 'text')}`);
    if (f.action !== void 0) where.push(`action = ${p.add(f.action, 'text')}`);
    if (f.scope !== void 0) where.push(`scope = ${p.add(f.scope, 'text')}`);
    if (f.from !== void 0) where.push(`at >= ${p.add(f.from, 'bigint')}`);
    if (f.to !== void 0) where.push(`at < ${p.add(f.to, 'bigint')}`);
    if (cursor !== void 0) {
      const [at, id] = decodeCursor(cursor, print, 'audit.list');
      if (typeof at !== 'number' || typeof id !== 'string') {
        throw new ConvokitError('VALIDATION', 'Invalid cursor for audit.list', { where: 'audit.list' });
      }
      where.push(`(at, id) < (${p.add(at, 'bigint')}, ${p.add(id, 'text')})`);
    }
    return db.read('audit.list', async (sql2) => {
      const rows = await sql2.unsafe(
        `SELECT body FROM ${S2}.audit_events WHERE ${where.join(' AND ')} ORDER BY at DESC, id DESC LIMIT ${limit + 1}`,
        p.values,
        { prepare: true },
      );
      const items = rows.slice(0, limit).map((r) => JSON.parse(r.body));
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor([last.at, last.id], print) : null,
      };
    });
  }
  return { append, list };
}

// ../../work/main/packages/storage-postgres/src/contexts.ts
import {
  ContextChangesSchema,
  ContextFilterSchema,
  ContextSchema,
  ConvokitError as ConvokitError2,
  decodeCursor as decodeCursor2,
  EpochMsSchema,
  encodeCursor as encodeCursor2,
  fingerprint as fingerprint2,
  PageSchema as PageSchema2,
  validate as validate2,
} from '@convokit/core';

// ../../work/main/packages/storage-postgres/src/get-batch.ts
var GetBatcher = class {
  constructor(db, op, one, many, decode, max = 256) {
    this.db = db;
    this.op = op;
    this.one = one;
    this.many = many;
    this.decode = decode;
    this.#max = max;
  }
  db;
  op;
  one;
  many;
  decode;
  #waiting;
  #max;
  get(id, now) {
    return new Promise((resolve, reject) => {
      if (!this.#waiting) {
        this.#waiting = [];
        queueMicrotask(() => this.#flush());
      }
      this.#waiting.push({ id, now, resolve, reject });
      if (this.#waiting.length >= this.#max) this.#flush();
    });
  }
  #flush() {
    const batch = this.#waiting;
    this.#waiting = void 0;
    if (!batch || batch.length === 0) return;
    this.#send(batch).catch((error) => {
      for (const w of batch) w.reject(error);
    });
  }
  async #send(batch) {
    if (batch.length === 1) {
      const w = batch[0];
      const rows2 = await this.db.read(this.op, (sql2) =>
        sql2.unsafe(this.one, [w.id, w.now], { prepare: true }),
      );
      w.resolve(rows2[0] ? this.decode(rows2[0]) : void 0);
      return;
    }
    const rows = await this.db.read(this.op, (sql2) =>
      sql2.unsafe(this.many, [batch.map((w) => w.id), batch.map((w) => w.now)], { prepare: true }),
    );
    const found = new Array(batch.length);
    for (const row of rows) found[row.i - 1] = row;
    batch.forEach((w, k) => {
      const row = found[k];
      w.resolve(row ? this.decode(row) : void 0);
    });
  }
};

// ../../work/main/packages/storage-postgres/src/contexts.ts
var COLUMNS =
  'id, scope, owner_id, session_id, persona, parent_id, data, metadata, version, created_at, updated_at, expires_at, access_count, last_accessed_at';
function rowToContext(r) {
  const c = {
    id: r.id,
    scope: r.scope,
    data: JSON.parse(r.data),
    metadata: JSON.parse(r.metadata),
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    accessCount: r.access_count,
    lastAccessedAt: r.last_accessed_at,
  };
  if (r.owner_id !== null) c.ownerId = r.owner_id;
  if (r.session_id !== null) c.sessionId = r.session_id;
  if (r.persona !== null) c.persona = r.persona;
  if (r.parent_id !== null) c.parentId = r.parent_id;
  if (r.expires_at !== null) c.expiresAt = r.expires_at;
  return c;
}
var FILTER_COLUMNS = {
  scope: 'scope',
  ownerId: 'owner_id',
  sessionId: 'session_id',
  persona: 'persona',
  parentId: 'parent_id',
};
var LIVE = (now) => `(expires_at IS NULL OR expires_at > ${now})`;
var ListOptionsSchema = PageSchema2.extend({ now: EpochMsSchema.optional() }).strict();
var NowOptionsSchema = ListOptionsSchema.pick({ now: true }).strict();
var DeleteOptionsSchema = NowOptionsSchema.extend({
  expectedVersion: ContextSchema.shape.version.optional(),
}).strict();
var TouchSchema = NowOptionsSchema.omit({ now: true })
  .extend({ at: EpochMsSchema, expiresAt: EpochMsSchema.optional() })
  .strict();
var SweepOptionsSchema = NowOptionsSchema.omit({ now: true })
  .extend({ limit: ContextSchema.shape.version.optional() })
  .strict();
function filterSql(filter, p) {
  const where = [];
  for (const [field, column] of Object.entries(FILTER_COLUMNS)) {
    const value = filter[field];
    if (value !== void 0) where.push(`${column} = ${p.add(value, 'text')}`);
  }
  return where;
}
function createContextStore(db) {
  const { S: S2 } = db;
  const getter = new GetBatcher(
    db,
    'contexts.get',
    `SELECT ${COLUMNS} FROM ${S2}.contexts WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
    `SELECT u.i::int AS i, c.* FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(id, now, i)
     JOIN ${S2}.contexts c ON c.id = u.id AND (c.expires_at IS NULL OR c.expires_at > u.now)`,
    rowToContext,
  );
  async function create(context) {
    db.assertOpen();
    const c = validate2(ContextSchema, context, 'contexts.create');
    return db.run('contexts.create', async (sql2) => {
      const rows = await sql2.unsafe(
        `INSERT INTO ${S2}.contexts (${COLUMNS})
         VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::int,
                 $10::bigint, $11::bigint, $12::bigint, $13::bigint, $14::bigint)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          c.id,
          c.scope,
          c.ownerId ?? null,
          c.sessionId ?? null,
          c.persona ?? null,
          c.parentId ?? null,
          JSON.stringify(c.data),
          JSON.stringify(c.metadata),
          c.version,
          c.createdAt,
          c.updatedAt,
          c.expiresAt ?? null,
          c.accessCount,
          c.lastAccessedAt,
        ],
        { prepare: true },
      );
      if (rows.length === 0) {
        throw new ConvokitError2('CONFLICT', `Context ${c.id} already exists`, {
          where: 'contexts.create',
          id: c.id,
        });
      }
      return structuredClone(c);
    });
  }
  async function get(id, options) {
    db.assertOpen();
    const given =
      options === void 0 ? void 0 : validate2(NowOptionsSchema, options, 'contexts.get options').now;
    return getter.get(String(id), given ?? db.clock.now());
  }
  async function update(id, expectedVersion, changes, now) {
    db.assertOpen();
    const ch = validate2(ContextChangesSchema, changes, 'contexts.update');
    validate2(ContextSchema.shape.version, expectedVersion, 'contexts.update expectedVersion');
    validate2(EpochMsSchema, now, 'contexts.update now');
    const p = new Params();
    const sets = [`version = version + 1`, `updated_at = ${p.add(now, 'bigint')}`];
    if (ch.data !== void 0) sets.push(`data = ${p.add(JSON.stringify(ch.data), 'text')}`);
    if (ch.metadata !== void 0) sets.push(`metadata = ${p.add(JSON.stringify(ch.metadata), 'text')}`);
    if (ch.ownerId !== void 0) sets.push(`owner_id = ${p.add(ch.ownerId, 'text')}`);
    if (ch.parentId !== void 0) sets.push(`parent_id = ${p.add(ch.parentId, 'text')}`);
    if (ch.expiresAt !== void 0) sets.push(`expires_at = ${p.add(ch.expiresAt, 'bigint')}`);
    const idParam = p.add(id, 'text');
    const versionParam = p.add(expectedVersion, 'int');
    const nowParam = p.add(now, 'bigint');
    return db.run('contexts.update', async (sql2) => {
      const rows = await sql2.unsafe(
        `UPDATE ${S2}.contexts SET ${sets.join(', ')}
         WHERE id = ${idParam} AND version = ${versionParam} AND ${LIVE(nowParam)}
         RETURNING ${COLUMNS}`,
        p.values,
        { prepare: true },
      );
      if (rows[0]) return rowToContext(rows[0]);
      const current = await sql2.unsafe(
        `SELECT version FROM ${S2}.contexts WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
        [id, now],
        { prepare: true },
      );
      if (!current[0]) {
        throw new ConvokitError2('NOT_FOUND', `Context ${id} does not exist or has expired`, {
          where: 'contexts.update',
          id,
        });
      }
      throw new ConvokitError2(
        'CONFLICT',
        `Context ${id} is at version ${current[0].version}, not ${expectedVersion}`,
        { where: 'contexts.update', id, expectedVersion, actualVersion: current[0].version },
      );
    });
  }
  async function touch(id, t) {
    db.assertOpen();
    const { at, expiresAt } = validate2(TouchSchema, t, 'contexts.touch');
    await db.run('contexts.touch', (sql2) =>
      sql2.unsafe(
        `UPDATE ${S2}.contexts
         SET access_count = access_count + 1, last_accessed_at = $2::bigint, expires_at = coalesce($3::bigint, expires_at)
         WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
        [id, at, expiresAt ?? null],
        { prepare: true },
      ),
    );
  }
  async function del(id, options) {
    db.assertOpen();
    const opts = validate2(DeleteOptionsSchema, options ?? {}, 'contexts.delete options');
    const now = opts.now ?? db.clock.now();
    return db.run('contexts.delete', async (sql2) => {
      if (opts.expectedVersion === void 0) {
        const r2 = await sql2.unsafe(
          `DELETE FROM ${S2}.contexts WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
          [id, now],
          { prepare: true },
        );
        return r2.count > 0;
      }
      const r = await sql2.unsafe(
        `DELETE FROM ${S2}.contexts WHERE id = $1::text AND version = $3::int AND ${LIVE('$2::bigint')}`,
        [id, now, opts.expectedVersion],
        { prepare: true },
      );
      if (r.count > 0) return true;
      const current = await sql2.unsafe(
        `SELECT version FROM ${S2}.contexts WHERE id = $1::text AND ${LIVE('$2::bigint')}`,
        [id, now],
        { prepare: true },
      );
      if (!current[0]) return false;
      throw new ConvokitError2(
        'CONFLICT',
        `Context ${id} is at version ${current[0].version}, not ${opts.expectedVersion}`,
        {
          where: 'contexts.delete',
          id,
          expectedVersion: opts.expectedVersion,
          actualVersion: current[0].version,
        },
      );
    });
  }
  async function list(filter = {}, options = {}) {
    db.assertOpen();
    const f = validate2(ContextFilterSchema, filter, 'contexts.list');
    const { limit, cursor, now: given } = validate2(ListOptionsSchema, options, 'contexts.list options');
    const now = given ?? db.clock.now();
    const print = fingerprint2(f);
    const p = new Params();
    const where = filterSql(f, p);
    where.push(LIVE(p.add(now, 'bigint')));
    if (cursor !== void 0) {
      const [createdAt, id] = decodeCursor2(cursor, print, 'contexts.list');
      if (typeof createdAt !== 'number' || typeof id !== 'string') {
        throw new ConvokitError2('VALIDATION', 'Invalid cursor for contexts.list', {
          where: 'contexts.list',
        });
      }
      where.push(`(created_at, id) > (${p.add(createdAt, 'bigint')}, ${p.add(id, 'text')})`);
    }
    return db.read('contexts.list', async (sql2) => {
      const rows = await sql2.unsafe(
        `SELECT ${COLUMNS} FROM ${S2}.contexts WHERE ${where.join(' AND ')}
         ORDER BY created_at, id LIMIT ${limit + 1}`,
        p.values,
        { prepare: true },
      );
      const items = rows.slice(0, limit).map(rowToContext);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor2([last.createdAt, last.id], print) : null,
      };
    });
  }
  async function count(filter = {}, options) {
    db.assertOpen();
    const f = validate2(ContextFilterSchema, filter, 'contexts.count');
    const { now: given } = validate2(NowOptionsSchema, options ?? {}, 'contexts.count options');
    const p = new Params();
    const where = filterSql(f, p);
    where.push(LIVE(p.add(given ?? db.clock.now(), 'bigint')));
    return db.read('contexts.count', async (sql2) => {
      const rows = await sql2.unsafe(
        `SELECT count(*)::float8 AS n FROM ${S2}.contexts WHERE ${where.join(' AND ')}`,
        p.values,
        { prepare: true },
      );
      return rows[0].n;
    });
  }
  async function deleteExpired(now, options = {}) {
    db.assertOpen();
    validate2(EpochMsSchema, now, 'contexts.deleteExpired');
    const { limit } = validate2(SweepOptionsSchema, options, 'contexts.deleteExpired options');
    return db.run('contexts.deleteExpired', async (sql2) => {
      const rows = await sql2.unsafe(
        `DELETE FROM ${S2}.contexts WHERE id IN (
           SELECT id FROM ${S2}.contexts WHERE expires_at <= $1::bigint
           ORDER BY expires_at, id ${limit === void 0 ? '' : `LIMIT ${limit}`}
           FOR UPDATE SKIP LOCKED)
         RETURNING ${COLUMNS}`,
        [now],
        { prepare: true },
      );
      return rows
        .map(rowToContext)
        .sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }
  return { create, get, update, touch, delete: del, list, count, deleteExpired };
}

// ../../work/main/packages/storage-postgres/src/db.ts
// ../../work/main/packages/storage-postgres/src/errors.ts
import { ConvokitError as ConvokitError3, closedError } from '@convokit/core';

var CONNECTION_CODES = /* @__PURE__ */ new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01',
  // admin_shutdown (pg_terminate_backend)
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
]);
function isConnectionLoss(cause) {
  const code = driverCode(cause);
  return code !== void 0 && CONNECTION_CODES.has(code);
}
var DROPPED_CODES = /* @__PURE__ */ new Set([
  'ECONNRESET',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01',
  '57P02',
]);
function isDroppedConnection(cause) {
  const code = driverCode(cause);
  return code !== void 0 && DROPPED_CODES.has(code);
}
function driverCode(cause) {
  if (typeof cause !== 'object' || cause === null) return void 0;
  const code = cause.code;
  return typeof code === 'string' ? code : void 0;
}
function toStorageError(cause, op, server) {
  if (ConvokitError3.is(cause)) return cause;
  const code = driverCode(cause);
  const where = `${server.host}:${server.port}`;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const details = { adapter: 'postgres', op, host: server.host, port: server.port, driverCode: code };
  if (code === '55P03' || code === '40P01' || code === '40001') {
    return new ConvokitError3('LOCKED', `PostgreSQL at ${where}: ${op} hit a lock: ${reason}`, details, {
      cause,
    });
  }
  if (code !== void 0 && CONNECTION_CODES.has(code)) {
    return new ConvokitError3(
      'STORAGE',
      `PostgreSQL at ${where} is unreachable or dropped the connection during ${op}: ${reason}`,
      { ...details, reason: 'connection' },
      { cause },
    );
  }
  if (code === '57014') {
    return new ConvokitError3(
      'STORAGE',
      `PostgreSQL at ${where}: ${op} timed out: ${reason}`,
      {
        ...details,
        reason: 'timeout',
      },
      { cause },
    );
  }
  return new ConvokitError3('STORAGE', `PostgreSQL at ${where}: ${op} failed: ${reason}`, details, { cause });
}

// ../../work/main/packages/storage-postgres/src/db.ts
var Db = class {
  #sql;
  #makeSql;
  #deadlineMs;
  #graceSeconds;
  /** Quoted schema name, spliced into statements. */
  S;
  schema;
  clock;
  log;
  server;
  #closed = false;
  #ready;
  constructor(init) {
    this.#makeSql = init.makeSql;
    this.#sql = init.makeSql();
    this.#deadlineMs = init.deadlineMs;
    this.#graceSeconds = Math.min(5, init.deadlineMs / 1e3);
    this.schema = init.schema;
    this.S = init.S;
    this.clock = init.clock;
    this.log = init.log;
    this.server = init.server;
  }
  /** The current pool. Replaced after a lost connection (see `#reset`). */
  get sql() {
    return this.#sql;
  }
  get closed() {
    return this.#closed;
  }
  /** Throws the contract's closed error; called first by every store method. */
  assertOpen() {
    if (this.#closed) throw closedError('postgres');
  }
  markClosed() {
    this.#closed = true;
  }
  /** Migrates once; a failed attempt (server down) is retried by the next call. */
  ready() {
    if (!this.#ready) {
      this.#ready = this.#guard('migrate', (sql2) => migrate(sql2, this.schema, this.S)).then(
        (applied) => {
          if (applied.length > 0) this.log.info({ schema: this.schema, applied }, 'migrated');
        },
        (error) => {
          this.#ready = void 0;
          throw toStorageError(error, 'migrate', this.server);
        },
      );
    }
    return this.#ready;
  }
  /**
   * Runs `fn` after migration, mapping every driver failure to STORAGE/LOCKED naming the server.
   * A read (`retry: true`) whose open connection dropped is tried once more on a fresh one, so a
   * backend killed while idle in the pool costs nothing; a failure to connect is not retried (the
   * caller hears within the connect timeout), nor is a write (the first attempt may have committed).
   */
  async run(op, fn, options = {}) {
    if (this.#closed) throw closedError('postgres');
    await this.ready();
    try {
      try {
        return await this.#guard(op, fn);
      } catch (error) {
        if (!options.retry || this.#closed || !isDroppedConnection(error)) throw error;
        this.log.debug({ op }, 'connection lost; retrying the read once');
        return await this.#guard(op, fn);
      }
    } catch (error) {
      const mapped = toStorageError(error, op, this.server);
      if (mapped !== error)
        this.log.warn({ op, code: mapped.code, err: mapped.message }, 'storage call failed');
      throw mapped;
    }
  }
  /**
   * Runs `fn` on the current pool with a deadline. A lost connection or a missed deadline
   * replaces the pool: postgres.js 3.4 can leave a connection that saw ECONNRESET marked busy
   * forever (porsager/postgres#1130), and every later query queued on it would hang.
   */
  async #guard(op, fn) {
    const sql2 = this.#sql;
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => {
        const error = Object.assign(new Error(`no answer within ${this.#deadlineMs} ms`), {
          code: 'CONNECT_TIMEOUT',
        });
        reject(error);
      }, this.#deadlineMs);
      timer.unref();
    });
    try {
      return await Promise.race([fn(sql2), deadline]);
    } catch (error) {
      if (isConnectionLoss(error)) this.#reset(sql2, op);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
  #reset(broken, op) {
    if (broken !== this.#sql || this.#closed) return;
    this.log.warn({ op }, 'connection lost; replacing the pool');
    this.#sql = this.#makeSql();
    broken.end({ timeout: this.#graceSeconds }).catch(() => {});
  }
  /** Ends the current pool (waiting up to `timeoutSeconds` for running calls). */
  end(timeoutSeconds) {
    return this.#sql.end({ timeout: timeoutSeconds });
  }
  /** `run` for a statement that changes nothing, retried once on a lost connection. */
  read(op, fn) {
    return this.run(op, fn, { retry: true });
  }
  /** Like `run`, inside one transaction. */
  tx(op, fn) {
    return this.run(op, (sql2) => sql2.begin((tx) => fn(tx)));
  }
};

// ../../work/main/packages/storage-postgres/src/turns.ts
// ../../work/main/packages/storage-postgres/src/aggregate.ts
import {
  AggregateSpecSchema,
  ConvokitError as ConvokitError4,
  decodeCursor as decodeCursor3,
  EpochMsSchema as EpochMsSchema2,
  encodeCursor as encodeCursor3,
  fingerprint as fingerprint3,
  LatencyHistogram,
  latencyBucket,
  normalizeTurnFilter,
  normalizeTurnFilter as normalizeTurnFilter3,
  PageSchema as PageSchema3,
  TurnFilterSchema,
  TurnOrderSchema,
  TurnSchema,
  validate as validate3,
  validate as validate5,
} from '@convokit/core';

// ../../work/main/packages/storage-postgres/src/turn-filter.ts
var NAME_TABLES = {
  framework: 'turn_frameworks',
  tool: 'turn_tools',
  mcpServer: 'turn_mcp_servers',
};
var COLUMNS2 = {
  sessionId: 'session_id',
  conversationId: 'conversation_id',
  userId: 'user_id',
  persona: 'persona',
};
function turnFilterSql(f, p, S2) {
  const where = [];
  if (f.from !== void 0) where.push(`t.at >= ${p.add(f.from, 'bigint')}`);
  if (f.to !== void 0) where.push(`t.at < ${p.add(f.to, 'bigint')}`);
  if (f.outcome !== void 0) where.push(`t.outcome = ${p.add(f.outcome, 'text')}`);
  for (const [field, column] of Object.entries(COLUMNS2)) {
    const values = f[field];
    if (!values) continue;
    where.push(
      values.length === 1
        ? `t.${column} = ${p.add(values[0], 'text')}`
        : `t.${column} = ANY(${p.add(values, 'text[]')})`,
    );
  }
  let window;
  for (const [field, table] of Object.entries(NAME_TABLES)) {
    const values = f[field];
    if (!values) continue;
    if (window === void 0) {
      window = '';
      if (f.from !== void 0) window += ` AND x.at >= ${p.add(f.from, 'bigint')}`;
      if (f.to !== void 0) window += ` AND x.at < ${p.add(f.to, 'bigint')}`;
    }
    where.push(
      `EXISTS (SELECT 1 FROM ${S2}.${table} x WHERE x.turn_id = t.id AND x.name = ANY(${p.add(values, 'text[]')})${window})`,
    );
  }
  if (where.length === 0) where.push('TRUE');
  return where;
}

// ../../work/main/packages/storage-postgres/src/aggregate-rollup.ts
var ROLLUP_DIM_KEYS = /* @__PURE__ */ new Set(['persona', 'outcome', 'framework', 'tool', 'mcpServer']);
var MULTI = /* @__PURE__ */ new Set(['framework', 'tool', 'mcpServer']);
var TIME_KEYS = /* @__PURE__ */ new Set(['hour', 'day', 'week', 'month', 'hourOfDay', 'dayOfWeek']);
var PERCENTILE_MEASURES = /* @__PURE__ */ new Set(['latencyP50', 'latencyP95', 'latencyP99']);
var TOTAL_COLUMN = {
  count: 'n',
  errors: 'errors',
  latencyCount: 'lat_n',
  tokensIn: 'tok_in',
  tokensOut: 'tok_out',
  feedbackCount: 'fb_n',
  firstAt: 'first_at',
  lastAt: 'last_at',
};
function timeKeySql(key, x) {
  switch (key) {
    case 'hour':
      return `(${x} - mod(${x}, ${HOUR}))::float8`;
    case 'day':
      return `(${x} - mod(${x}, ${DAY}))::float8`;
    // 1970-01-01 was a Thursday: ISO day index (Monday 0) of day n is (n + 3) mod 7.
    case 'week':
      return `(${x} - mod(${x}, ${DAY}) - mod(${x} / ${DAY} + 3, 7) * ${DAY})::float8`;
    case 'month':
      return `(extract(epoch FROM date_trunc('month', to_timestamp(${x} / 1000.0) AT TIME ZONE 'UTC')) * 1000)::float8`;
    case 'hourOfDay':
      return `(mod(${x}, ${DAY}) / ${HOUR})::float8`;
    case 'dayOfWeek':
      return `mod(${x} / ${DAY} + 3, 7)::float8`;
    default:
      throw new Error(`not a time key: ${key}`);
  }
}
var aligned = (x, unit) => x === void 0 || x % unit === 0;
function rollupPlan(spec, f) {
  if (f.sessionId || f.userId || f.conversationId) return void 0;
  const wantsDistinct = spec.measures.includes('sessions') || spec.measures.includes('users');
  const wantsPercentiles = spec.measures.some((m) => PERCENTILE_MEASURES.has(m));
  if (wantsPercentiles && (spec.groupBy.includes('hour') || spec.groupBy.includes('hourOfDay')))
    return void 0;
  const wholeDays = aligned(f.from, DAY) && aligned(f.to, DAY);
  if (spec.groupBy.includes('session')) {
    const simple =
      spec.groupBy.length === 1 &&
      wholeDays &&
      !wantsDistinct &&
      !wantsPercentiles &&
      f.outcome === void 0 &&
      !f.persona &&
      !f.framework &&
      !f.tool &&
      !f.mcpServer;
    return simple ? { dim: 'session' } : void 0;
  }
  const groupDims = [];
  for (const key of spec.groupBy) {
    if (ROLLUP_DIM_KEYS.has(key)) groupDims.push(key);
    else if (!TIME_KEYS.has(key)) return void 0;
  }
  if (groupDims.length > 1) return void 0;
  const filterDims = [];
  if (f.outcome !== void 0) filterDims.push(['outcome', [f.outcome]]);
  for (const dim of ['persona', 'framework', 'tool', 'mcpServer']) {
    const values = f[dim];
    if (values) filterDims.push([dim, values]);
  }
  if (filterDims.length > 1) return void 0;
  const group = groupDims[0];
  const filtered = filterDims[0];
  let plan;
  if (group && filtered) {
    if (group !== filtered[0] || MULTI.has(group)) return void 0;
    plan = { dim: group, keys: filtered[1] };
  } else if (group) plan = { dim: group };
  else if (filtered) {
    if (MULTI.has(filtered[0]) && filtered[1].length !== 1) return void 0;
    plan = { dim: filtered[0], keys: filtered[1] };
  } else plan = { dim: ALL_DIM };
  if (wantsDistinct) {
    if (!wholeDays || spec.groupBy.includes('hour')) return void 0;
    if (spec.groupBy.includes('hourOfDay')) {
      if (plan.dim !== ALL_DIM) return void 0;
      plan.members = { dim: 'hourOfDay' };
    } else plan.members = plan.keys ? { dim: plan.dim, keys: plan.keys } : { dim: plan.dim };
  }
  return plan;
}
function ceilTo(x, unit) {
  return x % unit === 0 ? x : x - (x % unit) + unit;
}
function splitRange(range, unit) {
  const { from, to } = range;
  const a = from === void 0 ? void 0 : ceilTo(from, unit);
  const b = to === void 0 ? void 0 : to - (to % unit);
  if (a !== void 0 && b !== void 0 && a >= b) return { edges: [{ from, to }] };
  const edges = [];
  if (from !== void 0 && a !== from) edges.push({ from, to: a });
  if (to !== void 0 && b !== to) edges.push({ from: b, to });
  return { interior: { from: a, to: b }, edges };
}
var TOTALS = (r) => [
  `coalesce(sum(${r}.count), 0)::float8 AS n`,
  `coalesce(sum(${r}.errors), 0)::float8 AS errors`,
  `coalesce(sum(${r}.latency_count), 0)::float8 AS lat_n`,
  `coalesce(sum(${r}.latency_sum), 0)::float8 AS lat_sum`,
  `min(${r}.latency_min)::float8 AS lat_min`,
  `max(${r}.latency_max)::float8 AS lat_max`,
  `coalesce(sum(${r}.tokens_in), 0)::float8 AS tok_in`,
  `coalesce(sum(${r}.tokens_out), 0)::float8 AS tok_out`,
  `coalesce(sum(${r}.feedback_count), 0)::float8 AS fb_n`,
  `coalesce(sum(${r}.feedback_sum), 0)::float8 AS fb_sum`,
  `min(${r}.first_at)::float8 AS first_at`,
  `max(${r}.last_at)::float8 AS last_at`,
];
var BASE_TOTALS = [
  'count(*)::float8 AS n',
  `(count(*) FILTER (WHERE t.outcome = 'error'))::float8 AS errors`,
  'count(t.latency_ms)::float8 AS lat_n',
  'coalesce(sum(t.latency_ms), 0)::float8 AS lat_sum',
  'min(t.latency_ms)::float8 AS lat_min',
  'max(t.latency_ms)::float8 AS lat_max',
  'coalesce(sum(t.tokens_in), 0)::float8 AS tok_in',
  'coalesce(sum(t.tokens_out), 0)::float8 AS tok_out',
  'count(t.feedback)::float8 AS fb_n',
  'coalesce(sum(t.feedback), 0)::float8 AS fb_sum',
  'min(t.at)::float8 AS first_at',
  'max(t.at)::float8 AS last_at',
];
function keyWhere(column, keys, p) {
  if (!keys) return '';
  return keys.length === 1
    ? ` AND ${column} = ${p.add(keys[0], 'text')}`
    : ` AND ${column} = ANY(${p.add(keys, 'text[]')})`;
}
function rangeWhere(column, range, p) {
  let sql2 = '';
  if (range.from !== void 0) sql2 += ` AND ${column} >= ${p.add(range.from, 'bigint')}`;
  if (range.to !== void 0) sql2 += ` AND ${column} < ${p.add(range.to, 'bigint')}`;
  return sql2;
}
function rollupKeys(groupBy, time, keyColumn) {
  return groupBy.map((key) => {
    if (key === 'session') return keyColumn;
    if (TIME_KEYS.has(key)) return timeKeySql(key, time);
    return key === 'persona' ? `NULLIF(${keyColumn}, '')` : keyColumn;
  });
}
function rollupParts(spec, f, plan, S2, scanEdge) {
  const parts = [];
  const wantsPercentiles = spec.measures.some((m) => PERCENTILE_MEASURES.has(m));
  const { interior, edges } = splitRange(f, wantsPercentiles ? DAY : HOUR);
  for (const edge of edges) parts.push(...scanEdge({ ...f, from: edge.from, to: edge.to }));
  if (interior) {
    const hourly = spec.groupBy.includes('hour') || spec.groupBy.includes('hourOfDay');
    const byDay = hourly ? { edges: [interior] } : splitRange(interior, DAY);
    const pieces = byDay.edges.map((piece) => [piece, 'hour']);
    if (byDay.interior) pieces.push([byDay.interior, 'day']);
    for (const [range, level] of pieces) {
      const keys = rollupKeys(spec.groupBy, 'r.bucket', 'r.key');
      const cols = keys.map((k, i) => `${k} AS k${i}`);
      const group = keys.length > 0 ? `GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : '';
      const p = new Params();
      const where = `r.dim = ${p.add(plan.dim, 'text')}${rangeWhere('r.bucket', range, p)}${keyWhere('r.key', plan.keys, p)}`;
      parts.push({
        kind: 'totals',
        sql: `SELECT ${[...cols, ...TOTALS('r')].join(', ')} FROM ${S2}.rollup_${level} r WHERE ${where} ${group}`,
        params: p.values,
      });
      if (wantsPercentiles && level === 'day') {
        const q = new Params();
        const w = `r.dim = ${q.add(plan.dim, 'text')}${rangeWhere('r.bucket', range, q)}${keyWhere('r.key', plan.keys, q)}`;
        parts.push({
          kind: 'buckets',
          sql: `SELECT ${[...cols, 'r.lb AS b', 'sum(r.count)::float8 AS c'].join(', ')}
            FROM ${S2}.rollup_latency_day r WHERE ${w}
            GROUP BY ${[...keys.map((_, i) => i + 1), keys.length + 1].join(', ')}`,
          params: q.values,
        });
      }
    }
  }
  if (plan.members) {
    for (const [measure, kind] of [
      ['sessions', 's'],
      ['users', 'u'],
    ]) {
      if (!spec.measures.includes(measure)) continue;
      const p = new Params();
      const keys = spec.groupBy.map((key) => {
        if (key === 'hourOfDay') return 'm.key::float8';
        if (TIME_KEYS.has(key)) return timeKeySql(key, 'm.day');
        return key === 'persona' ? `NULLIF(m.key, '')` : 'm.key';
      });
      const where = `m.dim = ${p.add(plan.members.dim, 'text')} AND m.kind = '${kind}'${rangeWhere('m.day', f, p)}${keyWhere('m.key', plan.members.keys, p)}`;
      const ks = keys.map((_, i) => `k${i}`);
      parts.push({
        kind: measure,
        sql: `SELECT ${[...ks, 'count(*)::float8 AS c'].join(', ')} FROM (
            SELECT DISTINCT ${[...keys.map((k, i) => `${k} AS k${i}`), 'm.member'].join(', ')}
            FROM ${S2}.rollup_members m WHERE ${where}) x
          ${ks.length > 0 ? `GROUP BY ${ks.join(', ')}` : ''}`,
        params: p.values,
      });
    }
  }
  return parts;
}
function scanParts(spec, filter, S2, keyExprs, joins) {
  const p = new Params();
  const join = joins(p, filter);
  const where = turnFilterSql(filter, p, S2);
  const cols = keyExprs.map((e, i) => `${e} AS k${i}`);
  const group = keyExprs.length > 0 ? `GROUP BY ${keyExprs.map((_, i) => i + 1).join(', ')}` : '';
  const from = `FROM ${S2}.turns t ${join} WHERE ${where.join(' AND ')}`;
  const parts = [
    {
      kind: 'totals',
      sql: `SELECT ${[...cols, ...BASE_TOTALS].join(', ')} ${from} ${group}`,
      params: p.values,
    },
  ];
  if (spec.measures.some((m) => PERCENTILE_MEASURES.has(m))) {
    parts.push({
      kind: 'buckets',
      sql: `SELECT ${[...cols, 't.latency_bucket AS b', 'count(*)::float8 AS c'].join(', ')}
        ${from} AND t.latency_ms IS NOT NULL
        GROUP BY ${[...keyExprs.map((_, i) => i + 1), keyExprs.length + 1].join(', ')}`,
      params: p.values,
    });
  }
  return parts;
}
function topRows(spec, part) {
  const order = spec.orderBy;
  if (!order || spec.limit === void 0) return void 0;
  const column = TOTAL_COLUMN[order.measure];
  if (!column) return void 0;
  const n = spec.offset + spec.limit;
  if (n < 1) return void 0;
  const dir = order.direction === 'asc' ? 'ASC' : 'DESC';
  const cmp = order.direction === 'asc' ? '<=' : '>=';
  return {
    kind: 'totals',
    sql: `WITH g AS MATERIALIZED (${part.sql}),
      cut AS (SELECT ${column} AS v FROM g ORDER BY ${column} ${dir} LIMIT 1 OFFSET ${n - 1})
      SELECT g.*, (SELECT count(*) FROM g)::float8 AS total_groups FROM g
      WHERE NOT EXISTS (SELECT 1 FROM cut) OR g.${column} ${cmp} (SELECT v FROM cut)`,
    params: part.params,
  };
}

// ../../work/main/packages/storage-postgres/src/aggregate.ts
var HOUR2 = 36e5;
var DAY2 = 864e5;
var KEY_SQL = {
  persona: 't.persona',
  session: 't.session_id',
  user: 't.user_id',
  conversation: 't.conversation_id',
  outcome: 't.outcome',
  hour: `(t.at - mod(t.at, ${HOUR2}))::float8`,
  day: `(t.at - mod(t.at, ${DAY2}))::float8`,
  // 1970-01-01 was a Thursday: ISO day index (Monday 0) of day n is (n + 3) mod 7.
  week: `(t.at - mod(t.at, ${DAY2}) - mod(t.at / ${DAY2} + 3, 7) * ${DAY2})::float8`,
  month: `(extract(epoch FROM date_trunc('month', to_timestamp(t.at / 1000.0) AT TIME ZONE 'UTC')) * 1000)::float8`,
  hourOfDay: `(mod(t.at, ${DAY2}) / ${HOUR2})::float8`,
  dayOfWeek: `mod(t.at / ${DAY2} + 3, 7)::float8`,
};
var PERCENTILES = { latencyP50: 0.5, latencyP95: 0.95, latencyP99: 0.99 };
function timeBounds(alias, f, p) {
  let sql2 = '';
  if (f.from !== void 0) sql2 += ` AND ${alias}.at >= ${p.add(f.from, 'bigint')}`;
  if (f.to !== void 0) sql2 += ` AND ${alias}.at < ${p.add(f.to, 'bigint')}`;
  return sql2;
}
function groupSql(spec, S2) {
  const keyExprs = [];
  const joinOf = [];
  const firstAlias = /* @__PURE__ */ new Map();
  spec.groupBy.forEach((key, i) => {
    const table = NAME_TABLES[key];
    if (!table) {
      keyExprs.push(KEY_SQL[key]);
      return;
    }
    const alias = `g${i}`;
    const first = firstAlias.get(key);
    joinOf.push(
      (p, filter) =>
        `JOIN ${S2}.${table} ${alias} ON ${alias}.turn_id = t.id${first ? ` AND ${alias}.name > ${first}.name` : ''}${timeBounds(alias, filter, p)}`,
    );
    if (!first) firstAlias.set(key, alias);
    keyExprs.push(`${alias}.name`);
  });
  return { keyExprs, joins: (p, filter) => joinOf.map((j) => j(p, filter)).join(' ') };
}
function baseParts(spec, filter, S2, keyExprs, joins) {
  const p = new Params();
  const join = joins(p, filter);
  const where = turnFilterSql(filter, p, S2);
  const m = new Set(spec.measures);
  const wants = (...names) => names.some((n) => m.has(n));
  const selects = keyExprs.map((e, i) => `${e} AS k${i}`);
  selects.push('count(*)::float8 AS n');
  if (wants('errors', 'errorRate'))
    selects.push(`(count(*) FILTER (WHERE t.outcome = 'error'))::float8 AS errors`);
  if (wants('sessions')) selects.push('count(DISTINCT t.session_id)::float8 AS sessions');
  if (wants('users')) selects.push('count(DISTINCT t.user_id)::float8 AS users');
  if (wants('latencyAvg', 'latencyP50', 'latencyP95', 'latencyP99', 'latencyCount')) {
    selects.push(
      'count(t.latency_ms)::float8 AS lat_n',
      'sum(t.latency_ms)::float8 AS lat_sum',
      'min(t.latency_ms)::float8 AS lat_min',
      'max(t.latency_ms)::float8 AS lat_max',
    );
  }
  if (wants('tokensIn')) selects.push('coalesce(sum(t.tokens_in), 0)::float8 AS tok_in');
  if (wants('tokensOut')) selects.push('coalesce(sum(t.tokens_out), 0)::float8 AS tok_out');
  if (wants('feedbackAvg', 'feedbackCount')) {
    selects.push('count(t.feedback)::float8 AS fb_n', 'sum(t.feedback)::float8 AS fb_sum');
  }
  if (wants('firstAt')) selects.push('min(t.at)::float8 AS first_at');
  if (wants('lastAt')) selects.push('max(t.at)::float8 AS last_at');
  const from = `FROM ${S2}.turns t ${join} WHERE ${where.join(' AND ')}`;
  const groupBy = keyExprs.length > 0 ? `GROUP BY ${keyExprs.map((_, i) => i + 1).join(', ')}` : '';
  const parts = [
    { kind: 'totals', sql: `SELECT ${selects.join(', ')} ${from} ${groupBy}`, params: p.values },
  ];
  if (wants('latencyP50', 'latencyP95', 'latencyP99')) {
    parts.push({
      kind: 'buckets',
      sql: `SELECT ${[...keyExprs.map((e, i) => `${e} AS k${i}`), 't.latency_bucket AS b', 'count(*)::float8 AS c'].join(', ')}
        ${from} AND t.latency_ms IS NOT NULL
        GROUP BY ${[...keyExprs.map((_, i) => i + 1), keyExprs.length + 1].join(', ')}`,
      params: p.values,
    });
  }
  return parts;
}
var ADDED = ['n', 'errors', 'lat_n', 'lat_sum', 'tok_in', 'tok_out', 'fb_n', 'fb_sum'];
var LOWEST = ['lat_min', 'first_at'];
var HIGHEST = ['lat_max', 'last_at'];
function mergeTotals(into, row) {
  for (const c of ADDED) {
    if (row[c] === void 0) continue;
    into[c] = (into[c] ?? 0) + (row[c] ?? 0);
  }
  for (const c of LOWEST) {
    const v = row[c];
    if (v === void 0 || v === null) continue;
    const cur = into[c];
    if (cur === void 0 || cur === null || v < cur) into[c] = v;
  }
  for (const c of HIGHEST) {
    const v = row[c];
    if (v === void 0 || v === null) continue;
    const cur = into[c];
    if (cur === void 0 || cur === null || v > cur) into[c] = v;
  }
}
async function aggregateTurns(db, input, options = {}) {
  db.assertOpen();
  const spec = validate3(AggregateSpecSchema, input, 'turns.aggregate');
  const { S: S2 } = db;
  const filter = normalizeTurnFilter(spec.filter);
  const { keyExprs, joins } = groupSql(spec, S2);
  const plan = options.plan === 'base' ? void 0 : rollupPlan(spec, filter);
  let parts = plan
    ? rollupParts(spec, filter, plan, S2, (edge) => scanParts(spec, edge, S2, keyExprs, joins))
    : baseParts(spec, filter, S2, keyExprs, joins);
  const top = plan?.dim === 'session' && parts.length === 1 ? topRows(spec, parts[0]) : void 0;
  if (top) parts = [top];
  const n = keyExprs.length;
  const percentiles = spec.measures.some((m) => m in PERCENTILES);
  return db.read('turns.aggregate', async (sql2) => {
    const results = await Promise.all(
      parts.map((part) => sql2.unsafe(part.sql, part.params, { prepare: true })),
    );
    const keyOf = (row) => {
      const keys = [];
      for (let i = 0; i < n; i++) keys.push(row[`k${i}`] ?? null);
      return keys;
    };
    const groups = /* @__PURE__ */ new Map();
    let totalGroups;
    parts.forEach((part, i) => {
      if (part.kind !== 'totals') return;
      for (const row of results[i]) {
        if (top) totalGroups = row.total_groups;
        const keys = keyOf(row);
        const id = n === 0 ? '' : JSON.stringify(keys);
        const group = groups.get(id);
        if (group) mergeTotals(group.row, row);
        else groups.set(id, { keys, row: { ...row }, buckets: /* @__PURE__ */ new Map() });
      }
    });
    parts.forEach((part, i) => {
      if (part.kind === 'totals') return;
      for (const row of results[i]) {
        const group = groups.get(n === 0 ? '' : JSON.stringify(keyOf(row)));
        if (!group) continue;
        if (part.kind === 'buckets') {
          const b = row.b;
          group.buckets.set(b, (group.buckets.get(b) ?? 0) + row.c);
        } else group.row[part.kind] = row.c;
      }
    });
    const rows = [];
    for (const { keys, row, buckets } of groups.values()) {
      const count = row.n;
      let histogram;
      if (percentiles) {
        histogram = new LatencyHistogram();
        const latN = row.lat_n ?? 0;
        if (latN > 0) {
          histogram.addBuckets([...buckets], {
            sum: row.lat_sum,
            min: row.lat_min,
            max: row.lat_max,
          });
        }
      }
      const values = {};
      for (const measure of spec.measures) values[measure] = measureValue(measure, row, count, histogram);
      rows.push({ keys, values });
    }
    sortRows(rows, spec.orderBy);
    const end = spec.limit === void 0 ? void 0 : spec.offset + spec.limit;
    return { rows: rows.slice(spec.offset, end), totalGroups: totalGroups ?? rows.length };
  });
}
function measureValue(measure, row, count, histogram) {
  const num = (name) => row[name];
  switch (measure) {
    case 'count':
      return count;
    case 'errors':
      return num('errors');
    case 'errorRate':
      return count === 0 ? null : num('errors') / count;
    case 'sessions':
      return num('sessions') ?? 0;
    case 'users':
      return num('users') ?? 0;
    case 'latencyCount':
      return num('lat_n');
    case 'latencyAvg': {
      const n = num('lat_n') ?? 0;
      return n === 0 ? null : num('lat_sum') / n;
    }
    case 'latencyP50':
    case 'latencyP95':
    case 'latencyP99':
      return histogram.quantile(PERCENTILES[measure]);
    case 'tokensIn':
      return num('tok_in');
    case 'tokensOut':
      return num('tok_out');
    case 'feedbackCount':
      return num('fb_n');
    case 'feedbackAvg': {
      const n = num('fb_n') ?? 0;
      return n === 0 ? null : num('fb_sum') / n;
    }
    case 'firstAt':
      return num('first_at');
    case 'lastAt':
      return num('last_at');
  }
}
function compareKeys(a, b) {
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
function sortRows(rows, orderBy) {
  rows.sort((a, b) => {
    if (orderBy) {
      const x = a.values[orderBy.measure] ?? null;
      const y = b.values[orderBy.measure] ?? null;
      if (x !== y) {
        if (x === null) return 1;
        if (y === null) return -1;
        return orderBy.direction === 'asc' ? x - y : y - x;
      }
    }
    return compareKeys(a.keys, b.keys);
  });
}

// ../../work/main/packages/storage-postgres/src/search.ts
// ../../work/main/packages/storage-postgres/src/search-vector.ts
import {
  distinctTerms,
  makeSnippet,
  normalizeTurnFilter as normalizeTurnFilter2,
  SearchOptionsSchema,
  SearchTextSchema,
  tokenize,
  tokenize as tokenize2,
  validate as validate4,
} from '@convokit/core';

var MAX_POSITIONS = 256;
var MAX_POSITION = 16383;
var MAX_LEXEME_BYTES = 2e3;
function turnVector(userInput, assistantResponse) {
  const positions = /* @__PURE__ */ new Map();
  let position = 0;
  for (const text of [userInput, assistantResponse]) {
    for (const term of tokenize(text)) {
      position += 1;
      if (Buffer.byteLength(term) > MAX_LEXEME_BYTES) continue;
      let list = positions.get(term);
      if (!list) {
        list = [];
        positions.set(term, list);
      }
      if (list.length < MAX_POSITIONS) list.push(Math.min(position, MAX_POSITION));
    }
  }
  const parts = [];
  for (const [term, list] of positions) parts.push(`${quoteLexeme(term)}:${[...new Set(list)].join(',')}`);
  return parts.join(' ');
}
function termsQuery(terms, mode) {
  return terms.map(quoteLexeme).join(mode === 'all' ? ' & ' : ' | ');
}
function quoteLexeme(term) {
  return `'${term.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

// ../../work/main/packages/storage-postgres/src/search.ts
async function searchTurns(db, text, options = {}) {
  db.assertOpen();
  const query = validate4(SearchTextSchema, text, 'turns.search');
  const opts = validate4(SearchOptionsSchema, options, 'turns.search options');
  const terms = distinctTerms(query);
  const p = new Params();
  const q = p.add(termsQuery(terms, opts.mode), 'tsquery');
  const matched = terms
    .map((t) => `(t.search @@ ${p.add(termsQuery([t], 'all'), 'tsquery')})::int`)
    .join(' + ');
  const where = turnFilterSql(normalizeTurnFilter2(opts.filter), p, db.S);
  return db.read('turns.search', async (sql2) => {
    const rows = await sql2.unsafe(
      `SELECT body, (matched + rank / (1 + rank))::float8 AS score FROM (
         SELECT t.body, t.at, t.id, (${matched})::float8 AS matched, ts_rank(t.search, ${q})::float8 AS rank
         FROM ${db.S}.turns t
         WHERE t.search @@ ${q} AND ${where.join(' AND ')}) hits
       ORDER BY matched DESC, rank DESC, at DESC, id DESC
       LIMIT ${opts.limit}`,
      p.values,
      { prepare: true },
    );
    const termSet = new Set(terms);
    return rows.map((row) => {
      const turn = parseTurn(row.body);
      return { turn, score: row.score, snippet: makeSnippet(snippetSource(turn, termSet), termSet) };
    });
  });
}
function snippetSource(turn, terms) {
  const held = (text) => {
    const seen = /* @__PURE__ */ new Set();
    for (const term of tokenize2(text)) if (terms.has(term)) seen.add(term);
    return seen.size;
  };
  return held(turn.assistantResponse) > held(turn.userInput) ? turn.assistantResponse : turn.userInput;
}

// ../../work/main/packages/storage-postgres/src/turns.ts
var ListOptionsSchema2 = PageSchema3.extend({ order: TurnOrderSchema.default('desc') }).strict();
var BatchSchema2 = TurnSchema.array().superRefine((turns2, ctx) => {
  const seen = /* @__PURE__ */ new Set();
  turns2.forEach((turn, i) => {
    if (seen.has(turn.id))
      ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'repeats an id of this batch' });
    seen.add(turn.id);
  });
});
function invalid(where, path, message) {
  return new ConvokitError4('VALIDATION', `Invalid input to ${where}: ${path}: ${message}`, {
    where,
    issues: [{ path, message }],
  });
}
function appendMode(options) {
  if (typeof options !== 'object' || options === null)
    throw invalid('turns.append', 'options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'ifExists') throw invalid('turns.append', key, 'is not an option');
  }
  const mode = options.ifExists ?? 'error';
  if (mode !== 'error' && mode !== 'skip')
    throw invalid('turns.append', 'ifExists', "must be 'error' or 'skip'");
  return mode;
}
function canonical(f) {
  const out = {};
  for (const [key, value] of Object.entries(f)) out[key] = Array.isArray(value) ? [...value].sort() : value;
  return out;
}
function parseTurn(body) {
  return JSON.parse(body);
}
function appendStatement(S2) {
  const nameRows = (a, b) =>
    `SELECT n.turn_id, n.name, i.at FROM unnest($${a}::text[], $${b}::text[]) AS n(turn_id, name) JOIN ins i ON i.id = n.turn_id`;
  const expanded = expandedTurns({ turns: 'ins', frameworks: 'nf', tools: 'nt', mcpServers: 'nm' });
  const rollups = rollupStatements(S2);
  return `WITH ins AS (
      INSERT INTO ${S2}.turns (id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms,
        latency_bucket, tokens_in, tokens_out, feedback, body, search)
      SELECT id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms,
        latency_bucket, tokens_in, tokens_out, feedback, body, search::tsvector
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
        $8::float8[], $9::int[], $10::bigint[], $11::bigint[], $12::float8[], $13::text[], $14::text[])
        AS u(id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms, latency_bucket,
             tokens_in, tokens_out, feedback, body, search)
      ON CONFLICT (id) DO NOTHING
      RETURNING id, session_id, user_id, at, persona, outcome, latency_ms, latency_bucket, tokens_in,
        tokens_out, feedback),
    nf AS (${nameRows(15, 16)}),
    nt AS (${nameRows(17, 18)}),
    nm AS (${nameRows(19, 20)}),
    wf AS (INSERT INTO ${S2}.${NAME_TABLES.framework} (turn_id, name, at) SELECT * FROM nf),
    wt AS (INSERT INTO ${S2}.${NAME_TABLES.tool} (turn_id, name, at) SELECT * FROM nt),
    wm AS (INSERT INTO ${S2}.${NAME_TABLES.mcpServer} (turn_id, name, at) SELECT * FROM nm),
    e AS MATERIALIZED (${expanded}),
    ${rollups.map((body, i) => `r${i} AS (${body})`).join(',\n    ')}
    SELECT id FROM ins`;
}
function createTurnStore(db) {
  const { S: S2 } = db;
  const appendSql = appendStatement(S2);
  async function append(turns2, options = {}) {
    db.assertOpen();
    const batch = validate5(BatchSchema2, turns2, 'turns.append');
    const ifExists = appendMode(options);
    if (batch.length === 0) return db.run('turns.append', async () => ({ appended: 0, skippedIds: [] }));
    const cols = {
      id: [],
      session: [],
      conversation: [],
      user: [],
      persona: [],
      at: [],
      outcome: [],
      latency: [],
      bucket: [],
      tokensIn: [],
      tokensOut: [],
      feedback: [],
      body: [],
      search: [],
    };
    for (const t of batch) {
      cols.id.push(t.id);
      cols.session.push(t.sessionId);
      cols.conversation.push(t.conversationId ?? null);
      cols.user.push(t.userId ?? null);
      cols.persona.push(t.persona ?? null);
      cols.at.push(t.at);
      cols.outcome.push(t.outcome);
      cols.latency.push(t.latencyMs ?? null);
      cols.bucket.push(t.latencyMs === void 0 ? null : latencyBucket(t.latencyMs));
      cols.tokensIn.push(t.tokens?.input ?? null);
      cols.tokensOut.push(t.tokens?.output ?? null);
      cols.feedback.push(t.feedback ?? null);
      cols.body.push(JSON.stringify(t));
      cols.search.push(turnVector(t.userInput, t.assistantResponse));
    }
    const names = { frameworks: [[], []], tools: [[], []], mcpServers: [[], []] };
    for (const t of batch) {
      for (const field of ['frameworks', 'tools', 'mcpServers']) {
        for (const name of t[field]) {
          names[field][0].push(t.id);
          names[field][1].push(name);
        }
      }
    }
    return db.tx('turns.append', async (sql2) => {
      const inserted = await sql2.unsafe(
        appendSql,
        [
          cols.id,
          cols.session,
          cols.conversation,
          cols.user,
          cols.persona,
          cols.at,
          cols.outcome,
          cols.latency,
          cols.bucket,
          cols.tokensIn,
          cols.tokensOut,
          cols.feedback,
          cols.body,
          cols.search,
          ...names.frameworks,
          ...names.tools,
          ...names.mcpServers,
        ],
        { prepare: true },
      );
      const written = new Set(inserted.map((r) => r.id));
      const skippedIds = batch.filter((t) => !written.has(t.id)).map((t) => t.id);
      if (skippedIds.length > 0 && ifExists === 'error') {
        throw new ConvokitError4('CONFLICT', `turns.append: ${skippedIds.length} turn id(s) already stored`, {
          where: 'turns.append',
          ids: skippedIds.slice(0, 100),
        });
      }
      return { appended: written.size, skippedIds };
    });
  }
  async function get(id) {
    db.assertOpen();
    if (typeof id !== 'string') throw invalid('turns.get', 'id', 'must be a string');
    return db.read('turns.get', async (sql2) => {
      const rows = await sql2.unsafe(`SELECT body FROM ${S2}.turns WHERE id = $1::text`, [id], {
        prepare: true,
      });
      return rows[0] ? parseTurn(rows[0].body) : void 0;
    });
  }
  async function list(filter = {}, options = {}) {
    db.assertOpen();
    const f = normalizeTurnFilter3(validate5(TurnFilterSchema, filter, 'turns.list'));
    const { limit, cursor, order } = validate5(ListOptionsSchema2, options, 'turns.list options');
    const print = fingerprint3({ f: canonical(f), order });
    const p = new Params();
    const where = turnFilterSql(f, p, S2);
    if (cursor !== void 0) {
      const [at, id] = decodeCursor3(cursor, print, 'turns.list');
      if (typeof at !== 'number' || typeof id !== 'string') {
        throw new ConvokitError4('VALIDATION', 'Invalid cursor for turns.list', { where: 'turns.list' });
      }
      where.push(
        `(t.at, t.id) ${order === 'asc' ? '>' : '<'} (${p.add(at, 'bigint')}, ${p.add(id, 'text')})`,
      );
    }
    const dir = order === 'asc' ? 'ASC' : 'DESC';
    return db.read('turns.list', async (sql2) => {
      const rows = await sql2.unsafe(
        `SELECT t.body FROM ${S2}.turns t WHERE ${where.join(' AND ')}
         ORDER BY t.at ${dir}, t.id ${dir} LIMIT ${limit + 1}`,
        p.values,
        { prepare: true },
      );
      const items = rows.slice(0, limit).map((r) => parseTurn(r.body));
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor3([last.at, last.id], print) : null,
      };
    });
  }
  async function count(filter = {}) {
    db.assertOpen();
    const f = normalizeTurnFilter3(validate5(TurnFilterSchema, filter, 'turns.count'));
    const p = new Params();
    const where = turnFilterSql(f, p, S2);
    return db.read('turns.count', async (sql2) => {
      const rows = await sql2.unsafe(
        `SELECT count(*)::float8 AS n FROM ${S2}.turns t WHERE ${where.join(' AND ')}`,
        p.values,
        { prepare: true },
      );
      return rows[0].n;
    });
  }
  async function deleteBefore(before) {
    db.assertOpen();
    validate5(EpochMsSchema2, before, 'turns.deleteBefore');
    return db.tx('turns.deleteBefore', async (sql2) => {
      await sql2.unsafe(`LOCK TABLE ${S2}.turns IN SHARE ROW EXCLUSIVE MODE`);
      for (const table of Object.values(NAME_TABLES)) {
        await sql2.unsafe(`DELETE FROM ${S2}.${table} WHERE at < $1::bigint`, [before], { prepare: true });
      }
      const result = await sql2.unsafe(`DELETE FROM ${S2}.turns WHERE at < $1::bigint`, [before], {
        prepare: true,
      });
      const cutDay = before - (before % DAY);
      for (const table of ROLLUP_TABLES) {
        const column = table === 'rollup_members' ? 'day' : 'bucket';
        await sql2.unsafe(`DELETE FROM ${S2}.${table} WHERE ${column} < $1::bigint`, [cutDay], {
          prepare: true,
        });
      }
      if (before !== cutDay) {
        for (const statement of rebuildStatements(S2)) {
          await sql2.unsafe(statement, [cutDay, cutDay + DAY], { prepare: true });
        }
      }
      return result.count;
    });
  }
  return {
    append,
    get,
    list,
    search: (text, options) => searchTurns(db, text, options),
    aggregate: (spec) => aggregateTurns(db, spec),
    count,
    deleteBefore,
  };
}

// ../../work/main/packages/storage-postgres/src/storage.ts
var CAPABILITIES = {
  turns: true,
  contexts: true,
  audit: true,
  multiProcess: true,
  durable: true,
};
var SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
function serverOf(options) {
  const conn = options.connection ?? {};
  let host = typeof conn.host === 'string' ? conn.host : void 0;
  let port = typeof conn.port === 'number' ? conn.port : void 0;
  if (options.url) {
    try {
      const u = new URL(options.url);
      host ??= u.hostname || void 0;
      port ??= u.port ? Number(u.port) : void 0;
    } catch {
      throw new ConvokitError5('VALIDATION', 'Invalid input to createPostgresStorage: url: not a URL', {
        where: 'createPostgresStorage',
        issues: [{ path: 'url', message: 'not a URL' }],
      });
    }
  }
  return {
    host: host ?? process.env.PGHOST ?? 'localhost',
    port: port ?? Number(process.env.PGPORT ?? 5432),
  };
}
function positive(value, fallback, path) {
  if (value === void 0) return fallback;
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new ConvokitError5('VALIDATION', `Invalid input to createPostgresStorage: ${path}: must be >= 0`, {
      where: 'createPostgresStorage',
      issues: [{ path, message: 'must be a non-negative number' }],
    });
  }
  return value;
}
function createPostgresStorage(options = {}) {
  const schema2 = options.schema ?? 'convokit';
  if (!SCHEMA_NAME.test(schema2)) {
    throw new ConvokitError5(
      'VALIDATION',
      'Invalid input to createPostgresStorage: schema: not a plain identifier',
      {
        where: 'createPostgresStorage',
        issues: [{ path: 'schema', message: 'must match /^[A-Za-z_][A-Za-z0-9_]{0,62}$/' }],
      },
    );
  }
  const server = serverOf(options);
  const max = positive(options.pool?.max, 10, 'pool.max');
  const idleMs = positive(options.pool?.idleTimeoutMs, 3e4, 'pool.idleTimeoutMs');
  const connectMs = positive(options.pool?.connectTimeoutMs, 5e3, 'pool.connectTimeoutMs');
  const statementMs = positive(options.statementTimeoutMs, 3e4, 'statementTimeoutMs');
  const log = createLogger('storage-postgres', options.logger);
  const driverOptions = {
    ...options.connection,
    max: Math.max(1, Math.floor(max)),
    idle_timeout: idleMs / 1e3,
    connect_timeout: connectMs / 1e3,
    onnotice: () => {},
    connection: {
      application_name: 'convokit',
      ...(options.connection?.connection ?? {}),
      ...(statementMs > 0 ? { statement_timeout: Math.round(statementMs) } : {}),
    },
    // int8 (counts, epoch ms) as numbers: every value convokit stores fits in 2^53.
    types: {
      int8: { to: 20, from: [20], serialize: (x) => String(x), parse: (x) => Number(x) },
    },
  };
  const makeSql = () => (options.url ? postgres(options.url, driverOptions) : postgres(driverOptions));
  const db = new Db({
    makeSql,
    schema: schema2,
    S: quoteIdent(schema2),
    clock: options.clock ?? systemClock,
    log,
    server,
    // Connecting, then the statement, then a margin: past that the server is not answering.
    deadlineMs: connectMs + (statementMs > 0 ? statementMs : 6e4) + 2e3,
  });
  let closing;
  const close = () => {
    if (!closing) {
      db.markClosed();
      closing = db.end(5).catch((error) => {
        log.warn({ err: String(error) }, 'error while closing the pool');
      });
    }
    return closing;
  };
  return {
    name: 'postgres',
    contractVersion: STORAGE_CONTRACT_VERSION,
    capabilities: { ...CAPABILITIES },
    schema: schema2,
    turns: createTurnStore(db),
    contexts: createContextStore(db),
    audit: createAuditLog(db),
    migrate: () => db.run('migrate', async () => void 0),
    close,
    [Symbol.asyncDispose]: close,
  };
}

// bulk.ts
import { latencyBucket as latencyBucket2 } from '@convokit/core';

// ../../work/main/apps/benchmarks/dist/data.js
function createRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 1831565813) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare;
  const normal = () => {
    if (spare !== void 0) {
      const s2 = spare;
      spare = void 0;
      return s2;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = next() * 2 - 1;
      v = next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    spare = v * m;
    return u * m;
  };
  return {
    next,
    int: (min, maxExclusive) => min + Math.floor(next() * (maxExclusive - min)),
    pick: (list) => list[Math.floor(next() * list.length)],
    /** Picks by weight; `weights` parallel to `list`. */
    weighted: (list, cumulative2) => {
      const r = next() * cumulative2[cumulative2.length - 1];
      let lo = 0;
      let hi = cumulative2.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative2[mid] > r) hi = mid;
        else lo = mid + 1;
      }
      return list[lo];
    },
    /** Log-normal with the given median and shape. */
    logNormal: (median, sigma) => median * Math.exp(sigma * normal()),
    chance: (p) => next() < p,
  };
}
function cumulative(weights) {
  let sum = 0;
  return weights.map((w) => {
    sum += w;
    return sum;
  });
}
var PERSONAS = [
  'diego',
  'camille',
  'rachel',
  'alvaro',
  'martin',
  'marcus',
  'david',
  'sofia',
  'elena',
  'berny',
];
var PERSONA_WEIGHTS = cumulative([30, 18, 12, 10, 9, 7, 5, 4, 3, 2]);
var FRAMEWORKS = [
  'team-topologies',
  'okrs',
  'good-strategy-bad-strategy',
  'wardley-mapping',
  'cynefin',
  'porters-five-forces',
  'capital-allocation',
  'accelerate-dora',
  'crucial-conversations',
  'scaling-up',
  'blue-ocean',
  'jobs-to-be-done',
];
var PERSONA_FRAMEWORKS = {
  diego: ['team-topologies', 'accelerate-dora', 'okrs'],
  camille: ['good-strategy-bad-strategy', 'wardley-mapping', 'capital-allocation'],
  rachel: ['jobs-to-be-done', 'crucial-conversations', 'team-topologies'],
  alvaro: ['capital-allocation', 'porters-five-forces', 'blue-ocean'],
  martin: ['wardley-mapping', 'cynefin', 'accelerate-dora'],
  marcus: ['scaling-up', 'okrs', 'jobs-to-be-done'],
  david: ['capital-allocation', 'okrs', 'porters-five-forces'],
  sofia: ['porters-five-forces', 'blue-ocean', 'good-strategy-bad-strategy'],
  elena: ['cynefin', 'crucial-conversations', 'okrs'],
  berny: ['accelerate-dora', 'team-topologies', 'cynefin'],
};
var TOOLS = [
  ['sequential.think', 'sequential'],
  ['context7.docs', 'context7'],
  ['magic.component', 'magic'],
  ['playwright.check', 'playwright'],
  ['jira.search', 'jira'],
  ['github.review', 'github'],
  ['calendar.lookup', 'calendar'],
];
var TOOL_WEIGHTS = cumulative([30, 20, 8, 6, 14, 12, 10]);
var ERROR_CODES = ['timeout', 'rate_limited', 'tool_error', 'upstream_5xx'];
var SUBJECTS = [
  'the platform team',
  'our hiring plan',
  'the quarterly roadmap',
  'the migration to the new billing service',
  'vendor consolidation',
  'the design system rollout',
  'engineering onboarding',
  'incident response',
  'the budget for next year',
  'team structure across three offices',
  'the data platform',
  'technical debt in checkout',
  'the reorganisation of the mobile team',
  'our API strategy',
  'stakeholder alignment with product',
];
var ASKS = [
  'How should I think about',
  'Help me frame a decision on',
  'What are the risks in',
  'Draft talking points about',
  'Which options do we have for',
  'Give me a one-page strategy for',
  'How do other companies handle',
  'Summarise where we stand on',
];
var ANSWER_OPENERS = [
  'Start from the outcome you need:',
  'Three options stand out.',
  'The core problem is focus.',
  'Here is a short diagnosis.',
  'Look at it as a portfolio decision.',
];
var ANSWER_BODY = [
  'align the team boundaries with the flow of change',
  'measure lead time and change failure rate before and after',
  'name the one constraint that matters most this quarter',
  'separate reversible from irreversible decisions',
  'fund the platform as a product with its own roadmap',
  'agree on two objectives and at most four key results',
  'ask each stakeholder what they would stop doing',
  'run a small pilot with one team before the migration',
  'map the value chain and mark what is commodity',
  'keep the budget conversation tied to outcomes',
  'reduce cognitive load on the stream-aligned teams',
  'write down the trade-off and who owns it',
];
var SEARCH_TERMS = {
  rare: 'kubernetes',
  rareRate: 5e-4,
  andPair: ['platform', 'migration'],
  common: 'team',
};
var DATA_END = Date.UTC(2026, 10, 1);
var DAY3 = 864e5;
var CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function seededId(at, random) {
  let time = '';
  let t = at;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rest = '';
  for (let i = 0; i < 16; i++) rest += CROCKFORD[Math.floor(random.next() * 32)];
  return time + rest;
}
var HOUR_WEIGHTS = cumulative([
  1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 18, 12, 16, 18, 18, 16, 12, 8, 6, 5, 4, 3, 2,
]);
var HOURS = Array.from({ length: 24 }, (_, h) => h);
function generateTurns(count, options = {}) {
  const random = createRandom(options.seed ?? 42);
  const days = options.days ?? 90;
  const from = DATA_END - days * DAY3;
  const userCount = Math.max(5, Math.round(count / 400));
  const users = Array.from({ length: userCount }, (_, i) => `user-${i}`);
  const turns2 = [];
  const sessions = [];
  let sessionNo = 0;
  while (turns2.length < count) {
    const sessionId = `s-${sessionNo++}`;
    sessions.push(sessionId);
    const userId = random.pick(users);
    let day = random.int(0, days);
    const weekday = new Date(from + day * DAY3).getUTCDay();
    if ((weekday === 0 || weekday === 6) && random.chance(0.7)) day = (day + 2) % days;
    const hour = random.weighted(HOURS, HOUR_WEIGHTS);
    let at = from + day * DAY3 + hour * 36e5 + random.int(0, 36e5);
    const persona = random.weighted(PERSONAS, PERSONA_WEIGHTS);
    const length = Math.max(1, Math.min(60, Math.round(random.logNormal(6, 0.7))));
    for (let i = 0; i < length && turns2.length < count; i++) {
      at += random.int(2e4, 3e5);
      if (at >= DATA_END) at = DATA_END - random.int(1, 36e5);
      turns2.push(
        makeTurn(random, { sessionId, userId, at, persona: random.chance(0.9) ? persona : void 0 }),
      );
    }
  }
  turns2.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  return { turns: turns2, sessions, users, from, to: DATA_END };
}
function makeTurn(random, base) {
  const favourite = PERSONA_FRAMEWORKS[base.persona ?? 'diego'] ?? [];
  const frameworks = /* @__PURE__ */ new Set();
  const frameworkCount = random.weighted([0, 1, 2, 3], [40, 75, 93, 100]);
  for (let i = 0; i < frameworkCount; i++) {
    frameworks.add(random.chance(0.75) ? random.pick(favourite) : random.pick(FRAMEWORKS));
  }
  const tools = /* @__PURE__ */ new Set();
  const servers = /* @__PURE__ */ new Set();
  const toolCount = random.weighted([0, 1, 2], [55, 90, 100]);
  for (let i = 0; i < toolCount; i++) {
    const [tool, server] = random.weighted(TOOLS, TOOL_WEIGHTS);
    tools.add(tool);
    servers.add(server);
  }
  const error = random.chance(0.03);
  const subject = random.pick(SUBJECTS);
  let userInput = `${random.pick(ASKS)} ${subject}?`;
  if (random.chance(SEARCH_TERMS.rareRate)) userInput += ` We also run ${SEARCH_TERMS.rare} in two regions.`;
  if (random.chance(0.08)) userInput += ' The platform migration is on my mind.';
  else if (random.chance(0.06)) userInput += ' Keep the platform view in mind.';
  let assistantResponse = `${random.pick(ANSWER_OPENERS)} For ${subject}, ${random.pick(ANSWER_BODY)}; then ${random.pick(ANSWER_BODY)}.`;
  if (random.chance(0.3)) assistantResponse += ' Bring the team into the decision early.';
  if (random.chance(0.05)) assistantResponse += ' Plan the migration in small steps.';
  const latency = random.logNormal(error ? 4200 : 1800, 0.55);
  const turn = {
    id: seededId(base.at, random),
    sessionId: base.sessionId,
    userId: base.userId,
    at: base.at,
    userInput,
    assistantResponse,
    frameworks: [...frameworks],
    tools: [...tools],
    mcpServers: [...servers],
    latencyMs: Math.round(latency * 10) / 10,
    tokens: {
      input: Math.round(random.logNormal(600, 0.5)),
      output: error ? 0 : Math.round(random.logNormal(900, 0.6)),
    },
    outcome: error ? 'error' : 'ok',
  };
  if (base.persona) turn.persona = base.persona;
  if (error) turn.errorCode = random.pick(ERROR_CODES);
  if (random.chance(0.15)) turn.feedback = random.pick([-1, 1, 1, 1, 0.5]);
  return turn;
}
function contextData(random, bytes = 1024) {
  const data = {
    goal: `Decide on ${random.pick(SUBJECTS)}`,
    persona: random.pick(PERSONAS),
    frameworks: [random.pick(FRAMEWORKS), random.pick(FRAMEWORKS)],
    openQuestions: [random.pick(SUBJECTS), random.pick(SUBJECTS)],
    preferences: { detail: random.pick(['brief', 'full']), charts: random.chance(0.5), tz: 'Europe/Madrid' },
    step: random.int(1, 20),
    notes: '',
  };
  const size = JSON.stringify(data).length;
  data.notes = 'n'.repeat(Math.max(0, bytes - size));
  return data;
}
var ONE_KB = contextData(createRandom(7), 1024);

// bulk.ts
var url = process.env.CONVOKIT_POSTGRES_URL;
var schema = process.argv[2] ?? 'w_agg1m';
var N = Number(process.argv[3] ?? 1e6);
var S = `"${schema}"`;
var sql = postgres2(url, { onnotice: () => {}, max: 2 });
await sql.unsafe(`DROP SCHEMA IF EXISTS ${S} CASCADE`);
await sql.unsafe(`CREATE SCHEMA ${S}`);
await sql.unsafe(
  `CREATE TABLE ${S}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
);
for (const m of MIGRATIONS.filter((x) => x.version <= 2)) {
  await sql.unsafe(m.statements(S).join(';\n')).simple();
  await sql.unsafe(`INSERT INTO ${S}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
}
var { turns } = generateTurns(N);
var t0 = performance.now();
for (let i = 0; i < turns.length; i += 5e3) {
  const batch = turns.slice(i, i + 5e3);
  const c = (f) => batch.map(f);
  await sql.unsafe(
    `INSERT INTO ${S}.turns (id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms, latency_bucket, tokens_in, tokens_out, feedback, body, search)
    SELECT id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms, latency_bucket, tokens_in, tokens_out, feedback, body, search::tsvector
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::float8[], $9::int[], $10::bigint[], $11::bigint[], $12::float8[], $13::text[], $14::text[])
    AS u(id, session_id, conversation_id, user_id, persona, at, outcome, latency_ms, latency_bucket, tokens_in, tokens_out, feedback, body, search)`,
    [
      c((t) => t.id),
      c((t) => t.sessionId),
      c((t) => t.conversationId ?? null),
      c((t) => t.userId ?? null),
      c((t) => t.persona ?? null),
      c((t) => t.at),
      c((t) => t.outcome),
      c((t) => t.latencyMs ?? null),
      c((t) => (t.latencyMs === void 0 ? null : latencyBucket2(t.latencyMs))),
      c((t) => t.tokens?.input ?? null),
      c((t) => t.tokens?.output ?? null),
      c((t) => t.feedback ?? null),
      c((t) => JSON.stringify(t)),
      c((t) => turnVector(t.userInput, t.assistantResponse)),
    ],
  );
  for (const [field, table] of [
    ['frameworks', 'turn_frameworks'],
    ['tools', 'turn_tools'],
    ['mcpServers', 'turn_mcp_servers'],
  ]) {
    const a = [],
      b = [],
      at = [];
    for (const t of batch)
      for (const n of t[field]) {
        a.push(t.id);
        b.push(n);
        at.push(t.at);
      }
    await sql.unsafe(`INSERT INTO ${S}.${table} SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`, [
      a,
      b,
      at,
    ]);
  }
  if (i % 1e5 === 0) console.log(i, ((performance.now() - t0) / 1e3).toFixed(0) + 's');
}
console.log('turns loaded', ((performance.now() - t0) / 1e3).toFixed(0) + 's');
await sql.unsafe(`VACUUM ANALYZE ${S}.turns`);
var st = createPostgresStorage({ url, schema, statementTimeoutMs: 0 });
var t1 = performance.now();
await st.migrate();
console.log('migrated (rollups backfilled)', ((performance.now() - t1) / 1e3).toFixed(0) + 's');
for (const t of ['rollup_hour', 'rollup_day', 'rollup_latency_day', 'rollup_members']) {
  await sql.unsafe(`VACUUM ANALYZE ${S}.${t}`);
  console.log(t, (await sql.unsafe(`SELECT count(*)::int AS n FROM ${S}.${t}`))[0].n);
}
await st.close();
await sql.end();
