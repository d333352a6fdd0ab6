import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Fields that hold conversation text or context values. They never reach a log line: the
 * logger helper censors them at any of the first two levels of nesting.
 */
export const REDACTED_FIELDS = [
  'userInput',
  'assistantResponse',
  'text',
  'query',
  'data',
  'patch',
  'metadata',
  'snippet',
] as const;

const REDACT_PATHS = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export const REDACTION_CENSOR = '[redacted]';

/**
 * The logger a convokit component writes to: silent unless the caller gives one, and a child of
 * the caller's logger (keeping its destination and level) with conversation text and context
 * values redacted. `component` is bound on every line.
 */
export function createLogger(component: string, logger?: Logger): Logger {
  const base = logger ?? pino({ level: 'silent' });
  return base.child({ component }, { redact: { paths: REDACT_PATHS, censor: REDACTION_CENSOR } });
}
