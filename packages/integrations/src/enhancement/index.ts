import type { ChartView, ContextHandle } from '@convokit/context-manager';
import { ConvokitError, type JsonObject } from '@convokit/core';

/** Features a chart may turn on; any other name is allowed too (the list is a vocabulary, not a limit). */
export const KNOWN_FEATURES = [
  'tooltips',
  'zoom',
  'brush',
  'legend',
  'annotations',
  'export',
  'drilldown',
] as const;

export interface EnhancementState {
  features: string[];
  settings: JsonObject;
  preferences: JsonObject;
}

/**
 * Per-chart enhancement state (features on, their settings, the user's preferences), read and
 * written through the chart's context, so it follows the chart across reloads and processes.
 * Each change is one versioned write; the feature list is computed from the latest read, so
 * two callers toggling different features at the same instant may need to retry (last write wins).
 */
export class ChartEnhancer {
  readonly #contexts: ContextHandle;

  constructor(contexts: ContextHandle) {
    this.#contexts = contexts;
  }

  async get(chartId: string): Promise<EnhancementState | undefined> {
    const view = await this.#contexts.getChart(chartId);
    return view ? stateOf(view) : undefined;
  }

  /** Turns `feature` on, with its settings when given. */
  async enable(chartId: string, feature: string, settings?: JsonObject): Promise<EnhancementState> {
    const current = await this.#require(chartId);
    const features = current.features.includes(feature) ? current.features : [...current.features, feature];
    const patch: JsonObject = { features };
    if (settings) patch.settings = { [feature]: settings };
    return stateOf(await this.#contexts.updateChart(chartId, { enhancements: patch }));
  }

  /** Turns `feature` off and drops its settings. */
  async disable(chartId: string, feature: string): Promise<EnhancementState> {
    const current = await this.#require(chartId);
    const features = current.features.filter((f) => f !== feature);
    // In a merge patch, null deletes the key.
    const patch: JsonObject = { features, settings: { [feature]: null } };
    return stateOf(await this.#contexts.updateChart(chartId, { enhancements: patch }));
  }

  /** Merges `preferences` into the chart's (a null value deletes a preference). */
  async setPreferences(chartId: string, preferences: JsonObject): Promise<EnhancementState> {
    return stateOf(await this.#contexts.updateChart(chartId, { preferences }));
  }

  async #require(chartId: string): Promise<EnhancementState> {
    const view = await this.#contexts.getChart(chartId);
    if (!view) throw new ConvokitError('NOT_FOUND', `No chart ${chartId}`, { chartId });
    return stateOf(view);
  }
}

function stateOf(view: ChartView): EnhancementState {
  return {
    features: [...view.chart.enhancements.features],
    settings: { ...view.chart.enhancements.settings },
    preferences: { ...view.chart.preferences },
  };
}
