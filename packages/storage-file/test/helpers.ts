import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@convokit/core';
import { afterEach } from 'vitest';

const made: string[] = [];

/** A fresh empty directory, removed after the test. */
export function tempDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'convokit-file-'));
  made.push(directory);
  return directory;
}

afterEach(() => {
  for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
});

export interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

/** A stand-in for a pino logger that keeps what was logged. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (bound: Record<string, unknown>): unknown => {
    const at =
      (level: string) =>
      (fields: Record<string, unknown>, message: string): void => {
        lines.push({ level, fields: { ...bound, ...fields }, message });
      };
    return {
      child: (more: Record<string, unknown>) => make({ ...bound, ...more }),
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      fatal: at('fatal'),
    };
  };
  return { logger: make({}) as Logger, lines };
}
