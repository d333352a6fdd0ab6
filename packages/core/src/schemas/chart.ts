import { z } from 'zod';
import { KeySchema } from './common.js';
import { JsonObjectSchema, JsonValueSchema } from './json.js';

/** One step of a drill-down: which level was entered and with which value. */
export const NavigationStepSchema = z
  .object({
    level: KeySchema,
    value: JsonValueSchema,
    label: z.string().max(256).optional(),
    /** Filters in force after this step. */
    filters: JsonObjectSchema.default({}),
  })
  .strict();
export type NavigationStep = z.infer<typeof NavigationStepSchema>;

export const LinkKindSchema = z.enum(['filter', 'zoom', 'timeRange', 'highlight']);
export type LinkKind = z.infer<typeof LinkKindSchema>;

export const ChartLinkSchema = z
  .object({
    chartId: KeySchema,
    /** Which interactions propagate to the linked chart. */
    kinds: z.array(LinkKindSchema).min(1).default(['filter']),
    /** Field in this chart mapped to a field in the linked chart, where names differ. */
    fieldMap: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type ChartLink = z.infer<typeof ChartLinkSchema>;

/** The `data` of a chart context: what a chart shows and how the user got there. */
export const ChartStateSchema = z
  .object({
    chartId: KeySchema,
    chartType: z.enum(['bar', 'line', 'area', 'pie', 'scatter', 'heatmap', 'table', 'treemap', 'other']),
    title: z.string().max(512).optional(),
    /** The current data (or a reference to it) the chart renders. */
    data: JsonValueSchema.default(null),
    filters: JsonObjectSchema.default({}),
    /** Visible range or zoom window, if any. */
    viewport: JsonObjectSchema.optional(),
    /** The drill-down path, root first. */
    navigation: z.array(NavigationStepSchema).max(64).default([]),
    links: z.array(ChartLinkSchema).max(64).default([]),
    enhancements: z
      .object({
        features: z.array(KeySchema).max(64).default([]),
        settings: JsonObjectSchema.default({}),
      })
      .strict()
      .default({ features: [], settings: {} }),
    preferences: JsonObjectSchema.default({}),
  })
  .strict();
export type ChartStateInput = z.input<typeof ChartStateSchema>;
export type ChartState = z.output<typeof ChartStateSchema>;
