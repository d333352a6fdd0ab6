import {
  type AggregateResult,
  type AggregateSpecInput,
  type AppendOptions,
  type AppendResult,
  bucketStart,
  ConvokitError,
  DAY_MS,
  decodeCursor,
  distinctTerms,
  EpochMsSchema,
  encodeCursor,
  fingerprint,
  KeySchema,
  type ListTurnsOptions,
  latencyBucket,
  normalizeTurnFilter,
  type PageResult,
  PageSchema,
  type SearchHit,
  type SearchOptionsInput,
  SearchOptionsSchema,
  SearchTextSchema,
  type Turn,
  type TurnFilter,
  TurnFilterSchema,
  TurnOrderSchema,
  TurnSchema,
  type TurnStore,
  validate,
} from '@convokit/core';
import { aggregateTurns } from './aggregate.js';
import type { Connection } from './connection.js';
import {
  addMembers,
  type DistinctStatements,
  type Member,
  membersOf,
  prepareDistinctStatements,
  trimDistinct,
} from './distinct.js';
import { personaPreference } from './persona-preference.js';
import {
  prepareRollupStatements,
  RollupBatch,
  type RollupStatements,
  rebuildRollups,
  rebuildWeeks,
  WEEK_MS,
} from './rollups.js';
import { TURN_CELLS_SELECT, TURN_SELECT, type TurnRow, turnOfCells, turnOfRow } from './rows.js';
import { searchTurns } from './search.js';
import {
  deletePostings,
  PostingsBatch,
  type PostingsStatements,
  preparePostingsStatements,
} from './search-postings.js';
import { searchTerms } from './search-terms.js';
import { sessionStats } from './session-stats.js';
import { prepareSessionStatements, SessionBatch, type SessionStatements, trimSessions } from './sessions.js';
import { turnFilterSql, whereSql } from './turn-filter-sql.js';
import { turnsVersion } from './turns-version.js';
import {
  prepareUserStatements,
  trimUsers,
  UserBatch,
  type UserStatements,
  usersBefore,
} from './user-totals.js';
import { underPath } from './validate-field.js';

const TurnBatchSchema = TurnSchema.array();
const SELECT_ONE = `${TURN_SELECT} WHERE t.id = ?`;

/**
 * Rows per multi-row insert: one statement per row costs about a third more in FTS5, and each
 * statement run is a round trip into the driver (the child name tables take ~2 rows a turn).
 */
const CHUNK = 64;

/** Two-column rows of a batch for one table, inserted CHUNK rows per statement (the rest one by one). */
class ChunkedInsert {
  readonly #params: Array<number | bigint | string> = [];
  readonly #many: string;
  readonly #one: string;

  constructor(
    private readonly conn: Connection,
    table: string,
    columns: string,
  ) {
    const into = `INSERT INTO ${table} (${columns}) VALUES `;
    this.#many = `${into}${Array(CHUNK).fill('(?, ?)').join(', ')}`;
    this.#one = `${into}(?, ?)`;
  }

