import type { TurnInput } from '@convokit/core';

/**
 * The fixed data set every expected value in these tests is computed from by hand.
 *
 * Calendar (UTC): 2026-03-02 is a Monday. ISO weeks: W1 = Mar 2..8, W2 = Mar 9..15,
 * W3 = Mar 16..22. "Now" is Mar 23 00:00 (Monday). The full period is [Mar 2, Mar 23): 21 days,
 * 504 hours.
 *
 * | id  | at (UTC)        | sess | user | persona | frameworks       | latency | outcome | feedback |
 * | t01 | Mar 02 09:00    | s1   | u1   | cto     | okr, swot        | 100     | ok      | 1        |
 * | t02 | Mar 02 09:05    | s1   | u1   | cto     | okr              | 200     | ok      |          |
 * | t03 | Mar 02 09:20    | s1   | u1   | pm      | raci             | 300     | error   |          |
 * | t04 | Mar 04 14:00    | s2   | u2   | pm      | swot             | 150     | ok      | -1       |
 * | t05 | Mar 04 14:30    | s2   | u2   | pm      |                  | -       | ok      |          |
 * | t06 | Mar 10 10:00    | s3   | u1   | cto     | okr, swot        | 120     | ok      | 0.5      |
 * | t07 | Mar 10 10:10    | s3   | u1   | eng     | porter           | 400     | error   |          |
 * | t08 | Mar 10 11:10    | s3   | u1   | eng     | porter, okr      | 250     | ok      |          |
 * | t09 | Mar 12 23:50    | s4   | -    | eng     | raci             | 80      | ok      |          |
 * | t10 | Mar 13 00:10    | s4   | -    | cto     |                  | 90      | ok      | 1        |
 * | t11 | Mar 16 08:00    | s5   | u2   | cto     | okr, swot        | 110     | ok      |          |
 * | t12 | Mar 16 08:01    | s5   | u2   | cto     | okr, swot, raci  | 130     | ok      |          |
 * | t13 | Mar 16 08:30    | s5   | u2   | pm      | swot             | 500     | error   |          |
 * | t14 | Mar 18 15:00    | s6   | u3   | eng     | porter           | 600     | ok      | -0.5     |
 * | t15 | Mar 18 15:45    | s6   | u3   | eng     | porter, raci     | 700     | error   |          |
 * | t16 | Mar 18 16:00    | s6   | u3   | -       |                  | 50      | ok      |          |
 * | t17 | Mar 21 20:00    | s7   | u1   | cto     | okr              | 140     | ok      |          |
 * | t18 | Mar 21 20:02    | s7   | u1   | cto     | okr, raci        | 160     | ok      | 1        |
 * | t19 | Mar 21 12:00    | s8   | -    | pm      |                  | -       | ok      |          |
 * | t20 | Mar 21 12:00:30 | s8   | -    | eng     | swot             | 220     | error   |          |
 *
 * Tokens: every turn with a latency L has tokens { input: L / 10, output: L / 5 }.
 * Tools: t11 [search], t12 [search, calc]. Text: t01 and t06 mention "OKR".
 */
export const day = (d: number, time = '00:00:00') =>
  Date.parse(`2026-03-${String(d).padStart(2, '0')}T${time}Z`);

export const NOW = day(23);
export const FULL = { from: day(2), to: day(23) };
export const W1 = { from: day(2), to: day(9) };
export const W2 = { from: day(9), to: day(16) };
export const W3 = { from: day(16), to: day(23) };

interface Row {
  id: string;
  at: number;
  session: string;
  user?: string;
  persona?: string;
  frameworks: string[];
  latency?: number;
  error?: boolean;
  feedback?: number;
  tools?: string[];
  text?: string;
}

