import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConvokitError } from '@convokit/core';
import { fileError } from './fs-util.js';

/**
 * Format written in every file header; a reader refuses files of a newer format. Version 2 added
 * the `contexts.expire` record (a sweep's deletes and their audit events as one record); version 1
 * files hold a subset of version 2's records and are read as they are.
 */
export const FORMAT = 'convokit-file';
export const FORMAT_VERSION = 2;

export type FileKind = 'log' | 'snapshot';

/** First record of every log and snapshot. */
export interface FileHeader {
  type: 'header';
  format: typeof FORMAT;
  version: number;
  kind: FileKind;
  generation: number;
  createdAt: number;
}

/** Last record of every snapshot: a snapshot without it is incomplete. */
export interface SnapshotFooter {
  type: 'footer';
  records: number;
}

/**
 * A store is one generation: `snapshot-<g>.jsonl` (absent for generation 0) plus `log-<g>.jsonl`.
 * Compaction writes generation g+1 and only then removes generation g, so the highest generation
 * with a snapshot is always complete.
 */
export function fileName(kind: FileKind, generation: number): string {
  return `${kind}-${String(generation).padStart(10, '0')}.jsonl`;
}

const NAME = /^(log|snapshot)-(\d{10})\.jsonl$/;

export interface DirectoryListing {
  logs: number[];
  snapshots: number[];
  /** Leftovers of an interrupted compaction (`*.tmp`). */
  temporary: string[];
}

export function listDirectory(directory: string): DirectoryListing {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
    throw fileError(
      reason === 'missing'
        ? 'The storage directory does not exist (create it, or pass createDirectory: true)'
        : 'Cannot read the storage directory',
      directory,
      error,
      { directory, reason },
    );
  }
  const listing: DirectoryListing = { logs: [], snapshots: [], temporary: [] };
  for (const name of names) {
    const match = NAME.exec(name);
    if (match) {
      (match[1] === 'log' ? listing.logs : listing.snapshots).push(Number(match[2]));
    } else if (name.endsWith('.tmp')) {
      listing.temporary.push(name);
    }
  }
  listing.logs.sort((a, b) => a - b);
  listing.snapshots.sort((a, b) => a - b);
  return listing;
}

/** The generation to open: the newest complete snapshot's, or 0 for a store never compacted. */
export function currentGeneration(directory: string, listing: DirectoryListing): number {
  const newestSnapshot = listing.snapshots.at(-1) ?? 0;
  const newestLog = listing.logs.at(-1) ?? 0;
  if (newestLog > newestSnapshot) {
    throw new ConvokitError(
      'STORAGE',
      `The file storage at ${directory} has ${fileName('log', newestLog)} but not ${fileName('snapshot', newestLog)}: the snapshot it continues is missing`,
      { directory, path: join(directory, fileName('log', newestLog)), reason: 'missing-snapshot' },
    );
  }
  return newestSnapshot;
}
