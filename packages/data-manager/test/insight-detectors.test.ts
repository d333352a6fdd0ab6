import { DAY_MS } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { confidence, DEFAULT_THRESHOLDS, type PeriodStats, runDetectors } from '../src/index.js';
import { detectFrameworkPairs } from '../src/insights/framework-pairs.js';
import { detectFrameworkTrends } from '../src/insights/framework-trend.js';
import { detectLatencyRegression } from '../src/insights/latency-regression.js';
import { pairKey } from '../src/insights/types.js';

const T = { ...DEFAULT_THRESHOLDS };
const P = { from: 14 * DAY_MS, to: 28 * DAY_MS };
const Q = { from: 0, to: 14 * DAY_MS };

function stats(over: Partial<PeriodStats> & { period: PeriodStats['period'] }): PeriodStats {
  return {
    turns: 100,
    errors: 0,
    latencyCount: 100,
    latencyP95: 100,
    personas: new Map(),
    frameworks: new Map(),
    pairs: new Map(),
    ...over,
  };
}

describe('insight detectors (pure)', () => {
  it('confidence is n / (n + k)', () => {
    expect(confidence(0, 30)).toBe(0);
    expect(confidence(30, 30)).toBe(0.5);
    expect(confidence(270, 30)).toBe(0.9);
  });

  it('declining frameworks, largest drop first; below the minimum detections nothing', () => {
    const current = stats({
      period: P,
      frameworks: new Map([
        ['a', 2],
        ['b', 6],
        ['c', 1],
        ['d', 30],
      ]),
    });
    const previous = stats({
      period: Q,
      frameworks: new Map([
        ['a', 10],
        ['b', 12],
        ['c', 2],
        ['d', 30],
      ]),
    });
    const out = detectFrameworkTrends(current, previous, T);
    // a: 10 -> 2 (-80%), b: 12 -> 6 (-50%), c: 3 detections < 10, d: unchanged.
    expect(out.insights.map((i) => [i.kind, i.subject, i.evidence.change])).toEqual([
      ['framework_declining', 'a', -0.8],
      ['framework_declining', 'b', -0.5],
    ]);
    expect(out.insights[0]!.sentence).toBe(
      'Framework "a" fell from 10 to 2 detections (-80.0%) over the 14 days to 1970-01-29T00:00:00.000Z against the 14 days before.',
    );
    expect(out.insights[0]!.confidence).toBeCloseTo(12 / 42, 12);
  });

  it('a framework absent before is rising with change null', () => {
    const current = stats({ period: P, frameworks: new Map([['new', 12]]) });
    const previous = stats({ period: Q });
    const [insight] = detectFrameworkTrends(current, previous, T).insights;
    expect(insight).toMatchObject({ kind: 'framework_rising', subject: 'new' });
    expect(insight!.evidence).toMatchObject({ current: 12, previous: 0, change: null });
  });

  it('latency regression needs samples in both periods', () => {
    const out = detectLatencyRegression(
      stats({ period: P, latencyCount: 5, latencyP95: 900 }),
      stats({ period: Q, latencyCount: 100, latencyP95: 100 }),
      T,
    );
    expect(out.insights).toEqual([]);
    expect(out.notes).toEqual([
      'Latency: too little data (5 timed turns in the period, 100 in the previous; 20 needed in each).',
    ]);
    const below = detectLatencyRegression(
      stats({ period: P, latencyP95: 119 }),
      stats({ period: Q, latencyP95: 100 }),
      T,
    );
    expect(below.insights).toEqual([]); // +19% < +20%
    const above = detectLatencyRegression(
      stats({ period: P, latencyP95: 120 }),
      stats({ period: Q, latencyP95: 100 }),
      T,
    );
    expect(above.insights).toHaveLength(1);
  });

  it('pairs below the shared-turn minimum or the Jaccard threshold are not reported', () => {
    const current = stats({
      period: P,
      frameworks: new Map([
        ['a', 10],
        ['b', 10],
        ['c', 40],
      ]),
      pairs: new Map([
        [pairKey('a', 'b'), 8], // 8 / 12 = 0.667
        [pairKey('a', 'c'), 4], // below 5 shared turns
        [pairKey('b', 'c'), 6], // 6 / 44 = 0.136
      ]),
    });
    const out = detectFrameworkPairs(current, stats({ period: Q }), T);
    expect(out.insights.map((i) => i.subject)).toEqual(['a + b']);
    expect(out.insights[0]!.evidence).toMatchObject({ previous: null, change: null, sampleSize: 12 });
    expect(out.insights[0]!.sentence).toContain('(neither was used the period before)');
  });

  it('runDetectors refuses with too little data in either period', () => {
    const out = runDetectors(stats({ period: P, turns: 19 }), stats({ period: Q }), T);
    expect(out.insights).toEqual([]);
    expect(out.notes[0]).toContain('19 turns in the period and 100 in the previous');
  });

  it('error-rate spike at exactly the threshold', () => {
    const out = runDetectors(stats({ period: P, errors: 10 }), stats({ period: Q, errors: 5 }), T);
    expect(out.insights.map((i) => i.kind)).toEqual(['error_rate_spike']);
  });
});