const rows: Row[] = [
  {
    id: 't01',
    at: day(2, '09:00:00'),
    session: 's1',
    user: 'u1',
    persona: 'cto',
    frameworks: ['okr', 'swot'],
    latency: 100,
    feedback: 1,
    text: 'How do we set quarterly OKR targets?',
  },
  {
    id: 't02',
    at: day(2, '09:05:00'),
    session: 's1',
    user: 'u1',
    persona: 'cto',
    frameworks: ['okr'],
    latency: 200,
  },
  {
    id: 't03',
    at: day(2, '09:20:00'),
    session: 's1',
    user: 'u1',
    persona: 'pm',
    frameworks: ['raci'],
    latency: 300,
    error: true,
  },
  {
    id: 't04',
    at: day(4, '14:00:00'),
    session: 's2',
    user: 'u2',
    persona: 'pm',
    frameworks: ['swot'],
    latency: 150,
    feedback: -1,
  },
  { id: 't05', at: day(4, '14:30:00'), session: 's2', user: 'u2', persona: 'pm', frameworks: [] },
  {
    id: 't06',
    at: day(10, '10:00:00'),
    session: 's3',
    user: 'u1',
    persona: 'cto',
    frameworks: ['okr', 'swot'],
    latency: 120,
    feedback: 0.5,
    text: 'Review the OKR progress of the platform team',
  },
  {
    id: 't07',
    at: day(10, '10:10:00'),
    session: 's3',
    user: 'u1',
    persona: 'eng',
    frameworks: ['porter'],
    latency: 400,
    error: true,
  },
  {
    id: 't08',
    at: day(10, '11:10:00'),
    session: 's3',
    user: 'u1',
    persona: 'eng',
    frameworks: ['porter', 'okr'],
    latency: 250,
  },
  { id: 't09', at: day(12, '23:50:00'), session: 's4', persona: 'eng', frameworks: ['raci'], latency: 80 },
  {
    id: 't10',
    at: day(13, '00:10:00'),
    session: 's4',
    persona: 'cto',
    frameworks: [],
    latency: 90,
    feedback: 1,
  },
  {
    id: 't11',
    at: day(16, '08:00:00'),
    session: 's5',
    user: 'u2',
    persona: 'cto',
    frameworks: ['okr', 'swot'],
    latency: 110,
    tools: ['search'],
  },
  {
    id: 't12',
    at: day(16, '08:01:00'),
    session: 's5',
    user: 'u2',
    persona: 'cto',
    frameworks: ['okr', 'swot', 'raci'],
    latency: 130,
    tools: ['search', 'calc'],
  },
  {
    id: 't13',
    at: day(16, '08:30:00'),
    session: 's5',
    user: 'u2',
    persona: 'pm',
    frameworks: ['swot'],
    latency: 500,
    error: true,
  },
  {
    id: 't14',
    at: day(18, '15:00:00'),
    session: 's6',
    user: 'u3',
    persona: 'eng',
    frameworks: ['porter'],
    latency: 600,
    feedback: -0.5,
  },
  {
    id: 't15',
    at: day(18, '15:45:00'),
    session: 's6',
    user: 'u3',
    persona: 'eng',
    frameworks: ['porter', 'raci'],
    latency: 700,
    error: true,
  },
  { id: 't16', at: day(18, '16:00:00'), session: 's6', user: 'u3', frameworks: [], latency: 50 },
  {
    id: 't17',
    at: day(21, '20:00:00'),
    session: 's7',
    user: 'u1',
    persona: 'cto',
    frameworks: ['okr'],
    latency: 140,
  },
  {
    id: 't18',
    at: day(21, '20:02:00'),
    session: 's7',
    user: 'u1',
    persona: 'cto',
    frameworks: ['okr', 'raci'],
    latency: 160,
    feedback: 1,
  },
  { id: 't19', at: day(21, '12:00:00'), session: 's8', persona: 'pm', frameworks: [] },
  {
    id: 't20',
    at: day(21, '12:00:30'),
    session: 's8',
    persona: 'eng',
    frameworks: ['swot'],
    latency: 220,
    error: true,
  },
];

/** The fixture as recordTurn inputs (ids and times given, so every adapter stores the same turns). */
export function fixtureTurns(): TurnInput[] {
  return rows.map((r) => {
    const turn: TurnInput = {
      id: r.id,
      at: r.at,
      sessionId: r.session,
      userInput: r.text ?? `Question ${r.id}`,
      assistantResponse: `Answer ${r.id}`,
      frameworks: r.frameworks,
      tools: r.tools ?? [],
      outcome: r.error ? 'error' : 'ok',
    };
    if (r.user) turn.userId = r.user;
    if (r.persona) turn.persona = r.persona;
    if (r.latency !== undefined) {
      turn.latencyMs = r.latency;
      turn.tokens = { input: r.latency / 10, output: r.latency / 5 };
    }
    if (r.error) turn.errorCode = 'upstream_failed';
    if (r.feedback !== undefined) turn.feedback = r.feedback;
    return turn;
  });
}
