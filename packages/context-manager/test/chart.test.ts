import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alice, availableBackends, bob, rejection, removeTempDirs, type Setup, setup } from './helpers.js';

afterAll(removeTempDirs);

describe.each(availableBackends())('chart state on $name', (backend) => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup(backend);
  });
  afterEach(async () => {
    await s.close();
  });

  it('createChart validates and fills the ChartState defaults; getChart reads it back', async () => {
    const h = s.manager.as(alice);
    const created = await h.createChart(
      { chartId: 'sales', chartType: 'bar', filters: { year: 2025 } },
      { id: 'c1' },
    );
    expect(created.context).toMatchObject({ id: 'c1', scope: 'analytics', ownerId: 'alice', version: 1 });
    expect(created.chart).toEqual({
      chartId: 'sales',
      chartType: 'bar',
      data: null,
      filters: { year: 2025 },
      navigation: [],
      links: [],
      enhancements: { features: [], settings: {} },
      preferences: {},
    });
    expect(created.filters).toEqual({ year: 2025 });
    expect((await h.getChart('c1'))!.chart).toEqual(created.chart);
    expect(await h.getChart('nope')).toBeUndefined();
    expect((await rejection(h.createChart({ chartId: 'x', chartType: 'pie3d' as 'pie' }))).code).toBe(
      'VALIDATION',
    );
    await h.create('session', { not: 'a chart' }, { id: 'plain' });
    expect((await rejection(h.getChart('plain'))).code).toBe('VALIDATION');
    expect((await rejection(s.manager.as(bob).getChart('c1'))).code).toBe('ACCESS_DENIED');
  });

  it('push and pop navigation: a drill-down path whose filters accumulate and unwind', async () => {
    const h = s.manager.as(alice);
    await h.createChart({ chartId: 'sales', chartType: 'bar', filters: { year: 2025 } }, { id: 'c' });
    const r1 = await h.pushNavigation('c', { level: 'region', value: 'EU', label: 'Europe' });
    expect(r1.filters).toEqual({ year: 2025, region: 'EU' });
    const r2 = await h.pushNavigation('c', { level: 'country', value: 'FR' });
    expect(r2.filters).toEqual({ year: 2025, region: 'EU', country: 'FR' });
    expect(r2.chart.navigation.map((n) => n.level)).toEqual(['region', 'country']);
    expect(r2.context.version).toBe(3);
    // explicit filters are taken as the filters in force after the step
    const r3 = await h.pushNavigation('c', { level: 'city', value: 'Paris', filters: { city: 'Paris' } });
    expect(r3.filters).toEqual({ city: 'Paris' });
    const p3 = await h.popNavigation('c');
    expect(p3.popped).toMatchObject({ level: 'city', value: 'Paris' });
    expect(p3.filters).toEqual({ year: 2025, region: 'EU', country: 'FR' });
    await h.popNavigation('c');
    const p1 = await h.popNavigation('c');
    expect(p1.filters).toEqual({ year: 2025 });
    expect(p1.chart.filters).toEqual({ year: 2025 });
    const empty = await h.popNavigation('c');
    expect(empty.popped).toBeUndefined();
    expect(empty.context.version).toBe(p1.context.version); // nothing written
    const audit = (await s.manager.audit({ contextId: 'c', action: 'update' })).items;
    expect(audit).toHaveLength(6);
    expect(audit.every((e) => e.changedKeys.join() === 'navigation')).toBe(true);
  });

  it('navigation deeper than the schema allows is refused and not written', async () => {
    const h = s.manager.as(alice);
    await h.createChart({ chartId: 'deep', chartType: 'treemap' }, { id: 'd' });
    for (let i = 0; i < 64; i++) await h.pushNavigation('d', { level: `l${i}`, value: i });
    expect((await rejection(h.pushNavigation('d', { level: 'l64', value: 64 }))).code).toBe('VALIDATION');
    expect((await h.getChart('d'))!.chart.navigation).toHaveLength(64);
  });

  it('linkCharts links both ways with the field map inverted; unlinkCharts removes both', async () => {
    const h = s.manager.as(alice);
    await h.createChart({ chartId: 'a', chartType: 'line' }, { id: 'A' });
    await h.createChart({ chartId: 'b', chartType: 'table' }, { id: 'B' });
    await h.createChart({ chartId: 'c', chartType: 'pie' }, { id: 'C' });
    const linked = await h.linkCharts('A', 'B', { kinds: ['filter', 'zoom'], fieldMap: { day: 'date' } });
    expect(linked.chart.links).toEqual([
      { chartId: 'B', kinds: ['filter', 'zoom'], fieldMap: { day: 'date' } },
    ]);
    expect((await h.getChart('B'))!.chart.links).toEqual([
      { chartId: 'A', kinds: ['filter', 'zoom'], fieldMap: { date: 'day' } },
    ]);
    await h.linkCharts('A', 'C', { bidirectional: false });
    expect((await h.getChart('A'))!.chart.links.map((l) => l.chartId)).toEqual(['B', 'C']);
    expect((await h.getChart('C'))!.chart.links).toEqual([]);
    // relinking replaces the link rather than adding a second one
    await h.linkCharts('A', 'B', { kinds: ['highlight'] });
    expect((await h.getChart('A'))!.chart.links.map((l) => [l.chartId, l.kinds])).toEqual([
      ['C', ['filter']],
      ['B', ['highlight']],
    ]);
    expect(await h.unlinkCharts('A', 'B')).toBe(true);
    expect((await h.getChart('A'))!.chart.links.map((l) => l.chartId)).toEqual(['C']);
    expect((await h.getChart('B'))!.chart.links).toEqual([]);
    expect(await h.unlinkCharts('A', 'B')).toBe(false);
    expect((await rejection(h.linkCharts('A', 'missing'))).code).toBe('NOT_FOUND');
    expect((await rejection(h.linkCharts('A', 'A'))).code).toBe('VALIDATION');
  });

  it('updateChart merge-patches the state and validates the result', async () => {
    const h = s.manager.as(alice);
    await h.createChart(
      { chartId: 'k', chartType: 'bar', preferences: { theme: 'dark', legend: true }, title: 'T' },
      { id: 'k' },
    );
    const u = await h.updateChart('k', {
      chartType: 'line',
      preferences: { legend: false },
      title: null,
    } as never);
    expect(u.chart).toMatchObject({ chartType: 'line', preferences: { theme: 'dark', legend: false } });
    expect(u.chart.title).toBeUndefined();
    expect((await rejection(h.updateChart('k', { chartType: 'nope' } as never))).code).toBe('VALIDATION');
    expect((await h.getChart('k'))!.context.version).toBe(2);
    const keys = (await s.manager.audit({ contextId: 'k', action: 'update' })).items[0]!.changedKeys;
    expect([...keys].sort()).toEqual(['chartType', 'preferences', 'title']);
  });
});
