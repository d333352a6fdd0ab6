import type { ChartLink, JsonObject, LinkKind } from '@convokit/core';

/** What a user did on one chart. `payload` is field -> value (filter, highlight) or a range. */
export interface ChartInteraction {
  chartId: string;
  kind: LinkKind;
  payload: JsonObject;
}

/** What one linked chart must apply, and the chain of charts it came through. */
export interface ChartUpdate {
  chartId: string;
  kind: LinkKind;
  payload: JsonObject;
  /** Chart ids from the source to this chart, both included. */
  via: string[];
}

/** Renames payload fields through a link's field map (filter and highlight payloads name fields). */
function mapPayload(
  kind: LinkKind,
  payload: JsonObject,
  fieldMap: Readonly<Record<string, string>>,
): JsonObject {
  if (kind !== 'filter' && kind !== 'highlight') return payload;
  const out: JsonObject = {};
  for (const [field, value] of Object.entries(payload)) out[fieldMap[field] ?? field] = value;
  return out;
}

/**
 * The updates each chart linked (directly or through other charts) to the interaction's chart
 * must apply, breadth first, each chart at most once: cycles between linked charts terminate,
 * and the source chart never receives its own interaction back.
 */
export function propagate(
  linksOf: (chartId: string) => readonly ChartLink[],
  interaction: ChartInteraction,
): ChartUpdate[] {
  const updates: ChartUpdate[] = [];
  const seen = new Set([interaction.chartId]);
  const queue: ChartUpdate[] = [
    {
      chartId: interaction.chartId,
      kind: interaction.kind,
      payload: interaction.payload,
      via: [interaction.chartId],
    },
  ];
  for (let i = 0; i < queue.length; i++) {
    const from = queue[i]!;
    for (const link of linksOf(from.chartId)) {
      if (seen.has(link.chartId) || !link.kinds.includes(interaction.kind)) continue;
      seen.add(link.chartId);
      const update: ChartUpdate = {
        chartId: link.chartId,
        kind: interaction.kind,
        payload: mapPayload(interaction.kind, from.payload, link.fieldMap),
        via: [...from.via, link.chartId],
      };
      updates.push(update);
      queue.push(update);
    }
  }
  return updates;
}