  add(seq: number | bigint, value: string): void {
    this.#params.push(seq, value);
    if (this.#params.length === CHUNK * 2) {
      this.conn.prepare(this.#many).run(this.#params);
      this.#params.length = 0;
    }
  }

  flush(): void {
    if (this.#params.length === 0) return;
    const one = this.conn.prepare(this.#one);
    for (let i = 0; i < this.#params.length; i += 2) one.run(this.#params[i], this.#params[i + 1]);
    this.#params.length = 0;
  }
}

export function createTurnStore(conn: Connection): TurnStore {
  let rollupStatements: RollupStatements | undefined;
  const rollups = () => {
    rollupStatements ??= prepareRollupStatements(conn.db);
    return rollupStatements;
  };
  let distinctStatements: DistinctStatements | undefined;
  let sessionStatements: SessionStatements | undefined;
  let userStatements: UserStatements | undefined;
  let postingsStatements: PostingsStatements | undefined;
  const version = turnsVersion(conn);

  function insertTurns(turns: readonly Turn[], ifExists: 'error' | 'skip'): AppendResult {
    const insert = conn.prepare(`
      INSERT INTO turns (id, session_id, conversation_id, user_id, at, persona, outcome, error_code, latency_ms,
        latency_bucket, tokens_in, tokens_out, feedback, frameworks, tools, mcp_servers)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO NOTHING`);
    const insertText = conn.prepare(
      'INSERT INTO turn_texts (seq, user_input, assistant_response, metadata) VALUES (?, ?, ?, ?)',
    );
    const fts = new ChunkedInsert(conn, 'turns_fts', 'rowid, terms');
    const frameworks = new ChunkedInsert(conn, 'turn_frameworks', 'seq, name');
    const tools = new ChunkedInsert(conn, 'turn_tools', 'seq, name');
    const mcpServers = new ChunkedInsert(conn, 'turn_mcp_servers', 'seq, name');
    const batch = new RollupBatch();
    const sessions = new SessionBatch();
    const users = new UserBatch();
    const members = new Map<string, Member>();
    const postings = new PostingsBatch();
    const skippedIds: string[] = [];
    let appended = 0;
    for (const t of turns) {
      const info = insert.run(
        t.id,
        t.sessionId,
        t.conversationId ?? null,
        t.userId ?? null,
        t.at,
        t.persona ?? null,
        t.outcome,
        t.errorCode ?? null,
        t.latencyMs ?? null,
        t.latencyMs === undefined ? null : latencyBucket(t.latencyMs),
        t.tokens?.input ?? null,
        t.tokens?.output ?? null,
        t.feedback ?? null,
        JSON.stringify(t.frameworks),
        JSON.stringify(t.tools),
        JSON.stringify(t.mcpServers),
      );
      if (info.changes === 0) {
        if (ifExists === 'skip') {
          skippedIds.push(t.id);
          continue;
        }
        throw new ConvokitError('CONFLICT', `A turn with id ${t.id} is already stored`, {
          where: 'turns.append',
          id: t.id,
        });
      }
      const seq = info.lastInsertRowid;
      insertText.run(
        seq,
        t.userInput,
        t.assistantResponse,
        t.metadata === undefined ? null : JSON.stringify(t.metadata),
      );
      const { user, response, terms } = searchTerms(t);
      fts.add(seq, terms);
      postings.add(Number(seq), user, response, terms);
      for (const name of t.frameworks) frameworks.add(seq, name);
      for (const name of t.tools) tools.add(seq, name);
      for (const name of t.mcpServers) mcpServers.add(seq, name);
      batch.add(t);
      sessions.add(t);
      users.add(t);
      membersOf(t, members);
      appended++;
    }
    fts.flush();
    postingsStatements ??= preparePostingsStatements(conn.db);
    postings.write(postingsStatements);
    frameworks.flush();
    tools.flush();
    mcpServers.flush();
    batch.write(rollups());
    sessionStatements ??= prepareSessionStatements(conn.db);
    const newSessions = sessions.write(sessionStatements);
    userStatements ??= prepareUserStatements(conn.db);
    users.write(userStatements, newSessions);
    distinctStatements ??= prepareDistinctStatements(conn.db);
    addMembers(distinctStatements, members.values());
    return { appended, skippedIds };
  }

  return {
    async append(turns, options: AppendOptions = {}) {
      const valid = validate(TurnBatchSchema, turns, 'turns.append');
      const ifExists = options.ifExists ?? 'error';
      if (ifExists !== 'error' && ifExists !== 'skip') {
        throw new ConvokitError(
          'VALIDATION',
          'Invalid input to turns.append: ifExists must be `error` or `skip`',
          {
            where: 'turns.append',
            issues: [{ path: 'ifExists', message: 'must be `error` or `skip`' }],
          },
        );
      }
      const seen = new Set<string>();
      for (const [i, t] of valid.entries()) {
        if (seen.has(t.id)) {
          throw new ConvokitError(
            'VALIDATION',
            `Invalid input to turns.append: ${i}.id: repeats an id of the batch`,
            {
              where: 'turns.append',
              issues: [{ path: `${i}.id`, message: 'repeats an id of the batch' }],
            },
          );
        }
        seen.add(t.id);
      }
      if (valid.length === 0) {
        return conn.run('turns.append', () => ({ appended: 0, skippedIds: [], version: version.read() }));
      }
      return conn.write('turns.append', () => version.after(insertTurns(valid, ifExists)));
    },

    async get(id) {
      validate(KeySchema, id, 'turns.get');
      return conn.run('turns.get', () => {
        const row = conn.prepare(SELECT_ONE).get(id) as TurnRow | undefined;
        return row ? turnOfRow(row) : undefined;
      });
    },

    async list(filter: TurnFilter = {}, options: ListTurnsOptions = {}): Promise<PageResult<Turn>> {
      const f = normalizeTurnFilter(validate(TurnFilterSchema, filter, 'turns.list'));
      const { order: orderInput, ...pageInput } = options;
      const order = underPath('order', () => validate(TurnOrderSchema, orderInput ?? 'desc', 'turns.list'));
      const page = validate(PageSchema, pageInput, 'turns.list');
      const print = fingerprint({ filter: f, order });
      const where = turnFilterSql(f);
      if (page.cursor) {
        const key = decodeCursor(page.cursor, print, 'turns.list');
        const [at, id] = key;
        if (key.length !== 2 || typeof at !== 'number' || typeof id !== 'string') {
          throw new ConvokitError(
            'VALIDATION',
            'Invalid cursor for turns.list: not a cursor this store issued',
            {
              where: 'turns.list',
              issues: [{ path: 'cursor', message: 'not a cursor this store issued' }],
            },
          );
        }
        where.clauses.push(
          order === 'desc'
            ? '(t.at < ? OR (t.at = ? AND t.id < ?))'
            : '(t.at > ? OR (t.at = ? AND t.id > ?))',
        );
        where.params.push(at, at, id);
      }
      const dir = order === 'desc' ? 'DESC' : 'ASC';
      return conn.run('turns.list', () => {
        const rows = conn
          .prepare(
            `${TURN_CELLS_SELECT} ${whereSql(where.clauses)} ORDER BY t.at ${dir}, t.id ${dir} LIMIT ?`,
          )
          .raw(true)
          .all(...where.params, page.limit + 1) as unknown[][];
        const more = rows.length > page.limit;
        const items = (more ? rows.slice(0, page.limit) : rows).map(turnOfCells);
        const last = items[items.length - 1];
        return { items, nextCursor: more && last ? encodeCursor([last.at, last.id], print) : null };
      });
    },

    async search(text: string, options: SearchOptionsInput = {}): Promise<SearchHit[]> {
      const query = validate(SearchTextSchema, text, 'turns.search');
      const opts = validate(SearchOptionsSchema, options, 'turns.search');
      const terms = distinctTerms(query);
      if (terms.length === 0) return conn.run('turns.search', () => []);
      const filter = normalizeTurnFilter(opts.filter);
      return conn.run('turns.search', () => searchTurns(conn, terms, opts.mode, filter, opts.limit));
    },

    async aggregate(spec: AggregateSpecInput): Promise<AggregateResult> {
      return aggregateTurns(conn, spec);
    },

    async count(filter: TurnFilter = {}) {
      const valid = validate(TurnFilterSchema, filter, 'turns.count');
      const result = await aggregateTurns(conn, { filter: valid, measures: ['count'] }, 'turns.count');
      return result.rows[0]?.values.count ?? 0;
    },

    async deleteBefore(before: number) {
      validate(EpochMsSchema, before, 'turns.deleteBefore');
      return conn.write('turns.deleteBefore', () => {
        const old = 'SELECT seq FROM turns WHERE at < ?';
        const deletedUsers = usersBefore(conn.db, before);
        deletePostings(conn.db, conn.prepare(old).pluck().all(before) as number[]);
        conn.prepare(`DELETE FROM turns_fts WHERE rowid IN (${old})`).run(before);
        for (const table of ['turn_texts', 'turn_frameworks', 'turn_tools', 'turn_mcp_servers']) {
          conn.prepare(`DELETE FROM ${table} WHERE seq IN (${old})`).run(before);
        }
        const deleted = conn.prepare('DELETE FROM turns WHERE at < ?').run(before).changes;
        // Whole days before `before` lose every rollup; the day it cuts through is recounted from what is left.
        const day = before - (before % DAY_MS);
        conn.prepare('DELETE FROM rollups WHERE hour < ?').run(day);
        conn.prepare('DELETE FROM rollups_day WHERE day < ?').run(day);
        if (day !== before && deleted > 0) rebuildRollups(conn.db, day, day + DAY_MS);
        // Whole weeks before the cut go too; the week it cuts through is summed again from its days.
        const week = bucketStart('week', before);
        conn.prepare('DELETE FROM rollups_week WHERE week < ?').run(week);
        if (week !== before && deleted > 0) rebuildWeeks(conn.db, week, week + WEEK_MS);
        trimDistinct(conn.db, before);
        trimSessions(conn.db, before);
        trimUsers(conn.db, deletedUsers);
        if (deleted > 0) version.bump();
        return deleted;
      });
    },

    async version() {
      return conn.run('turns.version', () => version.read());
    },

    sessionStats: (filter?: TurnFilter) => sessionStats(conn, filter),
    personaPreference: (filter?: TurnFilter) => personaPreference(conn, filter),
  };
}
