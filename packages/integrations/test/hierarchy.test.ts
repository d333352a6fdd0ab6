import { describe, expect, it } from 'vitest';
import {
  back,
  breadcrumbs,
  buildHierarchy,
  drillDown,
  findNode,
  HIERARCHY_PRESETS,
  initialNavigationState,
  jumpTo,
  rollUp,
} from '../src/navigation/index.js';

const rows = [
  { organization: 'acme', department: 'eng', team: 'platform', member: 'ana', turns: 5 },
  { organization: 'acme', department: 'eng', team: 'platform', member: 'ben', turns: 3 },
  { organization: 'acme', department: 'eng', team: 'data', member: 'chen', turns: 2 },
  { organization: 'acme', department: 'sales', team: 'emea', member: 'dana', turns: 7 },
  { organization: 'acme', department: 'sales', member: 'eve', turns: 1 },
];

describe('buildHierarchy', () => {
  it('groups rows level by level with counts and totals', () => {
    const tree = buildHierarchy(rows, { levels: HIERARCHY_PRESETS.organizational(), measure: 'turns' });
    expect(tree).toMatchObject({ count: 5, total: 18 });
    const acme = tree.children[0]!;
    expect(acme.children.map((c) => [c.value, c.count, c.total])).toEqual([
      ['eng', 3, 10],
      ['sales', 2, 8],
    ]);
    expect(findNode(tree, ['acme', 'eng'])!.children.map((c) => c.value)).toEqual(['data', 'platform']);
    // A row without a team is kept, under "(none)".
    expect(findNode(tree, ['acme', 'sales', '(none)', 'eve'])).toMatchObject({
      count: 1,
      total: 1,
      depth: 4,
    });
  });

  it('derives year, quarter, month and day from a time field (UTC)', () => {
    const tree = buildHierarchy(
      [{ at: Date.parse('2026-02-28T23:30:00Z') }, { at: Date.parse('2026-03-01T00:30:00Z') }],
      { levels: HIERARCHY_PRESETS.temporal('at') },
    );
    expect(findNode(tree, ['2026', 'Q1'])!.children.map((c) => c.value)).toEqual(['2026-02', '2026-03']);
    expect(findNode(tree, ['2026', 'Q1', '2026-03', '2026-03-01'])!.count).toBe(1);
  });

  it('orders numeric values naturally and keeps ids unambiguous', () => {
    const tree = buildHierarchy([{ k: '10' }, { k: '2' }, { k: 'a/b' }], { levels: ['k'] });
    expect(tree.children.map((c) => c.value)).toEqual(['2', '10', 'a/b']);
    expect(tree.children[2]!.id).toBe('a%2Fb');
  });
});

describe('navigation state', () => {
  const tree = buildHierarchy(rows, { levels: HIERARCHY_PRESETS.organizational() });
  const levels = ['organization', 'department', 'team', 'member'];

  it('drills down, rolls up, jumps and goes back with breadcrumbs', () => {
    let s = initialNavigationState(levels);
    s = drillDown(s, tree, 'acme');
    s = drillDown(s, tree, 'eng');
    s = drillDown(s, tree, 'platform');
    expect(breadcrumbs(s).map((b) => b.label)).toEqual(['All', 'acme', 'eng', 'platform']);
    s = rollUp(s);
    expect(s.path).toEqual(['acme', 'eng']);
    s = jumpTo(s, 0);
    expect(s.path).toEqual([]);
    s = back(s);
    expect(s.path).toEqual(['acme', 'eng']);
    s = back(s);
    expect(s.path).toEqual(['acme', 'eng', 'platform']);
  });

  it('refuses values that are not children, depths off the path, and drilling past the last level', () => {
    const s = drillDown(initialNavigationState(levels), tree, 'acme');
    expect(() => drillDown(s, tree, 'nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => jumpTo(s, 3)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    let deep = s;
    for (const v of ['eng', 'platform', 'ana']) deep = drillDown(deep, tree, v);
    expect(() => drillDown(deep, tree, 'x')).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
  });
});
