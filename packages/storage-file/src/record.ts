import { crc32 } from 'node:zlib';

/**
 * One record is one line of JSON: `{"c":"<crc32 of BODY, 8 hex>","m":BODY}\n`.
 *
 * The line stays valid JSON (any JSON-lines tool reads it), and the checksum sits at a fixed
 * place, so a reader checks it on the raw bytes of BODY and parses BODY once. A flipped byte in
 * the middle of a file is caught even when the damaged JSON still parses.
 */
const PREFIX = '{"c":"';
const INFIX = '","m":';
/** Bytes before BODY: `{"c":"` + 8 hex + `","m":`. */
export const BODY_OFFSET = PREFIX.length + 8 + INFIX.length;
const NEWLINE = 0x0a;

const PREFIX_BYTES = Buffer.from(PREFIX, 'latin1');
const INFIX_BYTES = Buffer.from(INFIX, 'latin1');

/**
 * Frames a JSON-serialisable value as one record line, newline included. The body is encoded to
 * UTF-8 once, straight into the line's buffer, and the checksum is taken over those bytes.
 */
export function encodeRecord(value: unknown): Buffer {
  const body = JSON.stringify(value);
  const bodyLength = Buffer.byteLength(body, 'utf8');
  const line = Buffer.allocUnsafe(BODY_OFFSET + bodyLength + 2);
  line.write(body, BODY_OFFSET, 'utf8');
  const crc = crc32(line.subarray(BODY_OFFSET, BODY_OFFSET + bodyLength));
  line.write(`${PREFIX}${hex8(crc)}${INFIX}`, 0, 'latin1');
  line[BODY_OFFSET + bodyLength] = 0x7d; // '}'
  line[BODY_OFFSET + bodyLength + 1] = NEWLINE;
  return line;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export type DecodeResult = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Decodes the record in `buf[start, end)` (the line without its newline). Never throws: a bad
 * record is reported with the reason, and the caller decides whether it is a torn tail or
 * corruption.
 */
export function decodeRecord(buf: Buffer, start: number, end: number): DecodeResult {
  const length = end - start;
  if (length < BODY_OFFSET + 2) return { ok: false, reason: 'too short to be a record' };
  if (
    buf.compare(PREFIX_BYTES, 0, PREFIX_BYTES.length, start, start + PREFIX_BYTES.length) !== 0 ||
    buf.compare(INFIX_BYTES, 0, INFIX_BYTES.length, start + 14, start + BODY_OFFSET) !== 0 ||
    buf[end - 1] !== 0x7d // '}'
  ) {
    return { ok: false, reason: 'not a framed record' };
  }
  const expected = Number.parseInt(buf.toString('latin1', start + 6, start + 14), 16);
  const bodyStart = start + BODY_OFFSET;
  const bodyEnd = end - 1;
  if (!Number.isFinite(expected) || crc32(buf.subarray(bodyStart, bodyEnd)) !== expected) {
    return { ok: false, reason: 'checksum mismatch' };
  }
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8', bodyStart, bodyEnd)) };
  } catch (error) {
    return { ok: false, reason: `unparsable JSON (${(error as Error).message})` };
  }
}

/**
 * One complete line `buf[start, end)` (newline excluded) that begins at byte `offset` of the
 * file and is line `lineNumber` (1-based). Return `false` to stop scanning.
 */
export type LineVisitor = (
  buf: Buffer,
  start: number,
  end: number,
  offset: number,
  lineNumber: number,
) => boolean | undefined;

export interface ScanResult {
  /** Bytes of complete lines visited (the offset just after the last newline seen). */
  completeBytes: number;
  /** Complete lines visited. */
  lines: number;
  /** Bytes after the last newline: an incomplete final line, or 0. */
  trailingBytes: number;
  /** Whether the visitor stopped the scan early. */
  stopped: boolean;
}

/** Reads up to `length` bytes from file `position` into `buf` at `offset`; 0 at end of file. */
export type ChunkReader = (buf: Buffer, offset: number, length: number, position: number) => number;

/**
 * Reads a file of lines in chunks (a file may be larger than the largest string V8 allows) and
 * hands each complete line to `visit` as a byte range, so nothing is copied or decoded twice.
 */
export function scanLines(read: ChunkReader, visit: LineVisitor, chunkSize = 8 * 1024 * 1024): ScanResult {
  let buf = Buffer.allocUnsafe(chunkSize);
  let filled = 0; // bytes valid in buf
  let bufOffset = 0; // file offset of buf[0]
  let lineNumber = 0;
  let eof = false;
  while (!eof) {
    if (filled === buf.length) {
      // A single line longer than the buffer: grow it.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const n = read(buf, filled, buf.length - filled, bufOffset + filled);
    if (n === 0) eof = true;
    const scanFrom = filled;
    filled += n;
    const view = buf.subarray(0, filled);
    let lineStart = 0;
    let i = view.indexOf(NEWLINE, scanFrom);
    while (i !== -1) {
      lineNumber++;
      if (visit(buf, lineStart, i, bufOffset + lineStart, lineNumber) === false) {
        return { completeBytes: bufOffset + i + 1, lines: lineNumber, trailingBytes: 0, stopped: true };
      }
      lineStart = i + 1;
      i = view.indexOf(NEWLINE, lineStart);
    }
    if (eof) {
      return {
        completeBytes: bufOffset + lineStart,
        lines: lineNumber,
        trailingBytes: filled - lineStart,
        stopped: false,
      };
    }
    // Keep the incomplete line at the front of the buffer for the next read.
    if (lineStart > 0) {
      buf.copy(buf, 0, lineStart, filled);
      bufOffset += lineStart;
      filled -= lineStart;
    }
  }
  /* c8 ignore next */
  throw new Error('unreachable');
}
