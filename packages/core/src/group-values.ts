import type { GroupKey, GroupValue } from './schemas/aggregate.js';
import { MULTI_VALUED_KEYS } from './schemas/aggregate.js';
import type { Turn } from './schemas/turn.js';
import { bucketStart, dayOfWeek, hourOfDay } from './time-buckets.js';

/** The group keys a turn may hold several values of (its lists). */
export type MultiValuedKey = (typeof MULTI_VALUED_KEYS)[number];

/** A turn's names along a multi-valued key. */
export function multiGroupValues(turn: Turn, key: MultiValuedKey): readonly string[] {
  switch (key) {
    case 'framework':
      return turn.frameworks;
    case 'tool':
      return turn.tools;
    case 'mcpServer':
      return turn.mcpServers;
  }
}

/** A turn's one value along a single-valued key (time keys: its bucket start or hour/day index). */
export function singleGroupValue(turn: Turn, key: Exclude<GroupKey, MultiValuedKey>): GroupValue {
  switch (key) {
    case 'persona':
      return turn.persona ?? null;
    case 'session':
      return turn.sessionId;
    case 'user':
      return turn.userId ?? null;
    case 'conversation':
      return turn.conversationId ?? null;
    case 'outcome':
      return turn.outcome;
    case 'hour':
    case 'day':
    case 'week':
    case 'month':
      return bucketStart(key, turn.at);
    case 'hourOfDay':
      return hourOfDay(turn.at);
    case 'dayOfWeek':
      return dayOfWeek(turn.at);
  }
}

const MULTI: ReadonlySet<GroupKey> = new Set(MULTI_VALUED_KEYS);

/** The values a turn falls under for a group key: one, or its list for a multi-valued key. */
export function groupValuesOf(turn: Turn, key: GroupKey): readonly GroupValue[] {
  return MULTI.has(key)
    ? multiGroupValues(turn, key as MultiValuedKey)
    : [singleGroupValue(turn, key as Exclude<GroupKey, MultiValuedKey>)];
}
