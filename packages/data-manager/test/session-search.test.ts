import { afterEach, describe, expect, it } from 'vitest';
import { day, FULL } from './fixtures.js';
import { fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
});

describe('getSessionContext', () => {
  it('summarises a session from its stored turns', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.getSessionContext('s5');
    expect(res.success).toBe(true);
    expect(res.metadata.scope).toEqual({ sessionId: 's5' });
    const s = res.data!;
    // s5: t11 (cto, okr swot, 110), t12 (cto, okr swot raci, 130), t13 (pm, swot, 500, error).
    expect(s).toMatchObject({
      sessionId: 's5',
      turns: 3,
      errors: 1,
      firstAt: day(16, '08:00:00'),
      lastAt: day(16, '08:30:00'),
      durationMs: 30 * 60_000,
      users: ['u2'],
      personas: [
        { persona: 'cto', turns: 2 },
        { persona: 'pm', turns: 1 },
      ],
      frameworks: [
        { framework: 'swot', turns: 3 },
        { framework: 'okr', turns: 2 },
        { framework: 'raci', turns: 1 },
      ],
      tools: [
        { tool: 'search', turns: 2 },
        { tool: 'calc', turns: 1 },
      ],
      tokens: { input: 74, output: 148 },
      feedback: { count: 0, avg: null },
    });
    expect(s.errorRate).toBeCloseTo(1 / 3, 12);
    expect(s.latency.count).toBe(3);
    expect(s.latency.avg).toBeCloseTo(740 / 3, 9);
    expect(s.recentTurns.map((t) => t.id)).toEqual(['t13', 't12', 't11']);
    expect(res.totalRecords).toBe(3);
  });

  it('an unknown session is NOT_FOUND in the envelope', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.getSessionContext('nope');
    expect(res).toMatchObject({ success: false, data: null, error: { code: 'NOT_FOUND' } });
  });

  it('recentTurns bounds the list', async () => {
    setup = await fixtureManager({ recentTurns: 2 });
    const res = await setup.manager.getSessionContext('s6');
    expect(res.data!.recentTurns.map((t) => t.id)).toEqual(['t16', 't15']);
  });
});

describe('search', () => {
  it('finds turns by whole words, filtered and limited', async () => {
    setup = await fixtureManager();
    const all = await setup.manager.search('OKR');
    expect(all.data!.map((h) => h.turn.id).sort()).toEqual(['t01', 't06']);
    expect(all.data![0]!.snippet).toContain('<mark>');
    const later = await setup.manager.search('okr', { from: day(5) });
    expect(later.data!.map((h) => h.turn.id)).toEqual(['t06']);
    const one = await setup.manager.search('okr', {}, 1);
    expect(one.data).toHaveLength(1);
    const none = await setup.manager.search('kubernetes');
    expect(none).toMatchObject({ success: true, data: [], totalRecords: 0 });
  });

  it('search covers all time unless a filter bounds it', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.search('okr', FULL);
    expect(res.metadata.period).toEqual(FULL);
    expect((await setup.manager.search('okr')).metadata.period).toBeNull();
  });
});
