import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConvokitError } from '@convokit/core';
import type { MemoryMutation } from '@convokit/storage-memory';
import { type FileHeader, type FileKind, FORMAT, FORMAT_VERSION, type SnapshotFooter } from './files.js';
import { fileError } from './fs-util.js';
import { decodeRecord, scanLines } from './record.js';

/**
 * How bad records are treated:
 * - `snapshot`: none allowed (snapshots are renamed into place whole, so damage is corruption);
 * - `log`: a bad or incomplete final line is a torn tail (reported, not applied); a bad line
 *   anywhere else throws `STORAGE` naming the file and line;
 * - `salvage`: reading stops at the first bad line, which is reported instead of thrown.
 */
export type ReadMode = 'snapshot' | 'log' | 'salvage';

/** A record that could not be used, located in its file. */
export interface BadRecord {
  /** 1-based line number (the header is line 1). */
  line: number;
  /** Byte offset where the line starts. */
  offset: number;
  reason: string;
}

export interface ReadOutcome {
  header: FileHeader;
  /** Mutation records applied (header and footer not counted). */
  records: number;
  /** Bytes up to and including the last good record. */
  goodBytes: number;
  fileBytes: number;
  /** The dropped final record, in `log` and `salvage` modes. */
  torn?: BadRecord & { bytes: number };
  /** The first bad record before the end, in `salvage` mode. */
  corrupt?: BadRecord;
}

const MUTATION_TYPES = new Set<string>([
  'turns.append',
  'turns.deleteBefore',
  'contexts.put',
  'contexts.delete',
  'contexts.expire',
  'audit.append',
]);

/**
 * Reads one log or snapshot, handing each mutation to `apply` in order. `apply` may be a no-op
 * (salvage, verification). Throws `STORAGE` naming the file and line for damage it must not skip.
 */
export function readRecords(
  path: string,
  kind: FileKind,
  generation: number,
  mode: ReadMode,
  apply: (mutation: MemoryMutation) => void,
): ReadOutcome {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw fileError(`Cannot open the ${kind}`, path, error);
  }
  try {
    const fileBytes = fstatSync(fd).size;
    let header: FileHeader | undefined;
    let footer: SnapshotFooter | undefined;
    let records = 0;
    let bad: BadRecord | undefined;
    let lastGoodEnd = 0;
    const scan = scanLines(
      (buf, offset, length, position) => readSync(fd, buf, offset, length, position),
      (buf, start, end, offset, line) => {
        if (bad) return false; // a line after a bad one: the bad one was not the tail
        const decoded = decodeRecord(buf, start, end);
        if (!decoded.ok) {
          bad = { line, offset, reason: decoded.reason };
          return undefined;
        }
        const value = decoded.value as { type?: unknown };
        if (line === 1) {
          header = checkHeader(path, kind, generation, value);
        } else if (footer) {
          bad = { line, offset, reason: 'record after the snapshot footer' };
          return undefined;
        } else if (kind === 'snapshot' && value.type === 'footer') {
          footer = value as SnapshotFooter;
        } else if (typeof value.type === 'string' && MUTATION_TYPES.has(value.type)) {
          try {
            apply(value as MemoryMutation);
          } catch (error) {
            throw corruptError(
              path,
              { line, offset, reason: `cannot be replayed (${(error as Error).message})` },
              kind,
            );
          }
          records++;
        } else {
          bad = { line, offset, reason: `unknown record type ${JSON.stringify(value.type)}` };
          return undefined;
        }
        lastGoodEnd = offset + (end - start) + 1;
        return undefined;
      },
    );
    if (!header) {
      throw new ConvokitError(
        'STORAGE',
        `${path} has no valid header: it is not a convokit ${kind} or its first line is damaged`,
        { path, line: 1, reason: bad?.reason ?? 'empty file' },
      );
    }
    const found = bad as BadRecord | undefined;
    const outcome: ReadOutcome = { header, records, goodBytes: lastGoodEnd, fileBytes };
    if (kind === 'snapshot') {
      if (found) throw corruptError(path, found, kind);
      if (scan.trailingBytes > 0) {
        throw corruptError(
          path,
          { line: scan.lines + 1, offset: scan.completeBytes, reason: 'incomplete line' },
          kind,
        );
      }
      if (!footer || footer.records !== records) {
        throw new ConvokitError(
          'STORAGE',
          `The snapshot ${path} is incomplete: ${footer ? `its footer counts ${footer.records} records, found ${records}` : 'it has no footer'}`,
          { path, reason: 'incomplete-snapshot' },
        );
      }
      return outcome;
    }
    if (found) {
      const isTail = !scan.stopped && scan.trailingBytes === 0;
      if (isTail) {
        outcome.torn = { ...found, bytes: fileBytes - found.offset };
      } else if (mode === 'salvage') {
        outcome.corrupt = found;
      } else {
        throw corruptError(path, found, kind);
      }
    } else if (scan.trailingBytes > 0) {
      outcome.torn = {
        line: scan.lines + 1,
        offset: scan.completeBytes,
        bytes: scan.trailingBytes,
        reason: 'incomplete final line (no newline)',
      };
    }
    return outcome;
  } catch (error) {
    throw fileError(`Cannot read the ${kind}`, path, error);
  } finally {
    closeSync(fd);
  }
}

function checkHeader(path: string, kind: FileKind, generation: number, value: unknown): FileHeader {
  const header = value as Partial<FileHeader>;
  if (header.type !== 'header' || header.format !== FORMAT || header.kind !== kind) {
    throw new ConvokitError('STORAGE', `${path} is not a convokit ${kind} (unexpected header)`, {
      path,
      line: 1,
      reason: 'bad-header',
    });
  }
  if (typeof header.version !== 'number' || header.version > FORMAT_VERSION) {
    throw new ConvokitError(
      'STORAGE',
      `${path} has format version ${String(header.version)}; this version of @convokit/storage-file reads up to ${FORMAT_VERSION}`,
      { path, line: 1, reason: 'unsupported-version', version: header.version },
    );
  }
  if (header.generation !== generation) {
    throw new ConvokitError(
      'STORAGE',
      `${path} says it is generation ${String(header.generation)}, its name says ${generation}`,
      { path, line: 1, reason: 'generation-mismatch' },
    );
  }
  return header as FileHeader;
}

export function corruptError(path: string, bad: BadRecord, kind: FileKind): ConvokitError {
  const salvage =
    kind === 'log'
      ? " Records before it are intact: open with recover: 'truncate-after-corruption' (or call salvageLog) to keep them and move the rest aside."
      : ' A snapshot is written whole and renamed into place, so this is damage to the file itself; restore it from a backup.';
  return new ConvokitError(
    'STORAGE',
    `Corrupt record in ${path} at line ${bad.line} (byte ${bad.offset}): ${bad.reason}.${salvage}`,
    { path, line: bad.line, offset: bad.offset, reason: bad.reason, kind },
  );
}
