import { ConvokitError } from '@convokit/core';
import type Database from 'better-sqlite3';
import { buildDistinct } from './distinct.js';
import { EXPIRY_PENDING_DDL } from './expiry.js';
import {
  buildDayPairRollups,
  DAY_PAIR_INDEX_TERM,
  END_OF_TIME,
  rebuildRollups,
  rebuildWeeks,
} from './rollups.js';
import { buildPostings, POSTINGS_DDL } from './search-postings.js';
import { buildSessionHist, SESSION_HIST_BINS_DDL } from './session-hist.js';
import { buildSessions } from './sessions.js';
import { buildUserTotals } from './user-totals.js';

/**
 * Schema history, kept in `PRAGMA user_version`. Each step moves a database from version
 * `index` to `index + 1` inside the same transaction that bumps the version, so a crash mid-way
 * leaves the previous version intact. Never edit a released step; add a new one.
 */
interface Migration {
  description: string;
  up(db: Database.Database): void;
}

/**
 * \`turns\` is kept narrow (no conversation text, which lives in \`turn_texts\`) so that analytics
 * that must scan it read few pages; the indexes carry session and user ids so that distinct
 * counts by time, persona or user are answered from the index alone.
 *
 * Search indexes core's terms, not the raw text: \`terms\` holds \`tokenize\` of the user input and
 * the response (NFKC, lower-cased letter/digit runs) joined by spaces, so FTS5 matches exactly
 * what the memory adapter matches (\`Ｆｕｌｌ\` finds \`full\`, a decomposed \`ï\` finds \`ï\`). The
 * table is contentless: snippets are cut from the stored turn by core \`makeSnippet\`.
 */
const V1_TURNS = `
CREATE TABLE turns (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  conversation_id TEXT,
  user_id TEXT,
  at INTEGER NOT NULL,
  persona TEXT,
  outcome TEXT NOT NULL,
  error_code TEXT,
  latency_ms REAL,
  latency_bucket INTEGER,
  tokens_in INTEGER,
  tokens_out INTEGER,
  feedback REAL,
  frameworks TEXT NOT NULL,
  tools TEXT NOT NULL,
  mcp_servers TEXT NOT NULL
);
CREATE TABLE turn_texts (
  seq INTEGER PRIMARY KEY,
  user_input TEXT NOT NULL,
  assistant_response TEXT NOT NULL,
  metadata TEXT
);
CREATE INDEX turns_at ON turns (at, id, session_id, user_id);
CREATE INDEX turns_session ON turns (session_id, at, id);
CREATE INDEX turns_user ON turns (user_id, at, session_id);
CREATE INDEX turns_persona ON turns (persona, at, session_id, user_id);
CREATE INDEX turns_conversation ON turns (conversation_id, at);
CREATE TABLE turn_frameworks (seq INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (seq, name)) WITHOUT ROWID;
CREATE INDEX turn_frameworks_name ON turn_frameworks (name, seq);
CREATE TABLE turn_tools (seq INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (seq, name)) WITHOUT ROWID;
CREATE INDEX turn_tools_name ON turn_tools (name, seq);
CREATE TABLE turn_mcp_servers (seq INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (seq, name)) WITHOUT ROWID;
CREATE INDEX turn_mcp_servers_name ON turn_mcp_servers (name, seq);
CREATE VIRTUAL TABLE turns_fts USING fts5(
  terms,
  content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TABLE contexts (
  id TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  owner_id TEXT,
  session_id TEXT,
  persona TEXT,
  parent_id TEXT,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  access_count INTEGER NOT NULL,
  last_accessed_at INTEGER NOT NULL
);
CREATE INDEX contexts_created ON contexts (created_at, id);
CREATE INDEX contexts_scope ON contexts (scope, created_at, id);
CREATE INDEX contexts_owner ON contexts (owner_id, created_at, id) WHERE owner_id IS NOT NULL;
CREATE INDEX contexts_session ON contexts (session_id, created_at, id) WHERE session_id IS NOT NULL;
CREATE INDEX contexts_parent ON contexts (parent_id, created_at, id) WHERE parent_id IS NOT NULL;
CREATE INDEX contexts_persona ON contexts (persona, created_at, id) WHERE persona IS NOT NULL;
CREATE INDEX contexts_expires ON contexts (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE audit (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  context_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  outcome TEXT NOT NULL,
  changed_keys TEXT NOT NULL,
  attempted_action TEXT,
  version INTEGER
);
CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_context ON audit (context_id, at, id);
CREATE INDEX audit_principal ON audit (principal, at, id);
`;

