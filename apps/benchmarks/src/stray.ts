/**
 * Errors that escape every try: a promise rejected with nobody awaiting it, or an exception thrown
 * in a callback (a native addon that fails to load when a peer first opens its database, an
 * `'error'` event nobody listens to). Node ends the process on those by default; a benchmark run
 * must instead skip the peer or case that raised them, with the reason, and go on.
 *
 * One process-wide handler sends each such error to the innermost `trapped()` call running, or,
 * outside any, to the fallback the CLI installs (which records it against the current scenario).
 */

type Sink = (error: unknown) => void;

const traps: Sink[] = [];
let fallback: Sink = (error) => {
  console.error('stray error outside any scenario:', error);
};
let installed = false;

function dispatch(error: unknown): void {
  const sink = traps[traps.length - 1] ?? fallback;
  sink(error);
}

/** Installs the process-wide handlers (once) and sets where errors outside any trap go. */
export function handleStrayErrors(sink: Sink): void {
  fallback = sink;
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', dispatch);
  process.on('uncaughtException', dispatch);
}

/**
 * Runs `work`; a stray error raised while it runs, or within `settleMs` after it resolves (late
 * callbacks of its setup), rejects the returned promise instead of ending the process. What
 * `work` made is then handed to `discard` (to close it), even if it finishes after the error.
 */
export async function trapped<T>(
  work: () => Promise<T>,
  options: { settleMs?: number; discard?: (made: T) => unknown } = {},
): Promise<T> {
  handleStrayErrors(fallback);
  let stray: { error: unknown } | undefined;
  let fail: Sink = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const sink: Sink = (error) => {
    stray ??= { error };
    fail(error);
  };
  traps.push(sink);
  const running = Promise.resolve().then(work);
  const discard = (made: T) => void Promise.resolve(options.discard?.(made)).catch(() => {});
  let settled = false;
  // If a stray error wins the race, what `running` makes later is discarded and its own
  // rejection handled here, so neither strays in turn.
  running.then(
    (made) => {
      if (stray && !settled) discard(made);
    },
    () => {},
  );
  try {
    const result = await Promise.race([running, failed]);
    settled = true;
    await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 20));
    if (stray) {
      discard(result);
      throw stray.error;
    }
    return result;
  } finally {
    traps.splice(traps.lastIndexOf(sink), 1);
  }
}

/** The first line of an error's message, for a skip reason. */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
