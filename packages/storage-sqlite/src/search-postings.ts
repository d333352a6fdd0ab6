import type Database from 'better-sqlite3';
import { searchTerms } from './search-terms.js';

/**
 * A postings index beside FTS5 (`search_postings`): for each term, the turns holding it with the
 * two numbers FTS5's bm25 reads per match, the term's count in the turn (tf) and the turn's
 * length in tokens, so a search scores its matches in JavaScript without FTS5's per-match
 * docsize lookup (search-rank.ts).
 *
 * Only turns whose terms are all ASCII are indexed here. For those, core `tokenize` and FTS5's
 * `unicode61` agree token for token (an ASCII letter/digit run is one unicode61 token, folded to
 * itself), so counts and lengths are FTS5's own. Any other turn is listed in `search_irregular`
 * and scored by FTS5 itself at query time.
 *
 * A segment is one row: a term's postings over a seq range, as varints per turn:
 * `delta * 2 + (tf > 1)`, then `tf - 2` when tf > 1, then the length; `delta` is from the
 * previous seq of the segment, or from 0 for the first. Each append writes one level-0 segment
 * per term of its batch; when a level has received SEGMENTS_PER_LEVEL generations of segments,
 * each term's segments of that level are concatenated into one segment of the next level (no
 * decoding: only the first delta of each later segment is rewritten). A term is thus a few
 * segments per level, read in one indexed range each.
 */

export const SEGMENTS_PER_LEVEL = 8;
/** Levels a term is read from (8^10 generations: far beyond any store). */
export const MAX_LEVEL = 10;

/**
 * Re-runnable (`IF NOT EXISTS`), as upgrade tests of earlier steps replay it on today's schema;
 * `buildPostings` empties the tables before it fills them.
 */
export const POSTINGS_DDL = `
CREATE TABLE IF NOT EXISTS search_postings (
  id INTEGER PRIMARY KEY,
  level INTEGER NOT NULL,
  term TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  docs INTEGER NOT NULL,
  postings BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS search_postings_term ON search_postings (level, term, first_seq);
CREATE TABLE IF NOT EXISTS search_levels (level INTEGER PRIMARY KEY, generations INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS search_irregular (seq INTEGER PRIMARY KEY);
`;

/** Turns whose terms hold a non-ASCII character: unicode61 may split or fold them unlike core. */
const NON_ASCII = /[^\0-\x7f]/;

/** Growable byte buffer of varints. */
class VarintWriter {
  bytes = new Uint8Array(256);
  length = 0;

  push(value: number): void {
    if (this.length + 10 > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    let v = value;
    while (v >= 0x80) {
      this.bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.bytes[this.length++] = v;
  }

  take(): Buffer {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.length);
  }
}

/** One term's postings within a batch, encoded as they come (seqs ascend within a batch). */
class TermPostings {
  readonly out = new VarintWriter();
  firstSeq = -1;
  lastSeq = 0;
  docs = 0;
  /** The turn being counted (its tf grows until the next turn's token comes). */
  #seq = -1;
  #tf = 0;
  #length = 0;

  /** One more occurrence of the term in turn `seq` (turns in ascending seq order). */
  count(seq: number, length: number): void {
    if (seq === this.#seq) {
      this.#tf++;
      return;
    }
    this.end();
    this.#seq = seq;
    this.#tf = 1;
    this.#length = length;
  }

