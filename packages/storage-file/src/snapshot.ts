import { closeSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { MemoryMutation } from '@convokit/storage-memory';
import {
  type FileHeader,
  type FileKind,
  FORMAT,
  FORMAT_VERSION,
  fileName,
  type SnapshotFooter,
} from './files.js';
import { fileError, fsyncDirectory, syncData, writeAllSync } from './fs-util.js';
import { encodeRecord } from './record.js';

/**
 * Turns or audit events per snapshot line. A line is decoded to one string before parsing; at
 * 500 benchmark turns (190 KB) each string went to V8's large-object space, which made decoding
 * a snapshot cost as much per byte as parsing it (150 ms of CPU for 38 MB); at 100 (38 KB) the
 * strings are ordinary young objects. Readers take lines of any size.
 */
const ITEMS_PER_LINE = 100;
/** Bytes gathered before one write call. */
const WRITE_CHUNK = 4 * 1024 * 1024;

export interface WrittenFile {
  path: string;
  bytes: number;
  records: number;
}

export function header(kind: FileKind, generation: number, now: number): FileHeader {
  return { type: 'header', format: FORMAT, version: FORMAT_VERSION, kind, generation, createdAt: now };
}

/**
 * Writes a file under a temporary name, fsyncs it, renames it into place and fsyncs the
 * directory: a reader sees the whole file or none of it.
 */
function writeAtomically(
  directory: string,
  name: string,
  lines: Iterable<Buffer>,
): { path: string; bytes: number } {
  const path = join(directory, name);
  const temporary = `${path}.tmp`;
  let fd: number | undefined;
  let bytes = 0;
  try {
    fd = openSync(temporary, 'w');
    let pending: Buffer[] = [];
    let pendingLength = 0;
    const flush = () => {
      if (pending.length === 0) return;
      writeAllSync(fd as number, Buffer.concat(pending, pendingLength), bytes);
      bytes += pendingLength;
      pending = [];
      pendingLength = 0;
    };
    for (const line of lines) {
      pending.push(line);
      pendingLength += line.length;
      if (pendingLength >= WRITE_CHUNK) flush();
    }
    flush();
    syncData(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
    fsyncDirectory(directory);
    return { path, bytes };
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing
      }
    }
    try {
      unlinkSync(temporary);
    } catch {
      // never created, or already renamed
    }
    throw fileError(`Cannot write ${name}`, path, error);
  }
}

/** Writes `snapshot-<generation>.jsonl` holding `mutations`, between a header and a counting footer. */
export function writeSnapshot(
  directory: string,
  generation: number,
  mutations: Iterable<MemoryMutation>,
  now: number,
): WrittenFile {
  let records = 0;
  function* lines(): Generator<Buffer> {
    yield encodeRecord(header('snapshot', generation, now));
    for (const mutation of splitLarge(mutations)) {
      records++;
      yield encodeRecord(mutation);
    }
    const footer: SnapshotFooter = { type: 'footer', records };
    yield encodeRecord(footer);
  }
  const written = writeAtomically(directory, fileName('snapshot', generation), lines());
  return { ...written, records };
}

/** Creates an empty `log-<generation>.jsonl` (just its header), atomically. */
export function createLog(directory: string, generation: number, now: number): WrittenFile {
  const written = writeAtomically(directory, fileName('log', generation), [
    encodeRecord(header('log', generation, now)),
  ]);
  return { ...written, records: 0 };
}

function* splitLarge(mutations: Iterable<MemoryMutation>): Generator<MemoryMutation> {
  for (const mutation of mutations) {
    if (mutation.type === 'turns.append' && mutation.turns.length > ITEMS_PER_LINE) {
      for (let i = 0; i < mutation.turns.length; i += ITEMS_PER_LINE) {
        yield { type: 'turns.append', turns: mutation.turns.slice(i, i + ITEMS_PER_LINE) };
      }
    } else if (mutation.type === 'audit.append' && mutation.events.length > ITEMS_PER_LINE) {
      for (let i = 0; i < mutation.events.length; i += ITEMS_PER_LINE) {
        yield { type: 'audit.append', events: mutation.events.slice(i, i + ITEMS_PER_LINE) };
      }
    } else {
      yield mutation;
    }
  }
}
