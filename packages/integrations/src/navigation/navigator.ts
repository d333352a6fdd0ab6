import type { ContextHandle } from '@convokit/context-manager';
import { ConvokitError, type JsonObject } from '@convokit/core';
import { findNode, type HierarchyNode } from './hierarchy.js';
import {
  type Breadcrumb,
  back,
  breadcrumbs,
  drillDown,
  initialNavigationState,
  jumpTo,
  type NavigationState,
  rollUp,
} from './state.js';

export interface NavigatorOptions {
  /** The handle of the principal navigating; the state context is theirs. */
  contexts: ContextHandle;
  sessionId: string;
  chartId: string;
  /** The tree being navigated (see buildHierarchy); its levels, root first. */
  tree: HierarchyNode;
  levels: readonly string[];
}

/** The id of the `navigation` context holding one session's position in one chart. */
export function navigationContextId(sessionId: string, chartId: string): string {
  return `nav:${sessionId}:${chartId}`;
}

function isState(data: JsonObject): boolean {
  return Array.isArray(data.levels) && Array.isArray(data.path) && Array.isArray(data.history);
}

/**
 * Drill-down over a hierarchy, with its position kept in a `navigation`-scope context per session
 * and chart: a reload, a restart or another process sees the same position. Each move is a
 * versioned write; when another writer moved first, the move is applied to their position.
 */
export class DrillDownNavigator {
  readonly #o: NavigatorOptions;
  readonly #id: string;
  #state: NavigationState;
  #version: number;

  private constructor(options: NavigatorOptions, state: NavigationState, version: number) {
    this.#o = options;
    this.#id = navigationContextId(options.sessionId, options.chartId);
    this.#state = state;
    this.#version = version;
  }

  /** Opens the stored position, or starts at the top when there is none (or the levels changed). */
  static async open(options: NavigatorOptions): Promise<DrillDownNavigator> {
    const id = navigationContextId(options.sessionId, options.chartId);
    const stored = await options.contexts.get(id);
    const fresh = initialNavigationState(options.levels);
    if (!stored) {
      try {
        const created = await options.contexts.create('navigation', fresh as unknown as JsonObject, {
          id,
          sessionId: options.sessionId,
        });
        return new DrillDownNavigator(options, fresh, created.version);
      } catch (error) {
        if (!ConvokitError.is(error, 'CONFLICT')) throw error;
        return DrillDownNavigator.open(options); // created concurrently: read theirs
      }
    }
    const state = stored.data as unknown as NavigationState;
    const usable =
      isState(stored.data) &&
      state.levels.join('\u0000') === options.levels.join('\u0000') &&
      findNode(options.tree, state.path) !== undefined;
    const navigator = new DrillDownNavigator(options, usable ? state : fresh, stored.version);
    if (!usable) await navigator.#save(() => fresh);
    return navigator;
  }

  get state(): NavigationState {
    return this.#state;
  }

  /** The node at the current position. */
  get current(): HierarchyNode {
    return findNode(this.#o.tree, this.#state.path) ?? this.#o.tree;
  }

  get breadcrumbs(): Breadcrumb[] {
    return breadcrumbs(this.#state);
  }

  drillDown(value: string): Promise<NavigationState> {
    return this.#save((s) => drillDown(s, this.#o.tree, value));
  }

  rollUp(): Promise<NavigationState> {
    return this.#save(rollUp);
  }

  jumpTo(depth: number): Promise<NavigationState> {
    return this.#save((s) => jumpTo(s, depth));
  }

  back(): Promise<NavigationState> {
    return this.#save(back);
  }

  async #save(move: (s: NavigationState) => NavigationState): Promise<NavigationState> {
    for (let attempt = 0; ; attempt++) {
      const next = move(this.#state);
      try {
        const written = await this.#o.contexts.update(this.#id, next as unknown as JsonObject, {
          strategy: 'replace',
          expectedVersion: this.#version,
        });
        this.#state = next;
        this.#version = written.version;
        return next;
      } catch (error) {
        if (!ConvokitError.is(error, 'CONFLICT') || attempt >= 3) throw error;
        const latest = await this.#o.contexts.get(this.#id);
        if (!latest) throw error;
        this.#state = latest.data as unknown as NavigationState;
        this.#version = latest.version;
      }
    }
  }
}