  /** Writes the counted turn's posting. */
  end(): void {
    if (this.#tf === 0) return;
    this.add(this.#seq, this.#tf, this.#length);
    this.#tf = 0;
  }

  add(seq: number, tf: number, length: number): void {
    if (this.firstSeq < 0) this.firstSeq = seq;
    const delta = seq - this.lastSeq;
    this.lastSeq = seq;
    this.docs++;
    if (tf > 1) {
      this.out.push(delta * 2 + 1);
      this.out.push(tf - 2);
    } else {
      this.out.push(delta * 2);
    }
    this.out.push(length);
  }
}

/** Statements the index writes with, prepared once per connection. */
export interface PostingsStatements {
  insert: Database.Statement;
  insertIrregular: Database.Statement;
  generations: Database.Statement;
  setGenerations: Database.Statement;
  levelRows: Database.Statement;
  clearLevel: Database.Statement;
}

export function preparePostingsStatements(db: Database.Database): PostingsStatements {
  return {
    insert: db.prepare(
      'INSERT INTO search_postings (level, term, first_seq, last_seq, docs, postings) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    insertIrregular: db.prepare('INSERT OR IGNORE INTO search_irregular (seq) VALUES (?)'),
    generations: db.prepare('SELECT generations FROM search_levels WHERE level = ?').pluck(),
    setGenerations: db.prepare(
      'INSERT INTO search_levels (level, generations) VALUES (?, ?) ON CONFLICT (level) DO UPDATE SET generations = excluded.generations',
    ),
    levelRows: db
      .prepare(
        'SELECT term, first_seq, last_seq, docs, postings FROM search_postings WHERE level = ? ORDER BY term, first_seq',
      )
      .raw(),
    clearLevel: db.prepare('DELETE FROM search_postings WHERE level = ?'),
  };
}

/**
 * The postings of one append: `add` each stored turn (ascending seqs) with its core tokens, then
 * `write` in the append's transaction.
 */
export class PostingsBatch {
  readonly #terms = new Map<string, TermPostings>();
  readonly #irregular: number[] = [];

  /** `terms` is what the FTS row holds (the tokens joined by spaces), to tell an irregular turn at once. */
  add(seq: number, userTokens: readonly string[], responseTokens: readonly string[], terms: string): void {
    if (NON_ASCII.test(terms)) {
      this.#irregular.push(seq);
      return;
    }
    const length = userTokens.length + responseTokens.length;
    for (const t of userTokens) this.#posting(t).count(seq, length);
    for (const t of responseTokens) this.#posting(t).count(seq, length);
  }

  #posting(term: string): TermPostings {
    let p = this.#terms.get(term);
    if (!p) {
      p = new TermPostings();
      this.#terms.set(term, p);
    }
    return p;
  }

  write(s: PostingsStatements): void {
    for (const seq of this.#irregular) s.insertIrregular.run(seq);
    if (this.#terms.size === 0) return;
    for (const [term, p] of this.#terms) {
      p.end();
      s.insert.run(0, term, p.firstSeq, p.lastSeq, p.docs, p.out.take());
    }
    addGeneration(s, 0);
  }
}

/** One more generation of segments at `level`: at SEGMENTS_PER_LEVEL, the level merges into the next. */
function addGeneration(s: PostingsStatements, level: number): void {
  const generations = ((s.generations.get(level) as number | undefined) ?? 0) + 1;
  if (generations < SEGMENTS_PER_LEVEL || level + 1 >= MAX_LEVEL) {
    s.setGenerations.run(level, generations);
    return;
  }
  mergeLevel(s, level);
  s.setGenerations.run(level, 0);
  addGeneration(s, level + 1);
}

/** Each term's segments of `level`, concatenated in seq order into one segment of `level + 1`. */
function mergeLevel(s: PostingsStatements, level: number): void {
  const rows = s.levelRows.all(level) as Array<[string, number, number, number, Buffer]>;
  s.clearLevel.run(level);
  let i = 0;
  while (i < rows.length) {
    const term = rows[i]![0];
    let j = i + 1;
    while (j < rows.length && rows[j]![0] === term) j++;
    const parts: Buffer[] = [rows[i]![4]];
    let docs = rows[i]![3];
    for (let k = i + 1; k < j; k++) {
      parts.push(rebase(rows[k]![4], rows[k - 1]![2]));
      docs += rows[k]![3];
    }
    s.insert.run(level + 1, term, rows[i]![1], rows[j - 1]![2], docs, parts.length === 1 ? parts[0] : Buffer.concat(parts));
    i = j;
  }
}

/** A segment whose first delta counts from `previousLast` instead of 0, to follow that segment. */
function rebase(segment: Buffer, previousLast: number): Buffer {
  let pos = 0;
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = segment[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 0x80;
  }
  const flag = value % 2;
  const seq = (value - flag) / 2;
  const head = new VarintWriter();
  head.push((seq - previousLast) * 2 + flag);
  return Buffer.concat([head.take(), segment.subarray(pos)]);
}

/** Postings of one term, decoded: parallel arrays in ascending seq order. */
export interface DecodedPostings {
  seqs: Float64Array;
  tfs: Uint32Array;
  lengths: Uint32Array;
}

/** Decodes segments (in ascending seq order, `docs` postings in all) into one list. */
export function decodeSegments(segments: readonly Buffer[], docs: number): DecodedPostings {
  const seqs = new Float64Array(docs);
  const tfs = new Uint32Array(docs);
  const lengths = new Uint32Array(docs);
  let n = 0;
  for (const b of segments) {
    let pos = 0;
    let seq = 0;
    const end = b.length;
    while (pos < end) {
      let byte = b[pos++]!;
      let v = byte & 0x7f;
      let scale = 0x80;
      while (byte >= 0x80) {
        byte = b[pos++]!;
        v += (byte & 0x7f) * scale;
        scale *= 0x80;
      }
      const flag = v & 1;
      seq += (v - flag) / 2;
      let tf = 1;
      if (flag) {
        byte = b[pos++]!;
        let t = byte & 0x7f;
        scale = 0x80;
        while (byte >= 0x80) {
          byte = b[pos++]!;
          t += (byte & 0x7f) * scale;
          scale *= 0x80;
        }
        tf = t + 2;
      }
      byte = b[pos++]!;
      let len = byte & 0x7f;
      scale = 0x80;
      while (byte >= 0x80) {
        byte = b[pos++]!;
        len += (byte & 0x7f) * scale;
        scale *= 0x80;
      }
      seqs[n] = seq;
      tfs[n] = tf;
      lengths[n] = len;
      n++;
    }
  }
  return { seqs, tfs, lengths };
}

/** Encodes a decoded list (or a filtered part of it) as one segment. */
function encodePostings(p: DecodedPostings, keep: readonly number[]): TermPostings {
  const out = new TermPostings();
  for (const i of keep) out.add(p.seqs[i]!, p.tfs[i]!, p.lengths[i]!);
  return out;
}

/**
 * Takes deleted turns out of the index (in `deleteBefore`'s transaction): every segment whose
 * seq range holds one is decoded, filtered and written back (or dropped when empty).
 */
export function deletePostings(db: Database.Database, deleted: readonly number[]): void {
  if (deleted.length === 0) return;
  const gone = new Set(deleted);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const seq of deleted) {
    if (seq < min) min = seq;
    if (seq > max) max = seq;
  }
  const rows = db
    .prepare(
      'SELECT id, level, term, docs, postings FROM search_postings WHERE first_seq <= ? AND last_seq >= ?',
    )
    .raw()
    .all(max, min) as Array<[number, number, string, number, Buffer]>;
  const drop = db.prepare('DELETE FROM search_postings WHERE id = ?');
  const insert = db.prepare(
    'INSERT INTO search_postings (level, term, first_seq, last_seq, docs, postings) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const [id, level, term, docs, postings] of rows) {
    const decoded = decodeSegments([postings], docs);
    const keep: number[] = [];
    for (let i = 0; i < docs; i++) if (!gone.has(decoded.seqs[i]!)) keep.push(i);
    if (keep.length === docs) continue;
    drop.run(id);
    if (keep.length === 0) continue;
    const p = encodePostings(decoded, keep);
    insert.run(level, term, p.firstSeq, p.lastSeq, p.docs, p.out.take());
  }
  const dropIrregular = db.prepare('DELETE FROM search_irregular WHERE seq = ?');
  for (const seq of deleted) dropIrregular.run(seq);
}

/** Builds the index from the stored turns (migration), in appends of BUILD_BATCH turns. */
const BUILD_BATCH = 1000;

export function buildPostings(db: Database.Database): void {
  db.exec('DELETE FROM search_postings; DELETE FROM search_levels; DELETE FROM search_irregular;');
  const s = preparePostingsStatements(db);
  const read = db
    .prepare('SELECT seq, user_input, assistant_response FROM turn_texts WHERE seq > ? ORDER BY seq LIMIT ?')
    .raw();
  let after = 0;
  for (;;) {
    const rows = read.all(after, BUILD_BATCH) as Array<[number, string, string]>;
    if (rows.length === 0) return;
    const batch = new PostingsBatch();
    for (const [seq, userInput, assistantResponse] of rows) {
      const { user, response, terms } = searchTerms({ userInput, assistantResponse });
      batch.add(seq, user, response, terms);
    }
    batch.write(s);
    after = rows.at(-1)![0];
  }
}
