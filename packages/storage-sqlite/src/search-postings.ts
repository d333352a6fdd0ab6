import type Database from 'better-sqlite3';
import {
  type DecodedPostings,
  decodeClass,
  decodeLevel0,
  encodeLengths,
  Level0Writer,
  MergedWriter,
  mergeLevel0,
  RecentLengths,
  segmentClasses,
} from './search-codec.js';
import { searchTerms } from './search-terms.js';

/**
 * A postings index beside FTS5 (`search_postings`): for each term, the turns holding it with the
 * two numbers FTS5's bm25 reads per match, the term's count in the turn (tf) and the turn's
 * length in tokens, so a search scores its matches in JavaScript without FTS5's per-match
 * docsize lookup, and reads only the matches that can reach its page (search-rank.ts).
 *
 * Only turns whose terms are all ASCII are indexed here. For those, core `tokenize` and FTS5's
 * `unicode61` agree token for token (an ASCII letter/digit run is one unicode61 token, folded to
 * itself), so counts and lengths are FTS5's own. Any other turn is listed in `search_irregular`
 * and scored by FTS5 itself at query time.
 *
 * A segment is one row: a term's postings over a seq range (formats in search-codec.ts). Each
 * append writes one level-0 segment per term of its batch; when a level has received
 * SEGMENTS_PER_LEVEL generations of segments, each term's segments of that level are merged into
 * one segment of the next level. A term is thus a few segments per level, read in one indexed
 * range each.
 */

