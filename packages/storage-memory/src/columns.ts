import { latencyBucket, type Turn } from '@convokit/core';

/** Names as small integers, in order of first appearance; never shrinks (ids stay valid). */
export class Dictionary {
  readonly names: string[] = [];
  readonly #ids = new Map<string, number>();
  #ranks: Int32Array | undefined;

  id(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.#ids.set(name, id);
    }
    return id;
  }

  /** The id of a name already seen, or -1. */
  find(name: string): number {
    return this.#ids.get(name) ?? -1;
  }

  get size(): number {
    return this.names.length;
  }

  /** Each id's position among the names sorted ascending (kept until a name is added). */
  ranks(): Int32Array {
    if (this.#ranks?.length !== this.names.length) {
      const names = this.names;
      const byName = Array.from({ length: names.length }, (_, id) => id).sort((a, b) =>
        names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0,
      );
      const ranks = new Int32Array(names.length);
      byName.forEach((id, r) => {
        ranks[id] = r;
      });
      this.#ranks = ranks;
    }
    return this.#ranks;
  }

  clear(): void {
    this.names.length = 0;
    this.#ids.clear();
    this.#ranks = undefined;
  }
}

/** Values of one multi-valued field for every row: row i holds values[offsets[i]..offsets[i+1]). */
export class MultiColumn {
  offsets = new Int32Array(1024);
  values = new Int32Array(1024);
  readonly dict = new Dictionary();

  /** Sets row `row`'s names; rows are written in order, each after the one before. */
  write(row: number, names: readonly string[]): void {
    const start = this.offsets[row]!;
    if (row + 2 > this.offsets.length) this.offsets = grow(this.offsets, row + 2);
    if (start + names.length > this.values.length) this.values = grow(this.values, start + names.length);
    for (let k = 0; k < names.length; k++) this.values[start + k] = this.dict.id(names[k]!);
    this.offsets[row + 1] = start + names.length;
  }

  dropFront(rows: number, length: number): void {
    const shift = this.offsets[rows]!;
    this.values.copyWithin(0, shift, this.offsets[length]!);
    for (let i = 0; i <= length - rows; i++) this.offsets[i] = this.offsets[i + rows]! - shift;
  }
}

/**
 * The stored turns as columns of numbers, row i being `TurnIndex.sorted[i]`: what an aggregate
 * scan reads instead of the turn objects (no property lookups, no string hashing per turn).
 * Strings become dictionary ids, absent values -1 (ids) or NaN (numbers). Rows are kept in step
 * with the sorted list: appends in time order extend them, an insert before the end rewrites the
 * rows from the insertion point, and `deleteBefore` drops a prefix.
 */
export class TurnColumns {
  length = 0;
  at = new Float64Array(1024);
  session = new Int32Array(1024);
  user = new Int32Array(1024);
  persona = new Int32Array(1024);
  conversation = new Int32Array(1024);
  error = new Uint8Array(1024);
  latency = new Float64Array(1024);
  /** `latencyBucket(latency)`, so a scan never takes a logarithm. */
  latencyBucket = new Int32Array(1024);
  tokensIn = new Float64Array(1024);
  tokensOut = new Float64Array(1024);
  feedback = new Float64Array(1024);
  readonly sessions = new Dictionary();
  readonly users = new Dictionary();
  readonly personas = new Dictionary();
  readonly conversations = new Dictionary();
  readonly frameworks = new MultiColumn();
  readonly tools = new MultiColumn();
  readonly mcpServers = new MultiColumn();
  /** Smallest and largest non-zero latency bucket ever written (bounds, not exact after deletes). */
  minBucket = Number.POSITIVE_INFINITY;
  maxBucket = Number.NEGATIVE_INFINITY;

  /** Rewrites rows from `from` to match `sorted` (whose rows before `from` are unchanged). */
  sync(sorted: readonly Turn[], from: number): void {
    const n = sorted.length;
    if (n > this.at.length) this.#reserve(n);
    const fw = this.frameworks;
    const tl = this.tools;
    const mc = this.mcpServers;
    for (let i = Math.min(from, this.length); i < n; i++) {
      const t = sorted[i]!;
      this.at[i] = t.at;
      this.session[i] = this.sessions.id(t.sessionId);
      this.user[i] = t.userId === undefined ? -1 : this.users.id(t.userId);
      this.persona[i] = t.persona === undefined ? -1 : this.personas.id(t.persona);
      this.conversation[i] = t.conversationId === undefined ? -1 : this.conversations.id(t.conversationId);
      this.error[i] = t.outcome === 'error' ? 1 : 0;
      const latency = t.latencyMs;
      if (latency === undefined) {
        this.latency[i] = Number.NaN;
        this.latencyBucket[i] = 0;
      } else {
        this.latency[i] = latency;
        const b = latencyBucket(latency);
        this.latencyBucket[i] = b;
        if (latency >= 0.001) {
          if (b < this.minBucket) this.minBucket = b;
          if (b > this.maxBucket) this.maxBucket = b;
        }
      }
      const tokens = t.tokens;
      this.tokensIn[i] = tokens === undefined ? 0 : tokens.input;
      this.tokensOut[i] = tokens === undefined ? 0 : tokens.output;
      this.feedback[i] = t.feedback === undefined ? Number.NaN : t.feedback;
      fw.write(i, t.frameworks);
      tl.write(i, t.tools);
      mc.write(i, t.mcpServers);
    }
    this.length = n;
  }

  /** Drops the first `rows` rows (the turns `deleteBefore` removed). */
  dropFront(rows: number): void {
    if (rows <= 0) return;
    const n = this.length;
    for (const column of this.#numeric()) column.copyWithin(0, rows, n);
    this.frameworks.dropFront(rows, n);
    this.tools.dropFront(rows, n);
    this.mcpServers.dropFront(rows, n);
    this.length = n - rows;
  }

  clear(): void {
    this.length = 0;
    for (const d of [this.sessions, this.users, this.personas, this.conversations]) d.clear();
    for (const m of [this.frameworks, this.tools, this.mcpServers]) {
      m.dict.clear();
      m.offsets[0] = 0;
    }
    this.minBucket = Number.POSITIVE_INFINITY;
    this.maxBucket = Number.NEGATIVE_INFINITY;
  }

  #numeric(): Array<Float64Array | Int32Array | Uint8Array> {
    return [
      this.at,
      this.session,
      this.user,
      this.persona,
      this.conversation,
      this.error,
      this.latency,
      this.latencyBucket,
      this.tokensIn,
      this.tokensOut,
      this.feedback,
    ];
  }

  #reserve(n: number): void {
    this.at = grow(this.at, n);
    this.session = grow(this.session, n);
    this.user = grow(this.user, n);
    this.persona = grow(this.persona, n);
    this.conversation = grow(this.conversation, n);
    this.error = grow(this.error, n);
    this.latency = grow(this.latency, n);
    this.latencyBucket = grow(this.latencyBucket, n);
    this.tokensIn = grow(this.tokensIn, n);
    this.tokensOut = grow(this.tokensOut, n);
    this.feedback = grow(this.feedback, n);
  }
}

type Typed = Float64Array | Int32Array | Uint8Array;

/** A copy of `array` with room for at least `n` items (capacity doubles). */
function grow<T extends Typed>(array: T, n: number): T {
  if (n <= array.length) return array;
  let size = Math.max(1024, array.length);
  while (size < n) size *= 2;
  const next = new (array.constructor as new (size: number) => T)(size);
  next.set(array);
  return next;
}
