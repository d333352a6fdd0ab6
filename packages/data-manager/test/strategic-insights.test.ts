import { afterEach, describe, expect, it } from 'vitest';
import type { StrategicInsightsData } from '../src/index.js';
import { DEFAULT_THRESHOLDS } from '../src/index.js';
import { FULL, NOW, W2, W3 } from './fixtures.js';
import { fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
});

const SMALL = {
  minTurns: 3,
  minLatencySamples: 3,
  minFrameworkDetections: 3,
  minPairTurns: 2,
};

describe('strategic_insights on the fixture (W3 against W2)', () => {
  it('derives every insight from the two weeks, with evidence and confidence', async () => {
    setup = await fixtureManager({ insights: { thresholds: SMALL } });
    const res = await setup.manager.query<StrategicInsightsData>({
      type: 'strategic_insights',
      timeRange: W3,
    });
    expect(res.success).toBe(true);
    const d = res.data!;
    expect(d.period).toEqual(W3);
    expect(d.previousPeriod).toEqual(W2);
    expect(d.insights.map((i) => [i.kind, i.subject])).toEqual([
      // W3 (10 turns): cto 4, eng 3, pm 2 (t16 no persona). W2 (5): cto 2, eng 3, pm 0.
      ['persona_share_shift', 'eng'], // 0.6 -> 0.3
      ['persona_share_shift', 'pm'], // 0 -> 0.2
      ['latency_regression', null], // p95 400 -> 700
      ['error_rate_spike', null], // 1/5 -> 3/10
      // swot 1 -> 4 (+300%), raci 1 -> 3 (+200%), okr 2 -> 4 (+100%); porter 2 -> 2 stays.
      ['framework_rising', 'swot'],
      ['framework_rising', 'raci'],
      ['framework_rising', 'okr'],
      // okr+raci: 2 shared of 4+3-2 = 5 -> 0.4; okr+swot: 2 of 4+4-2 = 6 -> 0.333.
      ['frameworks_used_together', 'okr + raci'],
      ['frameworks_used_together', 'okr + swot'],
    ]);
    expect(res.totalRecords).toBe(9);
    const [eng, pm, latency, errors, swot, , , pairRaci, pairSwot] = d.insights;
    expect(eng!.sentence).toBe(
      'Persona "eng" fell from 60.0% to 30.0% of turns (-30.0 points) week over week.',
    );
    expect(eng!.evidence).toMatchObject({
      metric: 'persona_share',
      current: 0.3,
      previous: 0.6,
      sampleSize: 5,
    });
    expect(eng!.evidence.change).toBeCloseTo(-0.3, 12);
    expect(eng!.confidence).toBeCloseTo(5 / 35, 12); // n / (n + 30), n = min(10, 5)
    expect(pm!.sentence).toBe('Persona "pm" rose from 0.0% to 20.0% of turns (+20.0 points) week over week.');
    expect(latency!.evidence.metric).toBe('latency_p95_ms');
    expect(latency!.evidence.current).toBeCloseTo(700, -1);
    expect(latency!.evidence.previous).toBeCloseTo(400, -1);
    expect(latency!.evidence.change).toBeCloseTo(0.75, 1);
    expect(latency!.evidence.sampleSize).toBe(5); // min(9, 5) timed turns
    expect(latency!.sentence).toMatch(
      /^p95 latency rose \+7\d\.\d% from 39\d ms to 69\d ms week over week \(9 and 5 timed turns\)\.$/,
    );
    expect(errors!.sentence).toBe(
      'Error rate rose from 20.0% to 30.0% (+10.0 points) week over week: 3 of 10 turns failed, against 1 of 5.',
    );
    expect(errors!.evidence).toMatchObject({
      metric: 'error_rate',
      current: 0.3,
      previous: 0.2,
      changeKind: 'absolute',
    });
    expect(swot!.sentence).toBe('Framework "swot" rose from 1 to 4 detections (+300.0%) week over week.');
    expect(swot!.evidence).toMatchObject({ current: 4, previous: 1, change: 3, sampleSize: 5 });
    expect(pairRaci!.evidence).toMatchObject({ current: 0.4, previous: 0, change: 0.4, sampleSize: 5 });
    expect(pairRaci!.sentence).toBe(
      'Frameworks "okr" and "raci" were used together in 2 turns, 40.0% of the 5 turns using either (0.0% the period before).',
    );
    // okr+swot before: t06 shared, 2+1-1 = 2 turns with either -> 0.5.
    expect(pairSwot!.evidence.current).toBeCloseTo(1 / 3, 12);
    expect(pairSwot!.evidence.previous).toBe(0.5);
    expect(d.notes).toEqual([]);
    for (const insight of d.insights) {
      expect(insight.evidence.period).toEqual(W3);
      expect(insight.evidence.previousPeriod).toEqual(W2);
    }
  });

  it('too little data: no insight, and says so', async () => {
    setup = await fixtureManager(); // default minTurns 20: W3 has 10, W2 5
    const res = await setup.manager.query<StrategicInsightsData>({
      type: 'strategic_insights',
      timeRange: W3,
    });
    expect(res.success).toBe(true);
    expect(res.data!.insights).toEqual([]);
    expect(res.data!.notes).toEqual([
      'Too little data for insights: 10 turns in the period and 5 in the previous period; at least 20 are needed in each.',
    ]);
    expect(res.data!.thresholds).toEqual(DEFAULT_THRESHOLDS);
  });

  it('thresholds silence detectors', async () => {
    setup = await fixtureManager({
      insights: {
        thresholds: {
          ...SMALL,
          personaShareShift: 0.5,
          latencyRegression: 1,
          errorRateSpike: 0.2,
          frameworkChange: 5,
          coOccurrence: 0.9,
        },
      },
    });
    const res = await setup.manager.query<StrategicInsightsData>({
      type: 'strategic_insights',
      timeRange: W3,
    });
    expect(res.data!.insights).toEqual([]);
    expect(res.data!.notes).toEqual(['No figure moved past its threshold: no insight for this period.']);
  });

  it('defaults to the 7 days ending now against the 7 before', async () => {
    setup = await fixtureManager({ insights: { thresholds: SMALL } });
    const res = await setup.manager.query<StrategicInsightsData>({ type: 'strategic_insights' });
    expect(res.metadata.period).toEqual({ from: NOW + 1 - 7 * 86_400_000, to: NOW + 1 });
    expect(res.data!.previousPeriod).toEqual({
      from: NOW + 1 - 14 * 86_400_000,
      to: NOW + 1 - 7 * 86_400_000,
    });
  });

  it('a longer period is named by its length in sentences', async () => {
    setup = await fixtureManager({ insights: { thresholds: { ...SMALL, minTurns: 1 } } });
    // Mar 2..23 against Feb 9..Mar 2: nothing before, so minTurns 1 still refuses.
    const res = await setup.manager.query<StrategicInsightsData>({
      type: 'strategic_insights',
      timeRange: FULL,
    });
    expect(res.data!.insights).toEqual([]);
    expect(res.data!.notes[0]).toMatch(/^Too little data for insights: 20 turns in the period and 0/);
  });
});
