import type { ChartLink } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propagate } from '../src/linking/index.js';

const link = (
  chartId: string,
  kinds: ChartLink['kinds'],
  fieldMap: Record<string, string> = {},
): ChartLink => ({
  chartId,
  kinds,
  fieldMap,
});

describe('propagate', () => {
  it('maps fields along each link and reaches charts through other charts', () => {
    const links: Record<string, ChartLink[]> = {
      personas: [
        link('latency', ['filter', 'highlight'], { persona: 'persona' }),
        link('frameworks', ['filter']),
      ],
      frameworks: [link('sessions', ['filter'], { persona: 'leadPersona' })],
      latency: [link('personas', ['filter'])],
    };
    const updates = propagate((id) => links[id] ?? [], {
      chartId: 'personas',
      kind: 'filter',
      payload: { persona: 'diego' },
    });
    expect(updates).toEqual([
      { chartId: 'latency', kind: 'filter', payload: { persona: 'diego' }, via: ['personas', 'latency'] },
      {
        chartId: 'frameworks',
        kind: 'filter',
        payload: { persona: 'diego' },
        via: ['personas', 'frameworks'],
      },
      {
        chartId: 'sessions',
        kind: 'filter',
        payload: { leadPersona: 'diego' },
        via: ['personas', 'frameworks', 'sessions'],
      },
    ]);
  });

  it('follows only links that carry the interaction kind', () => {
    const links: Record<string, ChartLink[]> = { a: [link('b', ['zoom']), link('c', ['timeRange'])] };
    const updates = propagate((id) => links[id] ?? [], {
      chartId: 'a',
      kind: 'timeRange',
      payload: { from: 1, to: 2 },
    });
    expect(updates.map((u) => u.chartId)).toEqual(['c']);
  });

  it('terminates on any link graph, cycles included, and never updates a chart twice', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...ids)), { maxLength: 25 }),
        (edges) => {
          const graph = new Map<string, ChartLink[]>();
          for (const [from, to] of edges) graph.set(from, [...(graph.get(from) ?? []), link(to, ['filter'])]);
          const updates = propagate((id) => graph.get(id) ?? [], {
            chartId: 'a',
            kind: 'filter',
            payload: { x: 1 },
          });
          const targets = updates.map((u) => u.chartId);
          expect(new Set(targets).size).toBe(targets.length);
          expect(targets).not.toContain('a');
          // Exactly the charts reachable from `a`.
          const reachable = new Set<string>();
          const stack = ['a'];
          while (stack.length) {
            for (const l of graph.get(stack.pop()!) ?? []) {
              if (l.chartId !== 'a' && !reachable.has(l.chartId)) {
                reachable.add(l.chartId);
                stack.push(l.chartId);
              }
            }
          }
          expect(new Set(targets)).toEqual(reachable);
        },
      ),
    );
  });
});
