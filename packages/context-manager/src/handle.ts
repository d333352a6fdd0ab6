import type {
  ChartState,
  ChartStateInput,
  Context,
  ContextScope,
  JsonObject,
  NavigationStep,
  PageInput,
  PageResult,
  Principal,
} from '@convokit/core';
import { ChartLinkSchema, ConvokitError, validate } from '@convokit/core';
import {
  checkChart,
  effectiveFilters,
  invertFieldMap,
  type LinkOptions,
  type NavigationStepInput,
  patchChart,
  popStep,
  pushStep,
  readChart,
  withLink,
  withoutLink,
} from './chart.js';
import { checkJsonObject, checkKey, checkOptions } from './checks.js';
import type { ContextEngine } from './engine.js';
import { invalid } from './json.js';
import { applyUpdate } from './merge.js';
import type {
  CreateOptions,
  DeleteOptions,
  ListFilter,
  ResolvedContext,
  UpdateOptions,
  WriteResult,
} from './types.js';

export interface CreateChartOptions extends CreateOptions {
  /** Default `analytics`. */
  scope?: ContextScope;
}

/** A chart context: the stored context, its chart state and the filters in force. */
export interface ChartView {
  context: Context;
  chart: ChartState;
  /** The last navigation step's filters, or the chart's own when the stack is empty. */
  filters: JsonObject;
}

function view(context: Context, where: string): ChartView {
  const chart = readChart(context.data, context.id, where);
  return { context, chart, filters: effectiveFilters(chart) };
}

/** Calls made as one principal. Get one from `manager.as(principal)`. */
export class ContextHandle {
  readonly #m: ContextEngine;
  readonly principal: Principal;

  /** @internal */
  constructor(manager: ContextEngine, principal: Principal) {
    this.#m = manager;
    this.principal = principal;
  }

  /** Creates a context owned by this principal (or `options.ownerId`, if the policy allows). */
  create(scope: ContextScope, data: JsonObject = {}, options: CreateOptions = {}): Promise<Context> {
    return this.#m.createTracked(this.principal, scope, data, options);
  }

  /** The live context, counting the access (and sliding its expiry); `undefined` if absent or expired. */
  get(id: string): Promise<Context | undefined> {
    return this.#m.get(this.principal, id);
  }

  /** Live contexts matching `filter` that this principal may read, by (createdAt, id). */
  list(filter: ListFilter = {}, page: PageInput = {}): Promise<PageResult<Context>> {
    return this.#m.run('list', () => this.#m.list(this.principal, filter, page));
  }

  /** Live children of a context, the ones this principal may read. */
  children(id: string): Promise<Context[]> {
    return this.#m.run('children', () => this.#m.children(this.principal, id));
  }

  /** Writes `patch` by `strategy` (default `deep`); returns the context at its new version. */
  update(id: string, patch: JsonObject, options: UpdateOptions = {}): Promise<Context> {
    return this.#m.updateTracked(this.principal, id, patch, options);
  }

  /** `true` when a live context was deleted. */
  delete(id: string, options: DeleteOptions = {}): Promise<boolean> {
    return this.#m.run('delete', () => this.#m.delete(this.principal, id, options));
  }

  /** Deletes the contexts of `scope` this principal may delete (with their descendants); returns how many. */
  clearScope(scope: ContextScope): Promise<number> {
    return this.#m.run('clearScope', () => this.#m.clearScope(this.principal, scope));
  }

  /** Sets `expiresAt` to now + `ttlMs` (`null`: never expires). A write: the version goes up. */
  extend(id: string, ttlMs: number | null): Promise<Context> {
    return this.#m.run('extend', () => this.#m.extend(this.principal, id, ttlMs));
  }

  /** The context's data overlaid on its ancestors' (the child wins); `undefined` if absent or expired. */
  resolve(id: string): Promise<ResolvedContext | undefined> {
    return this.#m.run('resolve', () => this.#m.resolve(this.principal, id));
  }

  // ---- chart state ----