export const SEGMENTS_PER_LEVEL = 16;
/** Levels a term is read from (16^10 generations: far beyond any store). */
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
CREATE TABLE IF NOT EXISTS search_lengths (first_seq INTEGER PRIMARY KEY, lengths BLOB NOT NULL);
`;

/** Turns whose terms hold a non-ASCII character: unicode61 may split or fold them unlike core. */
const NON_ASCII = /[^\0-\x7f]/;

/** One term's level-0 segment within a batch, counted turn by turn (seqs ascend within a batch). */
class TermPostings extends Level0Writer {
  /** The turn being counted (its tf grows until the next turn's token comes). */
  #seq = -1;
  #tf = 0;

  /** One more occurrence of the term in turn `seq`. */
  count(seq: number): void {
    if (seq === this.#seq) {
      this.#tf++;
      return;
    }
    this.end();
    this.#seq = seq;
    this.#tf = 1;
  }

  /** Writes the counted turn's posting. */
  end(): void {
    if (this.#tf === 0) return;
    this.add(this.#seq, this.#tf);
    this.#tf = 0;
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
  dropStaleLengths: Database.Statement;
  insertLengths: Database.Statement;
  recentLengths: Database.Statement;
  clearLengths: Database.Statement;
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
    dropStaleLengths: db.prepare('DELETE FROM search_lengths WHERE first_seq >= ?'),
    insertLengths: db.prepare('INSERT INTO search_lengths (first_seq, lengths) VALUES (?, ?)'),
    recentLengths: db.prepare('SELECT first_seq, lengths FROM search_lengths ORDER BY first_seq').raw(),
    clearLengths: db.prepare('DELETE FROM search_lengths'),
  };
}

/**
 * The postings of one append: `add` each stored turn (ascending seqs) with its core tokens, then
 * `write` in the append's transaction.
 */
export class PostingsBatch {
  readonly #terms = new Map<string, TermPostings>();
  readonly #irregular: number[] = [];
  /** Each turn's length, from the first seq on (0 for irregular turns). */
  readonly #lengths: number[] = [];
  #firstSeq = -1;

  /** `terms` is what the FTS row holds (the tokens joined by spaces), to tell an irregular turn at once. */
  add(seq: number, userTokens: readonly string[], responseTokens: readonly string[], terms: string): void {
    if (this.#firstSeq < 0) this.#firstSeq = seq;
    while (this.#firstSeq + this.#lengths.length < seq) this.#lengths.push(0);
    if (NON_ASCII.test(terms)) {
      this.#irregular.push(seq);
      this.#lengths.push(0);
      return;
    }
    this.#lengths.push(userTokens.length + responseTokens.length);
    for (const t of userTokens) this.#posting(t).count(seq);
    for (const t of responseTokens) this.#posting(t).count(seq);
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
    // A new seq is above every stored turn's, so a lengths row from this first seq on can only
    // describe deleted turns (deleteBefore freed the top seqs, which SQLite then hands out again);
    // left there, it would shadow this batch's row for the seqs past its start.
    s.dropStaleLengths.run(this.#firstSeq);
    s.insertLengths.run(this.#firstSeq, encodeLengths(this.#lengths));
    for (const [term, p] of this.#terms) {
      p.end();
      const v = p.out.view();
      s.insert.run(0, term, p.firstSeq, p.lastSeq, p.docs, Buffer.from(v.buffer, v.byteOffset, v.length));
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

/**
 * Each term's segments of `level`, merged into one segment of `level + 1`: level-0 postings are
 * sorted into classes; merged segments are concatenated class by class.
 */
function mergeLevel(s: PostingsStatements, level: number): void {
  const rows = s.levelRows.all(level) as Array<[string, number, number, number, Buffer]>;
  s.clearLevel.run(level);
  let lengths: RecentLengths | undefined;
  let i = 0;
  while (i < rows.length) {
    const term = rows[i]![0];
    let j = i + 1;
    while (j < rows.length && rows[j]![0] === term) j++;
    const merged = new MergedWriter();
    if (level === 0) {
      lengths ??= new RecentLengths(s.recentLengths.all() as Array<[number, Buffer]>);
      mergeLevel0(
        rows.slice(i, j).map((r) => r[4]),
        lengths,
        merged,
      );
    } else {
      for (let k = i; k < j; k++) for (const c of segmentClasses(rows[k]![4])) merged.appendClass(c);
    }
    const out = merged.finish()!;
    s.insert.run(level + 1, term, out.firstSeq, out.lastSeq, out.docs, out.bytes);
    i = j;
  }
  // Level 0 is empty now: the lengths of its appends live in the merged classes.
  if (level === 0) s.clearLengths.run();
}

function addAll(merged: MergedWriter, p: DecodedPostings, keep?: (seq: number) => boolean): void {
  for (let k = 0; k < p.seqs.length; k++) {
    if (!keep || keep(p.seqs[k]!)) merged.add(p.seqs[k]!, p.tfs[k]!, p.lengths[k]!);
  }
}

/**
 * Takes deleted turns out of the index (in `deleteBefore`'s transaction): every segment whose
 * seq range holds one is decoded, filtered and written back (or dropped when empty).
 */
export function deletePostings(db: Database.Database, deleted: readonly number[]): void {
  if (deleted.length === 0) return;
  const gone = new Set(deleted);
  const keep = (seq: number) => !gone.has(seq);
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
    let out: { bytes: Buffer; firstSeq: number; lastSeq: number; docs: number } | undefined;
    if (level === 0) {
      const decoded = decodeLevel0([postings], docs);
      const w = new Level0Writer();
      for (let k = 0; k < docs; k++) if (keep(decoded.seqs[k]!)) w.add(decoded.seqs[k]!, decoded.tfs[k]!);
      const v = w.out.view();
      out =
        w.docs === 0
          ? undefined
          : {
              bytes: Buffer.from(v.buffer, v.byteOffset, v.length),
              firstSeq: w.firstSeq,
              lastSeq: w.lastSeq,
              docs: w.docs,
            };
    } else {
      const merged = new MergedWriter();
      for (const c of segmentClasses(postings)) addAll(merged, decodeClass([c]), keep);
      out = merged.finish();
    }
    if (out?.docs === docs) continue;
    drop.run(id);
    if (out) insert.run(level, term, out.firstSeq, out.lastSeq, out.docs, out.bytes);
  }
  const dropIrregular = db.prepare('DELETE FROM search_irregular WHERE seq = ?');
  for (const seq of deleted) dropIrregular.run(seq);
}

/** Builds the index from the stored turns (migration), in appends of BUILD_BATCH turns. */
const BUILD_BATCH = 1000;

export function buildPostings(db: Database.Database): void {
  db.exec(
    'DELETE FROM search_postings; DELETE FROM search_levels; DELETE FROM search_irregular; DELETE FROM search_lengths;',
  );
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
