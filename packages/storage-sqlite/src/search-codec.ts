/**
 * Byte formats of the search postings (search-postings.ts). A posting is one turn holding a
 * term: its seq, the term's count in it (tf) and its length in tokens.
 *
 * Level 0 (one append's segment of a term), in seq order, varints per posting:
 * `delta * 2 + (tf > 1)`, then `tf - 2` when tf > 1; `delta` from the previous seq (from 0 for
 * the first). The lengths are not repeated in every term's postings: each append stores its
 * turns' lengths once (`search_lengths`, see `RecentLengths`), until level 0 is merged.
 *
 * Levels 1 and up (merged): the postings split into classes by length bucket and tf class,
 * so a search reads only the classes whose best possible score can reach its page
 * (search-rank.ts). Lengths below EXACT_LENGTHS are their own bucket; longer ones fall in
 * buckets of a quarter power of two. tf classes: 1, 2, 3 or more. A class is
 * `bucket * 3 + tfClass`. The segment is a header, then the classes' bodies in header order:
 *   header: class count; per class (ascending): id (delta from the previous id), postings, body
 *           bytes, highest tf (tf class 2 only), last seq
 *   body:   per posting: seq delta (the first absolute), tf (tf class 2 only), length (inexact
 *           buckets only)
 * Merging concatenates each class's bodies (rewriting only each body's first delta), so a
 * merge never decodes a posting.
 */

export const EXACT_LENGTHS = 64;

export function lengthBucket(length: number): number {
  if (length < EXACT_LENGTHS) return length;
  const power = 31 - Math.clz32(length);
  const quarter = Math.floor((length - 2 ** power) / 2 ** (power - 2));
  return EXACT_LENGTHS + (power - 6) * 4 + quarter;
}

/** The shortest length in a bucket. */
export function bucketLow(bucket: number): number {
  if (bucket < EXACT_LENGTHS) return bucket;
  const j = bucket - EXACT_LENGTHS;
  const power = 6 + Math.floor(j / 4);
  return 2 ** power + (j % 4) * 2 ** (power - 2);
}

export const classOf = (tf: number, length: number) => lengthBucket(length) * 3 + (tf >= 3 ? 2 : tf - 1);
export const bucketOfClass = (cls: number) => Math.floor(cls / 3);
const storesTf = (cls: number) => cls % 3 === 2;
const storesLength = (cls: number) => cls >= EXACT_LENGTHS * 3;

/** Growable byte buffer of varints (7 bits a byte, low first). */
export class VarintWriter {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 64) {
    this.bytes = new Uint8Array(capacity);
  }

  push(value: number): void {
    if (this.length + 10 > this.bytes.length) this.#grow(this.length + 10);
    let v = value;
    while (v >= 0x80) {
      this.bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.bytes[this.length++] = v;
  }

  append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.bytes.length) this.#grow(this.length + bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  #grow(need: number): void {
    const grown = new Uint8Array(Math.max(need, this.bytes.length * 4));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** Reads varints from `pos` on. */
export class VarintReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }

  next(): number {
    const b = this.bytes;
    let byte = b[this.pos++]!;
    let v = byte & 0x7f;
    let scale = 0x80;
    while (byte >= 0x80) {
      byte = b[this.pos++]!;
      v += (byte & 0x7f) * scale;
      scale *= 0x80;
    }
    return v;
  }
}

/** Postings decoded: parallel arrays in ascending seq order. */
export interface DecodedPostings {
  seqs: Float64Array;
  tfs: Uint32Array;
  lengths: Uint32Array;
}

/** A level-0 segment being written (postings in ascending seq order). */
export class Level0Writer {
  readonly out = new VarintWriter(256);
  firstSeq = -1;
  lastSeq = 0;
  docs = 0;

  add(seq: number, tf: number): void {
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
  }
}

