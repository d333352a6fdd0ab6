import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { CHILD_BUILD_DIR } from './global-setup.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'writer-child.mjs');

export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

export interface Writer {
  child: ChildProcess;
  messages: ChildMessage[];
  /** Resolves with the first message of `type` (or rejects if the child exits first). */
  next(type: string): Promise<ChildMessage>;
  exited: Promise<number | null>;
  send(message: unknown): void;
  kill(): Promise<void>;
}

const running: ChildProcess[] = [];

afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL');
});

/** Runs test/fixtures/writer-child.mjs against the plain-JavaScript build of this package. */
export function forkWriter(mode: string, directory: string, ...args: string[]): Writer {
  const child = fork(SCRIPT, [CHILD_BUILD_DIR, mode, directory, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  running.push(child);
  const messages: ChildMessage[] = [];
  const waiters: { type: string; resolve: (m: ChildMessage) => void }[] = [];
  child.on('message', (message: ChildMessage) => {
    messages.push(message);
    for (const waiter of waiters.filter((w) => w.type === message.type)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // 'exit' can come before the channel's last messages are read; 'disconnect' comes after them.
  const drained = new Promise<void>((resolve) => child.once('disconnect', () => resolve()));
  return {
    child,
    messages,
    exited,
    next(type) {
      const seen = messages.find((m) => m.type === type);
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<ChildMessage>((resolve) => waiters.push({ type, resolve })),
        exited.then((code) => {
          throw new Error(`writer child exited (${code}) before sending ${type}`);
        }),
      ]);
    },
    send(message) {
      child.send(message as object);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all([exited, drained]);
    },
  };
}
