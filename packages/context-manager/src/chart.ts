import type { ChartLink, ChartState, JsonObject, JsonValue, LinkKind, NavigationStep } from '@convokit/core';
import { ChartStateSchema, ConvokitError, NavigationStepSchema, validate } from '@convokit/core';
import { invalid } from './json.js';
import { mergePatch } from './merge.js';

/** A navigation step as callers pass it; `filters` left out means "current filters plus this level". */
export interface NavigationStepInput {
  level: string;
  value: JsonValue;
  label?: string;
  filters?: JsonObject;
}

export interface LinkOptions {
  /** Interactions that propagate; default `['filter']`. */
  kinds?: LinkKind[];
  /** Field in the source chart -> field in the target chart, where names differ. */
  fieldMap?: Record<string, string>;
  /** Also link the target back to the source (with the field map inverted). Default true. */
  bidirectional?: boolean;
}

/** The chart state held in a context's data, or `VALIDATION` when the data is not chart state. */
export function readChart(data: JsonObject, contextId: string, where: string): ChartState {
  const parsed = ChartStateSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new ConvokitError('VALIDATION', `Context ${contextId} does not hold chart state (${where})`, {
    where,
    contextId,
    issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}

export function checkChart(state: unknown, where: string): ChartState {
  return validate(ChartStateSchema, state, where);
}

/**
 * The filters in force: those after the last navigation step, or the chart's own filters when the
 * stack is empty. Navigation never rewrites `filters`, so popping back to the root restores them.
 */
export function effectiveFilters(chart: ChartState): JsonObject {
  const last = chart.navigation[chart.navigation.length - 1];
  return last ? last.filters : chart.filters;
}

/** The schema's bound on `navigation` and on `links`. */
export const MAX_CHART_ITEMS = 64;

// `chart` is a validated state and each new item is validated on its own, so the result needs no
// second pass of the (slow, recursive) ChartStateSchema; only the array bounds are checked here.
function bounded(where: string, field: 'navigation' | 'links', length: number): void {
  if (length > MAX_CHART_ITEMS) throw invalid(where, field, `must hold at most ${MAX_CHART_ITEMS} items`);
}

export function pushStep(chart: ChartState, input: NavigationStepInput, where: string): ChartState {
  const step: NavigationStep = validate(NavigationStepSchema, input, where);
  if (input.filters === undefined) {
    step.filters = { ...effectiveFilters(chart), [step.level]: step.value };
  }
  bounded(where, 'navigation', chart.navigation.length + 1);
  return { ...chart, navigation: [...chart.navigation, step] };
}

export function popStep(chart: ChartState): { chart: ChartState; popped: NavigationStep | undefined } {
  const popped = chart.navigation[chart.navigation.length - 1];
  if (!popped) return { chart, popped };
  return { chart: { ...chart, navigation: chart.navigation.slice(0, -1) }, popped };
}

/** Adds (or replaces) the link from `chart` to `targetId`. */
export function withLink(chart: ChartState, link: ChartLink, where: string): ChartState {
  const links = chart.links.filter((l) => l.chartId !== link.chartId);
  links.push(link);
  bounded(where, 'links', links.length);
  return { ...chart, links };
}

export function withoutLink(chart: ChartState, targetId: string): { chart: ChartState; removed: boolean } {
  const links = chart.links.filter((l) => l.chartId !== targetId);
  return { chart: { ...chart, links }, removed: links.length !== chart.links.length };
}

export function invertFieldMap(map: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [from, to] of Object.entries(map)) out[to] = from;
  return out;
}

/** A chart patch is a JSON Merge Patch over the state (arrays such as `navigation` replaced). */
export function patchChart(chart: ChartState, patch: JsonObject, where: string): ChartState {
  return checkChart(mergePatch(chart as unknown as JsonObject, patch), where);
}
