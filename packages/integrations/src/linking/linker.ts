import type { ChartView, ContextHandle, LinkOptions } from '@convokit/context-manager';
import type { ChartLink, JsonObject } from '@convokit/core';
import { type ChartInteraction, type ChartUpdate, propagate } from './propagate.js';

/** The result of an interaction: what each linked chart must apply, and (if applied) their new views. */
export interface PropagationResult {
  updates: ChartUpdate[];
  applied: ChartView[];
}

/**
 * Cross-chart linking over chart contexts: links live in each chart's state (so they survive
 * restarts and are shared through storage); an interaction on one chart propagates to every chart
 * reachable over links that carry its kind, each chart once.
 */
export class ChartLinker {
  readonly #contexts: ContextHandle;

  constructor(contexts: ContextHandle) {
    this.#contexts = contexts;
  }

  link(sourceChartId: string, targetChartId: string, options: LinkOptions = {}): Promise<ChartView> {
    return this.#contexts.linkCharts(sourceChartId, targetChartId, options);
  }

  unlink(sourceChartId: string, targetChartId: string): Promise<boolean> {
    return this.#contexts.unlinkCharts(sourceChartId, targetChartId);
  }

  /**
   * The updates linked charts must apply. With `apply: true`, filter and highlight updates are
   * merged into each chart's filters (`filters` and `preferences.highlight`), and zoom and
   * time-range updates stored as its viewport.
   */
  async propagate(
    interaction: ChartInteraction,
    options: { apply?: boolean } = {},
  ): Promise<PropagationResult> {
    const links = new Map<string, readonly ChartLink[]>();
    // Load the link graph breadth first, only as far as it reaches.
    const frontier = [interaction.chartId];
    while (frontier.length > 0) {
      const id = frontier.shift()!;
      if (links.has(id)) continue;
      const view = await this.#contexts.getChart(id);
      const own = view?.chart.links ?? [];
      links.set(id, own);
      for (const l of own) if (!links.has(l.chartId)) frontier.push(l.chartId);
    }
    const updates = propagate((id) => links.get(id) ?? [], interaction);
    const applied: ChartView[] = [];
    if (options.apply) {
      for (const u of updates) applied.push(await this.#contexts.updateChart(u.chartId, patchFor(u)));
    }
    return { updates, applied };
  }
}

function patchFor(update: ChartUpdate): JsonObject {
  switch (update.kind) {
    case 'filter':
      return { filters: update.payload };
    case 'highlight':
      return { preferences: { highlight: update.payload } };
    case 'zoom':
    case 'timeRange':
      return { viewport: { [update.kind]: update.payload } };
  }
}