/**
 * The lengths of the turns appended since level 0 was last merged: one row per append, keyed by
 * its first seq, a width byte (2 or 4) then each seq's length from the first on, little-endian
 * (0 for a turn the index does not hold). A seq is read from the latest row starting at or
 * before it (a seq freed by a delete and taken again belongs to the later append).
 */
export function encodeLengths(lengths: readonly number[]): Buffer {
  const width = lengths.some((n) => n > 0xffff) ? 4 : 2;
  const out = Buffer.alloc(1 + lengths.length * width);
  out[0] = width;
  lengths.forEach((n, i) => {
    if (width === 2) out.writeUInt16LE(n, 1 + i * 2);
    else out.writeUInt32LE(n, 1 + i * 4);
  });
  return out;
}

export class RecentLengths {
  readonly #starts: number[];
  readonly #rows: Buffer[];

  /** `rows`: [first seq, lengths] in ascending first seq. */
  constructor(rows: ReadonlyArray<readonly [number, Buffer]>) {
    this.#starts = rows.map((r) => r[0]);
    this.#rows = rows.map((r) => r[1]);
  }

  of(seq: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= seq) lo = mid;
      else hi = mid - 1;
    }
    const row = this.#rows[lo]!;
    const i = seq - this.#starts[lo]!;
    return row[0] === 2 ? row.readUInt16LE(1 + i * 2) : row.readUInt32LE(1 + i * 4);
  }
}

/** Walks level-0 segments' postings in seq order (the format at the top of this file). */
function forEachLevel0(segments: readonly Uint8Array[], visit: (seq: number, tf: number) => void): void {
  for (const b of segments) {
    const r = new VarintReader(b);
    let seq = 0;
    while (r.pos < b.length) {
      const v = r.next();
      const flag = v % 2;
      seq += (v - flag) / 2;
      visit(seq, flag ? r.next() + 2 : 1);
    }
  }
}

/** Level-0 segments (in ascending seq order, `docs` postings in all) decoded into one list. */
/** (Without `lengthOf`, lengths are left 0.) */
export function decodeLevel0(
  segments: readonly Uint8Array[],
  docs: number,
  lengthOf?: RecentLengths,
): DecodedPostings {
  const seqs = new Float64Array(docs);
  const tfs = new Uint32Array(docs);
  const lengths = new Uint32Array(docs);
  let n = 0;
  forEachLevel0(segments, (seq, tf) => {
    seqs[n] = seq;
    tfs[n] = tf;
    if (lengthOf) lengths[n] = lengthOf.of(seq);
    n++;
  });
  return { seqs, tfs, lengths };
}

/** Adds level-0 segments' postings (in ascending seq order) to a merged segment. */
export function mergeLevel0(
  segments: readonly Uint8Array[],
  lengthOf: RecentLengths,
  into: MergedWriter,
): void {
  forEachLevel0(segments, (seq, tf) => into.add(seq, tf, lengthOf.of(seq)));
}

/** One class of a merged segment being written. */
class ClassWriter {
  readonly out = new VarintWriter();
  docs = 0;
  lastSeq = 0;
  maxTf = 0;
  firstSeq = -1;

  constructor(readonly cls: number) {}

  add(seq: number, tf: number, length: number): void {
    if (this.firstSeq < 0) this.firstSeq = seq;
    this.out.push(seq - this.lastSeq);
    this.lastSeq = seq;
    this.docs++;
    if (tf > this.maxTf) this.maxTf = tf;
    if (storesTf(this.cls)) this.out.push(tf);
    if (storesLength(this.cls)) this.out.push(length);
  }

  /** A body of the same class that follows this one in seq order (its first delta rewritten). */
  appendBody(body: Uint8Array, docs: number, maxTf: number, lastSeq: number): void {
    const r = new VarintReader(body);
    const first = r.next();
    if (this.firstSeq < 0) this.firstSeq = first;
    this.out.push(first - this.lastSeq);
    this.out.append(body.subarray(r.pos));
    this.docs += docs;
    if (maxTf > this.maxTf) this.maxTf = maxTf;
    this.lastSeq = lastSeq;
  }
}

