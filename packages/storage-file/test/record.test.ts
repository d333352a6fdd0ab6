import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BODY_OFFSET, decodeRecord, encodeRecord, scanLines } from '../src/record.js';

function decodeLine(line: string | Buffer) {
  if (typeof line !== 'string') line = line.toString('utf8');
  const buf = Buffer.from(line.replace(/\n$/, ''), 'utf8');
  return decodeRecord(buf, 0, buf.length);
}

describe('record framing', () => {
  it('writes valid JSON with the crc32 of the body at a fixed place', () => {
    const line = encodeRecord({ type: 'contexts.delete', ids: ['a'] }).toString('utf8');
    const body = '{"type":"contexts.delete","ids":["a"]}';
    expect(line).toBe(`{"c":"${crc32(body).toString(16).padStart(8, '0')}","m":${body}}\n`);
    expect(JSON.parse(line)).toEqual({ c: crc32(body).toString(16).padStart(8, '0'), m: JSON.parse(body) });
    expect(line.indexOf(body)).toBe(BODY_OFFSET);
  });

  it('round-trips any JSON value, including non-ASCII text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const decoded = decodeLine(encodeRecord(value));
        expect(decoded.ok).toBe(true);
        if (decoded.ok) expect(decoded.value).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('catches a changed byte even when the JSON still parses', () => {
    const line = encodeRecord({ type: 'turns.deleteBefore', before: 1234 }).toString('utf8');
    const damaged = line.replace('1234', '1235');
    expect(() => JSON.parse(damaged)).not.toThrow();
    expect(decodeLine(damaged)).toEqual({ ok: false, reason: 'checksum mismatch' });
  });

  it('tells a cut-off line and garbage from a record', () => {
    const line = encodeRecord({ type: 'turns.deleteBefore', before: 1 }).toString('utf8').trimEnd();
    expect(decodeLine(line.slice(0, -3))).toMatchObject({ ok: false });
    expect(decodeLine('\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0')).toEqual({
      ok: false,
      reason: 'not a framed record',
    });
    expect(decodeLine('{}')).toEqual({ ok: false, reason: 'too short to be a record' });
  });

  it('flags any single flipped byte', () => {
    const line = encodeRecord({ type: 'contexts.delete', ids: ['alpha', 'beta', 'gamma'] })
      .toString('utf8')
      .trimEnd();
    fc.assert(
      fc.property(fc.nat(line.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const buf = Buffer.from(line, 'latin1');
        buf[at] = (buf[at] as number) ^ xor;
        expect(decodeRecord(buf, 0, buf.length).ok).toBe(false);
      }),
    );
  });
});

describe('scanLines', () => {
  function scan(text: string, chunkSize: number) {
    const file = Buffer.from(text, 'utf8');
    const lines: { text: string; offset: number; line: number }[] = [];
    const result = scanLines(
      (buf, offset, length, position) => {
        const n = Math.max(0, Math.min(length, file.length - position));
        file.copy(buf, offset, position, position + n);
        return n;
      },
      (buf, start, end, offset, line) => {
        lines.push({ text: buf.toString('utf8', start, end), offset, line });
        return undefined;
      },
      chunkSize,
    );
    return { lines, result };
  }

  it('gives each complete line with its offset and number, and the incomplete tail apart', () => {
    const { lines, result } = scan('ab\n\ncdef\ngh', 4);
    expect(lines).toEqual([
      { text: 'ab', offset: 0, line: 1 },
      { text: '', offset: 3, line: 2 },
      { text: 'cdef', offset: 4, line: 3 },
    ]);
    expect(result).toEqual({ completeBytes: 9, lines: 3, trailingBytes: 2, stopped: false });
  });

  it('splits the same way whatever the chunk size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 20 }).map((s) => s.replace(/\n/g, ''))),
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        (parts, tail, chunk) => {
          const text = parts.map((p) => `${p}\n`).join('') + (tail ? 'x' : '');
          const { lines, result } = scan(text, chunk);
          expect(lines.map((l) => l.text)).toEqual(parts);
          expect(result.trailingBytes).toBe(tail ? 1 : 0);
          expect(result.completeBytes).toBe(Buffer.byteLength(text) - (tail ? 1 : 0));
        },
      ),
    );
  });
});
