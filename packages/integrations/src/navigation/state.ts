import { ConvokitError } from '@convokit/core';
import { findNode, type HierarchyNode } from './hierarchy.js';

/** Where a user is in a drill-down, kept as the data of a `navigation` context. */
export interface NavigationState {
  /** Level keys, root first. */
  levels: string[];
  /** Values chosen so far, root first; empty at the top. */
  path: string[];
  /** Earlier paths, most recent last, for `back` (bounded). */
  history: string[][];
}

export interface Breadcrumb {
  level: string;
  value: string | null;
  label: string;
  /** Depth to pass to `jumpTo` to return here. */
  depth: number;
}

const HISTORY_LIMIT = 50;

export function initialNavigationState(levels: readonly string[]): NavigationState {
  return { levels: [...levels], path: [], history: [] };
}

function moveTo(state: NavigationState, path: string[]): NavigationState {
  const history = [...state.history, state.path].slice(-HISTORY_LIMIT);
  return { levels: state.levels, path, history };
}

/** Enters the child `value` of the current node. */
export function drillDown(state: NavigationState, tree: HierarchyNode, value: string): NavigationState {
  if (state.path.length >= state.levels.length) {
    throw new ConvokitError('VALIDATION', `Cannot drill below the last level (${state.levels.at(-1)})`, {
      issues: [{ path: 'value', message: 'already at the deepest level' }],
    });
  }
  const node = findNode(tree, state.path);
  if (!node?.children.some((c) => c.value === value)) {
    throw new ConvokitError('NOT_FOUND', `No ${state.levels[state.path.length]} "${value}" here`, {
      level: state.levels[state.path.length],
      value,
      available: node?.children.map((c) => c.value) ?? [],
    });
  }
  return moveTo(state, [...state.path, value]);
}

/** Goes up one level; at the top it stays. */
export function rollUp(state: NavigationState): NavigationState {
  if (state.path.length === 0) return state;
  return moveTo(state, state.path.slice(0, -1));
}

/** Goes to `depth` along the current path (0 = top). */
export function jumpTo(state: NavigationState, depth: number): NavigationState {
  if (!Number.isInteger(depth) || depth < 0 || depth > state.path.length) {
    throw new ConvokitError('VALIDATION', `Depth must be a whole number from 0 to ${state.path.length}`, {
      issues: [{ path: 'depth', message: `got ${depth}` }],
    });
  }
  return moveTo(state, state.path.slice(0, depth));
}

/** Returns to the previous position, whatever move led here; at the start it stays. */
export function back(state: NavigationState): NavigationState {
  const previous = state.history.at(-1);
  if (!previous) return state;
  return { levels: state.levels, path: previous, history: state.history.slice(0, -1) };
}

export function breadcrumbs(state: NavigationState): Breadcrumb[] {
  const crumbs: Breadcrumb[] = [{ level: 'root', value: null, label: 'All', depth: 0 }];
  state.path.forEach((value, i) => {
    crumbs.push({ level: state.levels[i]!, value, label: value, depth: i + 1 });
  });
  return crumbs;
}