/**
 * Rollups per dimension value, per hour and per UTC day: `dim` is '' (all turns), 'persona', 'outcome', 'framework',
 * 'tool' or 'mcpServer'; `key` is the value ('' for all turns and for turns without a persona).
 */
const V2_ROLLUPS = `
CREATE TABLE rollups (
  dim TEXT NOT NULL,
  hour INTEGER NOT NULL,
  key TEXT NOT NULL,
  count INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL,
  feedback_sum REAL NOT NULL,
  feedback_count INTEGER NOT NULL,
  latency_count INTEGER NOT NULL,
  latency_sum REAL NOT NULL,
  latency_min REAL,
  latency_max REAL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (dim, hour, key)
) WITHOUT ROWID;
CREATE TABLE rollups_day (
  dim TEXT NOT NULL,
  day INTEGER NOT NULL,
  key TEXT NOT NULL,
  count INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL,
  feedback_sum REAL NOT NULL,
  feedback_count INTEGER NOT NULL,
  latency_count INTEGER NOT NULL,
  latency_sum REAL NOT NULL,
  latency_min REAL,
  latency_max REAL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (dim, day, key)
) WITHOUT ROWID;
CREATE TABLE rollup_latency (
  dim TEXT NOT NULL,
  hour INTEGER NOT NULL,
  key TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (dim, hour, key, bucket)
) WITHOUT ROWID;
CREATE TABLE rollup_latency_day (
  dim TEXT NOT NULL,
  day INTEGER NOT NULL,
  key TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (dim, day, key, bucket)
) WITHOUT ROWID;
`;

/**
 * Distinct session and user counts (see distinct.ts) and per-session totals (see sessions.ts),
 * so that counting sessions or listing them never scans the turns; latency histograms move
 * into their rollup row as one blob (see rollups.ts encodeHist) instead of a row per bucket.
 */
const V3_DISTINCT = `
CREATE TABLE distinct_members (
  dim TEXT NOT NULL,
  key TEXT NOT NULL,
  kind INTEGER NOT NULL,
  entity TEXT NOT NULL,
  day INTEGER NOT NULL,
  PRIMARY KEY (dim, key, kind, entity, day)
) WITHOUT ROWID;
CREATE INDEX distinct_members_day ON distinct_members (day);
CREATE TABLE distinct_days (
  dim TEXT NOT NULL,
  key TEXT NOT NULL,
  kind INTEGER NOT NULL,
  day INTEGER NOT NULL,
  prevs BLOB,
  PRIMARY KEY (dim, kind, day, key)
) WITHOUT ROWID;
CREATE TABLE session_totals (
  session_id TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX session_totals_last ON session_totals (last_at DESC, session_id);
CREATE INDEX session_totals_first ON session_totals (first_at);
CREATE TABLE rollup_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
DROP TABLE rollup_latency;
DROP TABLE rollup_latency_day;
ALTER TABLE rollups ADD COLUMN hist BLOB;
ALTER TABLE rollups_day ADD COLUMN hist BLOB;
`;

/** Version 3's session totals, as that version built them (version 4 rebuilds them with errors). */
const V3_SESSIONS = `
INSERT INTO session_totals (session_id, count, first_at, last_at)
  SELECT session_id, COUNT(*), MIN(at), MAX(at) FROM turns GROUP BY session_id;
INSERT OR REPLACE INTO rollup_meta (name, value)
  SELECT 'session_span', COALESCE(MAX(last_at - first_at), 0) FROM session_totals;
`;

/**
 * Errors in the session totals and totals per (session, user) (see sessions.ts), with covering
 * indexes so that counting or listing the sessions of a range reads only the index; and daily
 * (framework, persona) and (user, persona) rollups (see rollups.ts DAY_PAIR_DIMS), with an index
 * that keeps each pair's days together so grouping by the pair streams.
 */
