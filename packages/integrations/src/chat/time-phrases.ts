import { bucketStart, DAY_MS, HOUR_MS, nextBucketStart, WEEK_MS } from '@convokit/core';

/** A period found in a question, `to` exclusive, plus the words it was read from. */
export interface TimePhrase {
  from?: number;
  to?: number;
  /** The matched words, removed from the text before anything else is read from it. */
  matched: string;
  label: string;
}

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  twelve: 12,
  fourteen: 14,
  thirty: 30,
  ninety: 90,
};

function count(word: string): number | undefined {
  return /^\d+$/.test(word) ? Number(word) : NUMBER_WORDS[word];
}

function addMonths(at: number, months: number): number {
  const d = new Date(at);
  return Date.UTC(
    d.getUTCFullYear(),
    d.getUTCMonth() + months,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

function isoDay(text: string): number | undefined {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The most recent start of `month` (0-11) not after now, or in `year` when given. */
function monthStart(month: number, now: number, year?: number): number {
  const nowYear = new Date(now).getUTCFullYear();
  if (year !== undefined) return Date.UTC(year, month, 1);
  const thisYear = Date.UTC(nowYear, month, 1);
  return thisYear <= now ? thisYear : Date.UTC(nowYear - 1, month, 1);
}

type Rule = {
  pattern: RegExp;
  read: (m: RegExpMatchArray, now: number) => Omit<TimePhrase, 'matched'> | null;
};

const MONTH_NAMES = MONTHS.join('|');

/**
 * Calendar words mean UTC calendar periods (this week = the ISO week, Monday first); "last/past N
 * units" is a rolling window ending now. Rolling windows end just after `now`, so a turn
 * recorded this millisecond is in.
 */
const RULES: Rule[] = [
  {
    pattern: /\b(?:for |over )?(?:all time|ever|since (?:the )?beginning)\b/,
    read: () => ({ label: 'all time' }),
  },
  {
    pattern: /\bbetween (\d{4}-\d{2}-\d{2}) and (\d{4}-\d{2}-\d{2})\b/,
    read: (m) => {
      const from = isoDay(m[1]!);
      const last = isoDay(m[2]!);
      if (from === undefined || last === undefined || last < from) return null;
      return { from, to: last + DAY_MS, label: `${m[1]} to ${m[2]}` };
    },
  },
  {
    pattern: /\bsince (\d{4}-\d{2}-\d{2})\b/,
    read: (m, now) => {
      const from = isoDay(m[1]!);
      return from === undefined ? null : { from, to: now + 1, label: `since ${m[1]}` };
    },
  },
  {
    pattern: /\bon (\d{4}-\d{2}-\d{2})\b/,
    read: (m) => {
      const from = isoDay(m[1]!);
      return from === undefined ? null : { from, to: from + DAY_MS, label: m[1]! };
    },
  },
  {
    pattern: new RegExp(`\\b(?:in|during|for) (${MONTH_NAMES})(?: (\\d{4}))?\\b`),
    read: (m, now) => {
      const from = monthStart(MONTHS.indexOf(m[1]!), now, m[2] ? Number(m[2]) : undefined);
      return { from, to: nextBucketStart('month', from), label: m[2] ? `${m[1]} ${m[2]}` : m[1]! };
    },
  },
  {
    pattern:
      /\b(?:in |over |during |for )?(?:the )?(?:last|past|previous) (\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|thirty|ninety) (hours?|days?|weeks?|months?)\b/,
    read: (m, now) => {
      const n = count(m[1]!);
      if (!n) return null;
      const unit = m[2]!.replace(/s$/, '');
      const to = now + 1;
      const from =
        unit === 'hour'
          ? to - n * HOUR_MS
          : unit === 'day'
            ? to - n * DAY_MS
            : unit === 'week'
              ? to - n * WEEK_MS
              : addMonths(to, -n);
      return { from, to, label: `last ${n} ${unit}${n === 1 ? '' : 's'}` };
    },
  },
  {
    pattern: /\b(?:in the |over the |during the |for the )?(past|last) (24 hours|day)\b/,
    read: (_m, now) => ({ from: now + 1 - DAY_MS, to: now + 1, label: 'last 24 hours' }),
  },
  { pattern: /\btoday\b/, read: (_m, now) => calendar('day', now, 0, 'today') },
  { pattern: /\byesterday\b/, read: (_m, now) => calendar('day', now, -1, 'yesterday') },
  {
    pattern: /\b(?:this|current) (week|month|year)\b/,
    read: (m, now) => calendar(m[1] as CalendarUnit, now, 0, `this ${m[1]}`),
  },
  {
    pattern: /\b(?:last|previous|past) (week|month|year)\b/,
    read: (m, now) => calendar(m[1] as CalendarUnit, now, -1, `last ${m[1]}`),
  },
];

type CalendarUnit = 'day' | 'week' | 'month' | 'year';

function calendar(
  unit: CalendarUnit,
  now: number,
  offset: number,
  label: string,
): Omit<TimePhrase, 'matched'> {
  if (unit === 'year') {
    const year = new Date(now).getUTCFullYear() + offset;
    return { from: Date.UTC(year, 0, 1), to: Date.UTC(year + 1, 0, 1), label };
  }
  let from = bucketStart(unit, now);
  for (let i = 0; i > offset; i--) from = bucketStart(unit, from - 1);
  return { from, to: nextBucketStart(unit, from), label };
}

/** The first time phrase in `text` (lower-cased), if any. */
export function readTimePhrase(text: string, now: number): TimePhrase | undefined {
  for (const rule of RULES) {
    const m = text.match(rule.pattern);
    if (!m) continue;
    const period = rule.read(m, now);
    if (period) return { ...period, matched: m[0] };
  }
  return undefined;
}
