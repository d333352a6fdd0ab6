// Checks of the harness's stray-error trap: `pnpm test:harness`. A plain script, not node:test,
// because the test runner installs its own uncaughtException handler and fails a test on any
// stray error, which is exactly what these checks raise on purpose.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { handleStrayErrors, trapped } from '../dist/stray.js';

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (error) {
    failed++;
    console.log(`not ok - ${name}\n${error.stack}`);
  }
}

await check('returns what the work made when nothing strays', async () => {
  assert.equal(await trapped(async () => 42), 42);
});

await check(
  'an exception thrown in a callback during setup rejects instead of ending the process',
  async () => {
    const discarded = [];
    const made = { name: 'peer' };
    await assert.rejects(
      trapped(
        async () => {
          setTimeout(() => {
            throw new Error('Could not locate the bindings file. Tried:\n  build/node_sqlite3.node');
          }, 1);
          return made;
        },
        { discard: (peer) => discarded.push(peer) },
      ),
      /Could not locate the bindings file/,
    );
    assert.deepEqual(discarded, [made]);
  },
);

await check('an unawaited rejection and an unheard error event are trapped too', async () => {
  await assert.rejects(
    trapped(async () => {
      Promise.reject(new Error('lazy load failed'));
      await new Promise((r) => setTimeout(r, 5));
      return 1;
    }),
    /lazy load failed/,
  );
  await assert.rejects(
    trapped(async () => {
      const emitter = new EventEmitter();
      setImmediate(() => emitter.emit('error', new Error('no listener')));
      return emitter;
    }),
    /no listener/,
  );
});

await check('the work failing on its own is a plain rejection', async () => {
  await assert.rejects(
    trapped(async () => {
      throw new Error('plain');
    }),
    /plain/,
  );
});

await check(
  'outside any trap, stray errors go to the fallback and the handlers are installed once',
  async () => {
    const seen = [];
    handleStrayErrors((error) => seen.push(error.message));
    const before = process.listenerCount('uncaughtException');
    await trapped(async () => 1);
    handleStrayErrors((error) => seen.push(`second: ${error.message}`));
    assert.equal(process.listenerCount('uncaughtException'), before);
    setTimeout(() => {
      throw new Error('between scenarios');
    }, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['second: between scenarios']);
  },
);

if (failed) process.exit(1);
