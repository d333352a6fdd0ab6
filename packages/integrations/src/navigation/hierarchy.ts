import { ConvokitError } from '@convokit/core';

/** One level of a hierarchy: the row field it groups by, or a function deriving the value. */
export interface LevelDefinition {
  key: string;
  label?: string;
  derive?: (row: Readonly<Record<string, unknown>>) => string | number | null | undefined;
}

export interface HierarchyNode {
  /** Path of values from the root, joined with `/`; `''` for the root. */
  id: string;
  /** The level this node is a value of; `root` for the root. */
  level: string;
  value: string;
  depth: number;
  /** Rows under this node. */
  count: number;
  /** Sum of the `measure` field over those rows (0 without a measure). */
  total: number;
  children: HierarchyNode[];
}

/** Rows without a value for a level are grouped under this value. */
export const MISSING_VALUE = '(none)';

const QUARTERS = ['Q1', 'Q2', 'Q3', 'Q4'];

function timeLevels(field: string): LevelDefinition[] {
  const date = (row: Readonly<Record<string, unknown>>) => {
    const v = row[field];
    const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
    return Number.isFinite(ms) ? new Date(ms) : null;
  };
  return [
    { key: 'year', label: 'Year', derive: (r) => date(r)?.getUTCFullYear() },
    {
      key: 'quarter',
      label: 'Quarter',
      derive: (r) => QUARTERS[Math.floor((date(r)?.getUTCMonth() ?? -3) / 3)],
    },
    {
      key: 'month',
      label: 'Month',
      derive: (r) => date(r)?.toISOString().slice(0, 7),
    },
    { key: 'day', label: 'Day', derive: (r) => date(r)?.toISOString().slice(0, 10) },
  ];
}

/**
 * Ready-made level sets. `temporal` derives year, quarter, month and day (UTC) from a time
 * field (epoch ms or ISO string); the others read row fields of these names.
 */
export const HIERARCHY_PRESETS = {
  organizational: (): LevelDefinition[] =>
    ['organization', 'department', 'team', 'member'].map((key) => ({ key })),
  project: (): LevelDefinition[] => ['portfolio', 'program', 'project', 'task'].map((key) => ({ key })),
  temporal: (timeField = 'at'): LevelDefinition[] => timeLevels(timeField),
};

export interface BuildHierarchyOptions {
  levels: readonly (LevelDefinition | string)[];
  /** A numeric row field summed into each node's `total`. */
  measure?: string;
}

/**
 * Builds a tree from flat rows: one level per definition, children ordered by value
 * (natural order, so `2` sorts before `10`).
 */
export function buildHierarchy(
  rows: readonly Readonly<Record<string, unknown>>[],
  options: BuildHierarchyOptions,
): HierarchyNode {
  const levels = options.levels.map((l) => (typeof l === 'string' ? { key: l } : l));
  if (levels.length === 0) {
    throw new ConvokitError('VALIDATION', 'A hierarchy needs at least one level', {
      issues: [{ path: 'levels', message: 'must not be empty' }],
    });
  }
  const root: HierarchyNode = {
    id: '',
    level: 'root',
    value: '',
    depth: 0,
    count: 0,
    total: 0,
    children: [],
  };
  const index = new Map<string, HierarchyNode>();
  for (const row of rows) {
    const amount = options.measure === undefined ? 0 : Number(row[options.measure]);
    const add = Number.isFinite(amount) ? amount : 0;
    root.count += 1;
    root.total += add;
    let parent = root;
    for (const [depth, level] of levels.entries()) {
      const raw = level.derive ? level.derive(row) : row[level.key];
      const value = raw === null || raw === undefined || raw === '' ? MISSING_VALUE : String(raw);
      const id = parent.id === '' ? encodeSegment(value) : `${parent.id}/${encodeSegment(value)}`;
      let node = index.get(id);
      if (!node) {
        node = { id, level: level.key, value, depth: depth + 1, count: 0, total: 0, children: [] };
        index.set(id, node);
        parent.children.push(node);
      }
      node.count += 1;
      node.total += add;
      parent = node;
    }
  }
  sortTree(root);
  return root;
}

const collator = new Intl.Collator('en', { numeric: true });

function sortTree(node: HierarchyNode): void {
  node.children.sort((a, b) => collator.compare(a.value, b.value));
  for (const child of node.children) sortTree(child);
}

/** Values may contain `/`; ids escape it so a path stays unambiguous. */
function encodeSegment(value: string): string {
  return value.replace(/%/g, '%25').replace(/\//g, '%2F');
}

/** The node reached by following `path` (values, root first), or undefined. */
export function findNode(root: HierarchyNode, path: readonly string[]): HierarchyNode | undefined {
  let node: HierarchyNode | undefined = root;
  for (const value of path) {
    node = node.children.find((c) => c.value === value);
    if (!node) return undefined;
  }
  return node;
}
