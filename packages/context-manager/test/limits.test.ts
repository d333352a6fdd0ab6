import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/index.js';
import { JsonMeter } from '../src/json.js';
import { serializedBytes } from '../src/limits.js';
import { alice, availableBackends, bob, rejection, removeTempDirs, root, setup } from './helpers.js';

afterAll(removeTempDirs);

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < depth; i++) v = { n: v };
  return v;
}

describe('serializedBytes', () => {
  it('counts UTF-8 bytes of the JSON of data and metadata', () => {
    expect(serializedBytes({ a: 'x' }, {})).toBe('{"a":"x"}'.length + 2);
    expect(serializedBytes({ a: 'é€😀' }, { m: 1 })).toBe(6 + 2 + 3 + 4 + 2 + '{"m":1}'.length);
  });

  it('the measuring walk equals Buffer.byteLength(JSON.stringify(v)) and the true depth', () => {
    const depthOf = (v: unknown): number =>
      typeof v !== 'object' || v === null ? 0 : 1 + Math.max(0, ...Object.values(v).map(depthOf));
    const strings = fc.oneof(
      // any UTF-16 code units, lone surrogates included
      fc
        .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 })
        .map((units) => String.fromCharCode(...units)),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 3, depthSize: 'small' }),
          fc.array(fc.double({ noNaN: true, noDefaultInfinity: true })),
        ),
        fc.dictionary(strings, strings, { maxKeys: 6 }),
        (v, extra) => {
          for (const value of [v, extra, { v, extra }]) {
            const meter = new JsonMeter('test');
            const exact = Buffer.byteLength(JSON.stringify(value), 'utf8');
            expect(meter.bytes(value)).toBe(exact);
            expect(meter.depth).toBe(depthOf(value));
            // The bound the limit check starts from: never below the exact size, same depth.
            const bound = new JsonMeter('test', '', true);
            expect(bound.bytes(value)).toBeGreaterThanOrEqual(exact);
            expect(bound.depth).toBe(depthOf(value));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('names the path of a value that is not JSON', () => {
    const bad = (v: unknown) => {
      try {
        new JsonMeter('where', 'data').bytes(v);
        return 'accepted';
      } catch (e) {
        return (e as { details: { issues: Array<{ path: string }> } }).details.issues[0]!.path;
      }
    };
    expect(bad({ a: [1, { b: Number.POSITIVE_INFINITY }] })).toBe('data.a.1.b');
    expect(bad({ a: new Map() })).toBe('data.a');
    expect(bad({ f: () => 1 })).toBe('data.f');
    expect(bad({ u: undefined })).toBe('data.u');
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(bad({ h: [1, , 3] })).toBe('data.h.1');
  });
});

describe.each(availableBackends())('limits on $name', (backend) => {
  it('defaults: 256 KiB, depth 32, no per-owner cap, 32 ancestors', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxBytes: 262_144,
      maxDepth: 32,
      maxContextsPerOwner: null,
      maxAncestors: 32,
    });
  });

  it('maxBytes: a create or update past the limit is LIMIT and writes nothing', async () => {
    const s = await setup(backend, { limits: { maxBytes: 100 } });
    try {
      const h = s.manager.as(alice);
      // {"s":"…"} is 8 bytes plus the string; metadata {} is 2
      const exactly = await h.create('session', { s: 'x'.repeat(90) }, { id: 'fits' });
      expect(exactly.version).toBe(1);
      const over = await rejection(h.create('session', { s: 'x'.repeat(91) }, { id: 'big' }));
      expect(over).toMatchObject({ code: 'LIMIT', details: { limit: 'maxBytes', max: 100, actual: 101 } });
      expect(await h.get('big')).toBeUndefined();
      // metadata counts too
      expect(
        (await rejection(h.create('session', { s: 'x'.repeat(80) }, { metadata: { m: 'y'.repeat(10) } })))
          .code,
      ).toBe('LIMIT');
      // exactly at the limit with characters JSON escapes: a bound (6 bytes each) would be over
      await h.create('session', { s: '\u0001'.repeat(15) }, { id: 'escaped' }); // 8 + 90 + 2 = 100
      expect(await rejection(h.create('session', { s: `${'\u0001'.repeat(15)}x` }))).toMatchObject({
        code: 'LIMIT',
        details: { actual: 101 },
      });
      // an update that would grow past the limit
      const grow = await rejection(h.update('fits', { more: 1 }));
      expect(grow).toMatchObject({ code: 'LIMIT', details: { limit: 'maxBytes' } });
      expect(await h.get('fits')).toMatchObject({ version: 1, data: { s: 'x'.repeat(90) } });
      // nothing but the two creates was audited
      expect((await s.manager.audit()).items.map((e) => e.action)).toEqual(['create', 'create']);
    } finally {
      await s.close();
    }
  });

  it('maxDepth: deeper data is LIMIT, on create and on a deep update', async () => {
    const s = await setup(backend, { limits: { maxDepth: 4 } });
    try {
      const h = s.manager.as(alice);
      await h.create('session', nested(4) as never, { id: 'd4' });
      const deep = await rejection(h.create('session', nested(5) as never));
      expect(deep).toMatchObject({ code: 'LIMIT', details: { limit: 'maxDepth', max: 4, actual: 5 } });
      // {n:{n:{n:{leaf}}}} + patch at n.n.n.leaf = {x: 1} makes depth 5
      const upd = await rejection(h.update('d4', { n: { n: { n: { leaf: { x: 1 } } } } }));
      expect(upd).toMatchObject({ code: 'LIMIT', details: { limit: 'maxDepth' } });
      expect((await h.get('d4'))!.version).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('maxContextsPerOwner: the next create is LIMIT; expired and deleted ones free room', async () => {
    const s = await setup(backend, { limits: { maxContextsPerOwner: 3 } });
    try {
      const h = s.manager.as(alice);
      await h.create('session', {}, { id: 'a1' });
      await h.create('conversation', {}, { id: 'a2' });
      await h.create('session', {}, { id: 'a3', ttlMs: 10 });
      const full = await rejection(h.create('session', {}, { id: 'a4' }));
      expect(full).toMatchObject({
        code: 'LIMIT',
        details: { limit: 'maxContextsPerOwner', max: 3, actual: 3, ownerId: 'alice' },
      });
      expect(await h.get('a4')).toBeUndefined();
      // other owners are unaffected
      await s.manager.as(bob).create('session', {}, { id: 'b1' });
      s.clock.advance(10); // a3 expires
      await h.create('session', {}, { id: 'a4' });
      await h.delete('a1');
      await h.create('session', {}, { id: 'a5' });
      // concurrent creates in one process are serialized per owner, so the cap holds exactly
      await h.delete('a5');
      const racing = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => h.create('session', {}, { id: `r${i}` })),
      );
      expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((await s.manager.as(root).list({ ownerId: 'alice' })).items).toHaveLength(3);
    } finally {
      await s.close();
    }
  });

  it('maxAncestors bounds the parent chain', async () => {
    const s = await setup(backend, { limits: { maxAncestors: 2 } });
    try {
      const h = s.manager.as(alice);
      await h.create('session', {}, { id: 'l0' });
      await h.create('session', {}, { id: 'l1', parentId: 'l0' });
      await h.create('session', {}, { id: 'l2', parentId: 'l1' });
      const error = await rejection(h.create('session', {}, { id: 'l3', parentId: 'l2' }));
      expect(error).toMatchObject({ code: 'LIMIT', details: { limit: 'maxAncestors', max: 2 } });
      expect(await h.get('l3')).toBeUndefined();
    } finally {
      await s.close();
    }
  });
});
