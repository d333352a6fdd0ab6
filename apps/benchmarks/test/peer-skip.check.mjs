// A peer whose native addon fails to load in a callback is skipped with the reason, and the
// other peers still open: `pnpm test:harness`.
import assert from 'node:assert/strict';
import { register } from 'node:module';

register('./broken-sqlite3-hooks.mjs', import.meta.url);
const { openKvPeers, closePeers } = await import('../dist/peers.js');

const { peers, skipped } = await openKvPeers({ memory: false, embedded: true });
await closePeers(peers);
const keyv = skipped.find((s) => s.subject === 'keyv + @keyv/sqlite (WAL)');
assert.ok(keyv, `keyv sqlite not skipped: ${JSON.stringify(skipped)}`);
assert.match(keyv.reason, /Could not locate the bindings file/);
assert.deepEqual(
  peers.map((p) => p.subject),
  ['LangGraph SqliteSaver', 'unstorage fs'],
);
console.log('ok - a peer failing to load in a callback is skipped with its reason; the others run');
