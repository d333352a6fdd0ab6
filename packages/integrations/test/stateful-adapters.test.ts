import { createChatContextManager } from '@convokit/context-manager';
import { createManualClock } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { describe, expect, it } from 'vitest';
import { ChartEnhancer } from '../src/enhancement/index.js';
import { ChartLinker } from '../src/linking/index.js';
import { buildHierarchy, DrillDownNavigator, HIERARCHY_PRESETS } from '../src/navigation/index.js';

const rows = [
  { organization: 'acme', department: 'eng', team: 'platform', member: 'ana' },
  { organization: 'acme', department: 'eng', team: 'data', member: 'chen' },
  { organization: 'acme', department: 'sales', team: 'emea', member: 'dana' },
];
const levels = ['organization', 'department', 'team', 'member'];

function setup() {
  const clock = createManualClock(Date.parse('2026-03-18T12:00:00Z'));
  const storage = createMemoryStorage({ clock });
  const contexts = createChatContextManager({ storage, clock });
  return { storage, contexts, handle: contexts.as({ id: 'ana' }) };
}

describe('DrillDownNavigator', () => {
  it('keeps the position in a navigation context that a new navigator (a reload) restores', async () => {
    const { contexts, handle } = setup();
    const tree = buildHierarchy(rows, { levels: HIERARCHY_PRESETS.organizational() });
    const nav = await DrillDownNavigator.open({
      contexts: handle,
      sessionId: 's1',
      chartId: 'org',
      tree,
      levels,
    });
    await nav.drillDown('acme');
    await nav.drillDown('eng');
    expect(nav.current.children.map((c) => c.value)).toEqual(['data', 'platform']);

    const reloaded = await DrillDownNavigator.open({
      contexts: handle,
      sessionId: 's1',
      chartId: 'org',
      tree,
      levels,
    });
    expect(reloaded.state.path).toEqual(['acme', 'eng']);
    expect(reloaded.breadcrumbs.map((b) => b.label)).toEqual(['All', 'acme', 'eng']);
    await reloaded.back();
    expect(reloaded.state.path).toEqual(['acme']);

    const stored = await handle.get('nav:s1:org');
    expect(stored).toMatchObject({ scope: 'navigation', sessionId: 's1', ownerId: 'ana' });
    // Another principal cannot read or move it (default policy: navigation belongs to its owner).
    await expect(contexts.as({ id: 'ben' }).get('nav:s1:org')).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
  });

  it('applies a move on top of a move made elsewhere (versioned writes)', async () => {
    const { handle } = setup();
    const tree = buildHierarchy(rows, { levels: HIERARCHY_PRESETS.organizational() });
    const a = await DrillDownNavigator.open({
      contexts: handle,
      sessionId: 's1',
      chartId: 'org',
      tree,
      levels,
    });
    const b = await DrillDownNavigator.open({
      contexts: handle,
      sessionId: 's1',
      chartId: 'org',
      tree,
      levels,
    });
    await a.drillDown('acme');
    await b.rollUp(); // b's view was stale: it reloads (path ['acme']) and rolls up from there.
    expect(b.state.path).toEqual([]);
    expect(b.state.history.at(-1)).toEqual(['acme']);
  });
});

describe('ChartLinker', () => {
  it('propagates a filter through linked chart contexts and applies it', async () => {
    const { handle } = setup();
    for (const id of ['personas', 'latency', 'frameworks']) {
      await handle.createChart({ chartId: id, chartType: 'bar' }, { id });
    }
    const linker = new ChartLinker(handle);
    await linker.link('personas', 'latency', { kinds: ['filter'] });
    await linker.link('latency', 'frameworks', { kinds: ['filter'], fieldMap: { persona: 'leadPersona' } });
    const result = await linker.propagate(
      { chartId: 'personas', kind: 'filter', payload: { persona: 'diego' } },
      { apply: true },
    );
    expect(result.updates.map((u) => [u.chartId, u.payload])).toEqual([
      ['latency', { persona: 'diego' }],
      ['frameworks', { leadPersona: 'diego' }],
    ]);
    expect((await handle.getChart('frameworks'))!.chart.filters).toEqual({ leadPersona: 'diego' });
    // Links are bidirectional by default, so the graph has cycles; propagation still ends.
    const back = await linker.propagate({
      chartId: 'frameworks',
      kind: 'filter',
      payload: { leadPersona: 'x' },
    });
    expect(back.updates.map((u) => u.chartId)).toEqual(['latency', 'personas']);
  });
});

describe('ChartEnhancer', () => {
  it('turns features on and off with their settings, kept in the chart context', async () => {
    const { handle } = setup();
    await handle.createChart({ chartId: 'c1', chartType: 'line' }, { id: 'c1' });
    const enhancer = new ChartEnhancer(handle);
    await enhancer.enable('c1', 'zoom', { axis: 'x' });
    await enhancer.enable('c1', 'tooltips');
    await enhancer.setPreferences('c1', { theme: 'dark' });
    expect(await enhancer.get('c1')).toEqual({
      features: ['zoom', 'tooltips'],
      settings: { zoom: { axis: 'x' } },
      preferences: { theme: 'dark' },
    });
    const after = await enhancer.disable('c1', 'zoom');
    expect(after).toEqual({ features: ['tooltips'], settings: {}, preferences: { theme: 'dark' } });
    await expect(enhancer.enable('missing', 'zoom')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