const V4_SESSIONS_AND_PAIRS = `
ALTER TABLE session_totals ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;
DROP INDEX session_totals_first;
CREATE INDEX session_totals_range ON session_totals (first_at, last_at, count, errors);
CREATE TABLE session_user_totals (
  session_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  count INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, user_id)
) WITHOUT ROWID;
CREATE INDEX session_user_totals_range ON session_user_totals (first_at, last_at, count, errors);
CREATE INDEX rollups_day_pairs ON rollups_day (dim, key, day, count) WHERE ${DAY_PAIR_INDEX_TERM};
`;

/**
 * The turns version (optional `TurnStore.version`): one row that each write transaction changing
 * the turns raises by one. Re-runnable, like every step a test may replay on a current schema.
 */
const V6_TURNS_VERSION = `
CREATE TABLE IF NOT EXISTS turns_version (id INTEGER PRIMARY KEY CHECK (id = 0), value INTEGER NOT NULL);
INSERT OR IGNORE INTO turns_version (id, value) VALUES (0, 0);
`;

/**
 * The audit log keyed by its event id, WITHOUT ROWID: the id's uniqueness index was a B-tree of
 * its own beside the rowid table, written on every append (a create, an update, each context a
 * sweep expires). The rows are small (no values, ever), so they sit well in an index B-tree.
 */
const V7_AUDIT_WITHOUT_ROWID = `
CREATE TABLE audit_v7 (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  context_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  outcome TEXT NOT NULL,
  changed_keys TEXT NOT NULL,
  attempted_action TEXT,
  version INTEGER
) WITHOUT ROWID;
INSERT INTO audit_v7 (id, at, principal, action, context_id, scope, outcome, changed_keys, attempted_action, version)
  SELECT id, at, principal, action, context_id, scope, outcome, changed_keys, attempted_action, version FROM audit;
DROP TABLE audit;
ALTER TABLE audit_v7 RENAME TO audit;
CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_context ON audit (context_id, at, id);
CREATE INDEX audit_principal ON audit (principal, at, id);
`;

/**
 * Weekly rollups (weeks from Monday 00:00 UTC) for the dimensions with histograms (rollups.ts
 * WEEK_DIMS), in the shape of the daily ones: a range of whole weeks reads a seventh of the rows.
 * `IF NOT EXISTS`: upgrade tests of earlier steps take today's schema back to their version by
 * undoing only their own step; the rows are summed again from the days either way.
 */
const V8_ROLLUPS_WEEK = `
CREATE TABLE IF NOT EXISTS rollups_week (
  dim TEXT NOT NULL,
  week INTEGER NOT NULL,
  key TEXT NOT NULL,
  count INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL,
  feedback_sum REAL NOT NULL,
  feedback_count INTEGER NOT NULL,
  latency_count INTEGER NOT NULL,
  latency_sum REAL NOT NULL,
  latency_min REAL,
  latency_max REAL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  hist BLOB,
  PRIMARY KEY (dim, week, key)
) WITHOUT ROWID;
`;