  /** Creates a context (scope `analytics` unless given) whose data is the validated chart state. */
  createChart(state: ChartStateInput, options: CreateChartOptions = {}): Promise<ChartView> {
    return this.#m.run('createChart', async () => {
      const chart = checkChart(state, 'ContextHandle.createChart');
      const { scope = 'analytics', ...rest } = checkOptions(
        options,
        'ContextHandle.createChart',
      ) as CreateChartOptions;
      const context = await this.#m.create(this.principal, scope, chart as unknown as JsonObject, rest);
      return view(context, 'ContextHandle.createChart');
    });
  }

  /** The chart in a context (`VALIDATION` if the context holds something else); counts as a read. */
  getChart(id: string): Promise<ChartView | undefined> {
    return this.#m.run('getChart', async () => {
      const context = await this.#m.read(this.principal, id);
      return context && view(context, 'ContextHandle.getChart');
    });
  }

  /**
   * Pushes a drill-down step. Without `filters`, the step's filters are the ones in force plus
   * `{ [level]: value }`.
   */
  pushNavigation(id: string, step: NavigationStepInput): Promise<ChartView> {
    const where = 'ContextHandle.pushNavigation';
    return this.#m.run('pushNavigation', async () => {
      const id_ = checkKey(id, where, 'id');
      return this.#chartWrite(id_, where, (chart) => pushStep(chart, step, where));
    });
  }

  /** Pops the last step (no write when the stack is empty); `popped` is what was removed. */
  popNavigation(id: string): Promise<ChartView & { popped: NavigationStep | undefined }> {
    const where = 'ContextHandle.popNavigation';
    return this.#m.run('popNavigation', async () => {
      const id_ = checkKey(id, where, 'id');
      let popped: NavigationStep | undefined;
      const r = await this.#chartWrite(id_, where, (chart) => {
        const out = popStep(chart);
        popped = out.popped;
        return out.popped ? out.chart : null;
      });
      return { ...r, popped };
    });
  }

  /**
   * Links chart `sourceId` to chart `targetId` (a link names the target's context id), and back
   * unless `bidirectional: false`. Two writes, one per chart; each is atomic, the pair is not.
   */
  linkCharts(sourceId: string, targetId: string, options: LinkOptions = {}): Promise<ChartView> {
    const where = 'ContextHandle.linkCharts';
    return this.#m.run('linkCharts', async () => {
      const source = checkKey(sourceId, where, 'sourceId');
      const target = checkKey(targetId, where, 'targetId');
      if (source === target) throw invalid(where, 'targetId', 'must differ from sourceId');
      const o = checkOptions(options, where) as LinkOptions;
      if (o.bidirectional !== undefined && typeof o.bidirectional !== 'boolean') {
        throw invalid(where, 'bidirectional', 'must be a boolean');
      }
      const link = validate(
        ChartLinkSchema,
        { chartId: target, kinds: o.kinds, fieldMap: o.fieldMap },
        where,
      );
      // The target must be a live chart before the source is written.
      await this.#m.read(this.principal, target).then((c) => {
        if (!c) throw notFoundChart(target);
        readChart(c.data, target, where);
      });
      const r = await this.#chartWrite(source, where, (chart) => withLink(chart, link, where));
      if (o.bidirectional !== false) {
        const back = { chartId: source, kinds: link.kinds, fieldMap: invertFieldMap(link.fieldMap) };
        await this.#chartWrite(target, where, (chart) => withLink(chart, back, where));
      }
      return r;
    });
  }

  /** Removes the links between two charts, both ways; `true` if any link was removed. */
  unlinkCharts(sourceId: string, targetId: string): Promise<boolean> {
    const where = 'ContextHandle.unlinkCharts';
    return this.#m.run('unlinkCharts', async () => {
      const source = checkKey(sourceId, where, 'sourceId');
      const target = checkKey(targetId, where, 'targetId');
      let removed = false;
      for (const [from, to] of [
        [source, target],
        [target, source],
      ] as const) {
        await this.#chartWrite(from, where, (chart) => {
          const out = withoutLink(chart, to);
          removed ||= out.removed;
          return out.removed ? out.chart : null;
        });
      }
      return removed;
    });
  }

  /** Applies a JSON Merge Patch to the chart state (arrays replaced, `null` deletes) and validates the result. */
  updateChart(id: string, patch: Partial<ChartStateInput> | JsonObject): Promise<ChartView> {
    const where = 'ContextHandle.updateChart';
    return this.#m.run('updateChart', async () => {
      const id_ = checkKey(id, where, 'id');
      checkJsonObject(patch, where, 'patch');
      return this.#chartWrite(id_, where, (chart) => patchChart(chart, patch as JsonObject, where));
    });
  }

  /**
   * A chart read-modify-write through the manager's versioned write path; `null` from `change`
   * writes nothing. Returns the chart view of the result without parsing the state a second time.
   */
  async #chartWrite(
    id: string,
    where: string,
    change: (chart: ChartState) => ChartState | null,
  ): Promise<ChartView> {
    let chart: ChartState | undefined;
    const r: WriteResult = await this.#m.write(this.principal, id, undefined, (ctx) => {
      const current = readChart(ctx.data, id, where);
      const next = change(current);
      chart = next ?? current;
      if (next === null) return null;
      const data = next as unknown as JsonObject;
      return { changes: { data }, changedKeys: applyUpdate(ctx.data, data, 'replace').changedKeys };
    });
    return { context: r.context, chart: chart!, filters: effectiveFilters(chart!) };
  }
}

function notFoundChart(id: string): ConvokitError {
  return new ConvokitError('NOT_FOUND', `No live context ${id}`, { contextId: id });
}
