import type { Db } from './db.js';

interface Waiting<T> {
  id: string;
  now: number;
  resolve(value: T | undefined): void;
  reject(error: unknown): void;
}

/**
 * Coalesces by-id reads issued in the same tick (`Promise.all` over several ids, concurrent
 * requests) into one statement: one round trip and one result set instead of one per id. Node's
 * side of a round trip (socket writes, protocol parsing) costs more than PostgreSQL's primary-key
 * lookup, so with several callers at once the process, not the pool, is the limit. Each read
 * still runs after its call began, so nothing stale is ever answered; a lone call goes out at
 * the end of the current microtask queue with the single-id statement.
 */
export class GetBatcher<Row, T> {
  #waiting: Waiting<T>[] | undefined;
  readonly #max: number;

  constructor(
    private readonly db: Db,
    private readonly op: string,
    /** One id: `$1::text` id, `$2::bigint` now; zero or one row. */
    private readonly one: string,
    /** Several ids: `$1::text[]` of distinct ids; every stored row of them, live or not. */
    private readonly many: string,
    private readonly idOf: (row: Row) => string,
    /** Whether a row of `many` is visible at `now` (the `one` statement's own filter). */
    private readonly live: (row: Row, now: number) => boolean,
    private readonly decode: (row: Row) => T,
    max = 256,
  ) {
    this.#max = max;
  }

  get(id: string, now: number): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      if (!this.#waiting) {
        this.#waiting = [];
        queueMicrotask(() => this.#flush());
      }
      this.#waiting.push({ id, now, resolve, reject });
      if (this.#waiting.length >= this.#max) this.#flush();
    });
  }

  #flush(): void {
    const batch = this.#waiting;
    this.#waiting = undefined;
    if (!batch || batch.length === 0) return;
    this.#send(batch).catch((error: unknown) => {
      for (const w of batch) w.reject(error);
    });
  }

  async #send(batch: Waiting<T>[]): Promise<void> {
    if (batch.length === 1) {
      const w = batch[0]!;
      const rows = await this.db.readById(this.op, (sql) =>
        sql.unsafe<Row[]>(this.one, [w.id, w.now] as never[], { prepare: true }),
      );
      w.resolve(rows[0] ? this.decode(rows[0]) : undefined);
      return;
    }
    // `id = ANY(...)`: a primary-key probe per id (a join with unnest can be planned as a scan).
    const ids = [...new Set(batch.map((w) => w.id))];
    const rows = await this.db.readById(this.op, (sql) =>
      sql.unsafe<Row[]>(this.many, [ids] as never[], { prepare: true }),
    );
    const byId = new Map(rows.map((row) => [this.idOf(row), row]));
    // Decode each call's row separately: two calls for the same id get their own objects.
    for (const w of batch) {
      const row = byId.get(w.id);
      w.resolve(row && this.live(row, w.now) ? this.decode(row) : undefined);
    }
  }
}