export const MIGRATIONS: readonly Migration[] = [
  { description: 'turns, child name tables, FTS5, contexts, audit', up: (db) => db.exec(V1_TURNS) },
  {
    // Version 3 rebuilds every rollup from the turns (in the shape that version writes), so a
    // database passing through here only needs the tables.
    description: 'hourly and daily rollups (built by version 3)',
    up: (db) => db.exec(V2_ROLLUPS),
  },
  {
    description:
      'distinct-count and session rollups, and framework-pair rollups, built from the turns stored',
    up: (db) => {
      db.exec(V3_DISTINCT);
      buildDistinct(db);
      db.exec(V3_SESSIONS);
      rebuildRollups(db, 0, END_OF_TIME);
    },
  },
  {
    description: 'errors and per-user session totals; daily (framework, persona) and (user, persona) rollups',
    up: (db) => {
      db.exec(V4_SESSIONS_AND_PAIRS);
      buildSessions(db);
      buildDayPairRollups(db);
    },
  },
  {
    // A sweep takes its batches in (expires_at, id) order: with the id in the index it reads only
    // the batch it deletes, not every context tied on the same expiry.
    description: 'contexts expiry index on (expires_at, id)',
    up: (db) =>
      db.exec(`DROP INDEX contexts_expires;
CREATE INDEX contexts_expiry ON contexts (expires_at, id) WHERE expires_at IS NOT NULL;`),
  },
  {
    description: 'turns version counter (optional TurnStore.version)',
    up: (db) => db.exec(V6_TURNS_VERSION),
  },
  {
    description: 'audit as a WITHOUT ROWID table keyed by event id',
    up: (db) => db.exec(V7_AUDIT_WITHOUT_ROWID),
  },
  {
    description: 'weekly rollups, built from the daily ones',
    up: (db) => {
      db.exec(V8_ROLLUPS_WEEK);
      rebuildWeeks(db, 0, END_OF_TIME);
    },
  },
  {
    // No new table: rollups.ts WEEK_DIMS gained them, and every weekly row is summed again.
    description: 'weekly rows for framework pairs and (framework, persona)',
    up: (db) => rebuildWeeks(db, 0, END_OF_TIME),
  },
  {
    // Every create, delete and swept context wrote this B-tree, for one query only: a list with
    // no filter, which now merges the per-scope ranges of contexts_scope (contexts.ts).
    description: 'contexts without the (created_at, id) index',
    up: (db) => db.exec('DROP INDEX IF EXISTS contexts_created;'),
  },
  {
    // Per-session distributions (TurnStore.sessionStats) read these instead of every session.
    description: 'session_hist (turn counts and lengths per first-turn day) and the session length index',
    up: buildSessionHist,
  },
  {
    // Persona preference and returning users read a row per user whose turns all lie in the range;
    // session_hist is summed per bin off an index instead of a sort.
    description:
      'all-time per-user totals (span, sessions, preferred persona), (user, persona) counts, session_hist bin index',
    up: (db) => {
      buildUserTotals(db);
      db.exec(SESSION_HIST_BINS_DDL);
    },
  },
  {
    // Search scores from postings that carry each match's tf and length (search-postings.ts).
    description: 'search postings (term, turn, tf, length) beside FTS5, built from the stored turns',
    up: (db) => {
      db.exec(POSTINGS_DDL);
      buildPostings(db);
    },
  },
  {
    // Deferred expiry (expiry.ts): a sweep records what expired here; the rows go later.
    description: 'deferred expiry horizons (expiry_pending)',
    up: (db) => db.exec(EXPIRY_PENDING_DDL),
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to SCHEMA_VERSION; safe when several processes open it at once. Returns
 * the version found, which equals SCHEMA_VERSION when nothing had to change.
 */
export function migrate(db: Database.Database, path: string): number {
  const current = () => db.pragma('user_version', { simple: true }) as number;
  const found = current();
  if (found === SCHEMA_VERSION) return found;
  if (found > SCHEMA_VERSION) throw tooNew(path, found);
  return db
    .transaction(() => {
      // Re-read under the write lock: another process may have migrated meanwhile.
      const from = current();
      if (from > SCHEMA_VERSION) throw tooNew(path, from);
      for (let v = from; v < SCHEMA_VERSION; v++) MIGRATIONS[v]!.up(db);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return from;
    })
    .immediate();
}

/** For read-only opens, which cannot migrate. */
export function checkSchema(db: Database.Database, path: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw tooNew(path, version);
  if (version < SCHEMA_VERSION) {
    throw new ConvokitError(
      'STORAGE',
      `SQLite database ${path} is at schema version ${version} and needs migrating to ${SCHEMA_VERSION}; open it once without readonly`,
      { adapter: 'sqlite', path, reason: 'schema', version, expected: SCHEMA_VERSION },
    );
  }
  return version;
}

function tooNew(path: string, version: number): ConvokitError {
  return new ConvokitError(
    'STORAGE',
    `SQLite database ${path} has schema version ${version}, newer than this code understands (${SCHEMA_VERSION})`,
    { adapter: 'sqlite', path, reason: 'schema', version, expected: SCHEMA_VERSION },
  );
}
