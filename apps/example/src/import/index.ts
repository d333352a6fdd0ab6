import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConvokitError, type TurnInput, TurnInputSchema } from '@convokit/core';
import type { ConversationalDataManager } from '@convokit/data-manager';
import { SingleBar } from 'cli-progress';
import { type ClaudeEntry, ClaudeSessionReader } from './claude-code.js';

export type ImportFormat = 'convokit' | 'claude-code';

export interface ImportOptions {
  dataManager: ConversationalDataManager;
  /** Default: `claude-code` for a folder or a file whose first entry looks like Claude Code's, else `convokit`. */
  format?: ImportFormat;
  /** For Claude Code turns, which carry no user id of their own. */
  userId?: string;
  progress?: boolean;
  /** Bad lines are reported here as `file:line: reason`. */
  warn?: (message: string) => void;
}

export interface ImportSummary {
  format: ImportFormat;
  files: number;
  /** Turns read from the files. */
  turns: number;
  /** Turns written now. */
  imported: number;
  /** Turns already stored by an earlier import (same id). */
  skippedExisting: number;
  badLines: number;
  /** `file:line: reason` for each bad line (at most 100 kept). */
  problems: string[];
}

const BATCH = 500;

/**
 * Imports a file or a folder. Each turn gets a stable id (Claude Code: the prompt entry's uuid;
 * convokit lines without an id: a hash of the line), and turns already stored are skipped, so
 * importing twice adds nothing. Turns are written in atomic batches: never half a turn.
 */
export async function importPath(path: string, options: ImportOptions): Promise<ImportSummary> {
  const files = await listFiles(path);
  const format = options.format ?? (await guessFormat(path, files));
  const summary: ImportSummary = {
    format,
    files: files.length,
    turns: 0,
    imported: 0,
    skippedExisting: 0,
    badLines: 0,
    problems: [],
  };
  const bad = (file: string, line: number, reason: string) => {
    summary.badLines++;
    const message = `${file}:${line}: ${reason}`;
    if (summary.problems.length < 100) summary.problems.push(message);
    options.warn?.(message);
  };
  const bar = options.progress
    ? new SingleBar({
        format: 'import [{bar}] {value}/{total} files, {turns} turns',
        hideCursor: true,
        clearOnComplete: true,
      })
    : null;
  bar?.start(files.length, 0, { turns: 0 });
  let pending: TurnInput[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const result = await options.dataManager.recordTurns(pending, { ifExists: 'skip' });
    summary.imported += result.length;
    summary.skippedExisting += pending.length - result.length;
    pending = [];
  };
  for (const [i, file] of files.entries()) {
    const turns =
      format === 'claude-code'
        ? await readClaudeFile(file, bad, options.userId)
        : await readConvokitFile(file, bad);
    for (const turn of turns) {
      summary.turns++;
      pending.push(turn);
      if (pending.length >= BATCH) await flush();
    }
    bar?.update(i + 1, { turns: summary.turns });
  }
  await flush();
  bar?.stop();
  return summary;
}

async function listFiles(path: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new ConvokitError('NOT_FOUND', `Nothing to import at ${path}`, { path }, { cause });
  }
  if (info.isFile()) return [path];
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.jsonl')) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

async function guessFormat(path: string, files: string[]): Promise<ImportFormat> {
  const first = files[0];
  if (!first) return 'convokit';
  for await (const line of lines(first)) {
    if (line.text.trim() === '') continue;
    try {
      const value = JSON.parse(line.text) as Record<string, unknown>;
      return 'sessionId' in value && ('uuid' in value || 'type' in value) && !('userInput' in value)
        ? 'claude-code'
        : 'convokit';
    } catch {
      return (await stat(path)).isDirectory() ? 'claude-code' : 'convokit';
    }
  }
  return 'convokit';
}

async function* lines(file: string): AsyncGenerator<{ text: string; no: number }> {
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let no = 0;
  for await (const text of rl) yield { text, no: ++no };
}

type Bad = (file: string, line: number, reason: string) => void;

async function readClaudeFile(file: string, bad: Bad, userId?: string): Promise<TurnInput[]> {
  const reader = new ClaudeSessionReader(userId ? { userId } : {});
  for await (const line of lines(file)) {
    if (line.text.trim() === '') continue;
    let entry: ClaudeEntry;
    try {
      entry = JSON.parse(line.text);
    } catch {
      bad(file, line.no, 'not JSON');
      continue;
    }
    if (typeof entry !== 'object' || entry === null) {
      bad(file, line.no, 'not a JSON object');
      continue;
    }
    reader.add(entry);
  }
  const turns: TurnInput[] = [];
  for (const turn of reader.finish()) {
    const parsed = TurnInputSchema.safeParse(turn);
    if (parsed.success) turns.push(turn);
    else bad(file, 0, `turn ${turn.id} is invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  }
  return turns;
}

async function readConvokitFile(file: string, bad: Bad): Promise<TurnInput[]> {
  const turns: TurnInput[] = [];
  for await (const line of lines(file)) {
    if (line.text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch {
      bad(file, line.no, 'not JSON');
      continue;
    }
    const parsed = TurnInputSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      bad(file, line.no, `${issue?.path.join('.') || '(turn)'}: ${issue?.message ?? 'invalid'}`);
      continue;
    }
    const turn = value as TurnInput;
    turns.push(
      turn.id
        ? turn
        : { ...turn, id: `jl-${createHash('sha256').update(line.text).digest('hex').slice(0, 24)}` },
    );
  }
  return turns;
}