/** A merged segment being written: postings or whole class bodies, then `finish`. */
export class MergedWriter {
  readonly #classes = new Map<number, ClassWriter>();

  #class(cls: number): ClassWriter {
    let c = this.#classes.get(cls);
    if (!c) {
      c = new ClassWriter(cls);
      this.#classes.set(cls, c);
    }
    return c;
  }

  add(seq: number, tf: number, length: number): void {
    this.#class(classOf(tf, length)).add(seq, tf, length);
  }

  appendClass(c: SegmentClass): void {
    this.#class(c.cls).appendBody(c.bytes.subarray(c.start, c.end), c.docs, c.maxTf, c.lastSeq);
  }

  /** The segment, with its seq range and posting count; undefined when empty. */
  finish(): { bytes: Buffer; firstSeq: number; lastSeq: number; docs: number } | undefined {
    const classes = [...this.#classes.values()].filter((c) => c.docs > 0).sort((a, b) => a.cls - b.cls);
    if (classes.length === 0) return undefined;
    const head = new VarintWriter();
    head.push(classes.length);
    let previous = 0;
    let firstSeq = Number.POSITIVE_INFINITY;
    let lastSeq = 0;
    let docs = 0;
    for (const c of classes) {
      head.push(c.cls - previous);
      previous = c.cls;
      head.push(c.docs);
      head.push(c.out.length);
      if (storesTf(c.cls)) head.push(c.maxTf);
      head.push(c.lastSeq);
      firstSeq = Math.min(firstSeq, c.firstSeq);
      lastSeq = Math.max(lastSeq, c.lastSeq);
      docs += c.docs;
    }
    for (const c of classes) head.append(c.out.view());
    const v = head.view();
    return { bytes: Buffer.from(v.buffer, v.byteOffset, v.length), firstSeq, lastSeq, docs };
  }
}

/** One class of a merged segment, as its header tells it (its body is bytes[start, end)). */
export interface SegmentClass {
  cls: number;
  docs: number;
  maxTf: number;
  lastSeq: number;
  bytes: Uint8Array;
  start: number;
  end: number;
}

export function segmentClasses(bytes: Uint8Array): SegmentClass[] {
  const r = new VarintReader(bytes);
  const count = r.next();
  const out: SegmentClass[] = [];
  let cls = 0;
  for (let i = 0; i < count; i++) {
    cls += r.next();
    const docs = r.next();
    const size = r.next();
    const maxTf = storesTf(cls) ? r.next() : (cls % 3) + 1;
    const lastSeq = r.next();
    out.push({ cls, docs, maxTf, lastSeq, bytes, start: size, end: 0 });
  }
  let at = r.pos;
  for (const c of out) {
    const size = c.start;
    c.start = at;
    c.end = at + size;
    at += size;
  }
  return out;
}

/** The postings of one class, over its bodies in several segments (in ascending seq order). */
export function decodeClass(parts: readonly SegmentClass[]): DecodedPostings {
  let docs = 0;
  for (const p of parts) docs += p.docs;
  const seqs = new Float64Array(docs);
  const tfs = new Uint32Array(docs);
  const lengths = new Uint32Array(docs);
  let n = 0;
  for (const p of parts) {
    const withTf = storesTf(p.cls);
    const withLength = storesLength(p.cls);
    const tf = (p.cls % 3) + 1;
    const length = bucketOfClass(p.cls);
    const r = new VarintReader(p.bytes, p.start);
    let seq = 0;
    while (r.pos < p.end) {
      seq += r.next();
      seqs[n] = seq;
      tfs[n] = withTf ? r.next() : tf;
      lengths[n] = withLength ? r.next() : length;
      n++;
    }
  }
  return { seqs, tfs, lengths };
}
