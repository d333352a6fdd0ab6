import { it } from 'vitest';
import { alice, setup } from './helpers.js';

it('prof', async () => {
  const s = await setup();
  const h = s.manager.as(alice);
  const data: Record<string, unknown> = {};
  for (let i = 0; i < 20; i++) data[`field${i}`] = { name: `value-${i}`, n: i, tags: ['a', 'b'] };
  console.log('bytes', JSON.stringify(data).length);
  await h.create('session', data as never, { id: 'x' });
  for (const round of [1, 2]) {
    let t = performance.now();
    const N = 20000;
    for (let i = 0; i < N; i++) await h.get('x');
    console.log(round, 'get/s', Math.round(N / ((performance.now() - t) / 1000)));
    t = performance.now();
    for (let i = 0; i < N; i++) await h.update('x', { field3: { n: i } });
    console.log(round, 'update/s', Math.round(N / ((performance.now() - t) / 1000)));
    t = performance.now();
    for (let i = 0; i < N; i++) await h.create('session', data as never);
    console.log(round, 'create/s', Math.round(N / ((performance.now() - t) / 1000)));
  }
  await s.close();
});
