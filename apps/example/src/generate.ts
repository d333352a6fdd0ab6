import type { TurnInput } from '@convokit/core';
import { DAY_MS, dayOfWeek } from '@convokit/core';
import { Random } from './random.js';

/**
 * A seeded, realistic data set in the style of a strategic-leadership assistant: engineering
 * leaders talking to personas (each with its own frameworks, tools, latency and error profile),
 * with working-hour and weekday rhythms, and a few real changes for the insight detectors to
 * find: camille's share grows over the last three weeks, wardley mapping rises, martin's latency
 * regresses in the last week and the jira tool fails more for three days a month ago.
 */
export interface GenerateOptions {
  seed?: number;
  /** The data ends here (exclusive), epoch ms. */
  end: number;
  days?: number;
  /** About this many turns in all. */
  turns?: number;
}

interface PersonaProfile {
  name: string;
  weight: number;
  latencyMedianMs: number;
  frameworks: string[];
  tools: string[];
  topics: string[];
}

const PERSONAS: PersonaProfile[] = [
  {
    name: 'diego',
    weight: 30,
    latencyMedianMs: 2100,
    frameworks: ['team_topologies', 'accelerate_dora', 'crucial_conversations', 'okr'],
    tools: ['jira', 'confluence', 'slack'],
    topics: [
      'platform team structure',
      'hiring plan',
      'on-call load',
      'cross-team dependencies',
      'engineering OKRs',
    ],
  },
  {
    name: 'camille',
    weight: 18,
    latencyMedianMs: 2900,
    frameworks: ['wardley_mapping', 'good_strategy_bad_strategy', 'porter_five_forces', 'swot'],
    tools: ['web_search', 'google_drive'],
    topics: ['technology strategy', 'build versus buy', 'AI platform bets', 'cloud cost strategy'],
  },
  {
    name: 'rachel',
    weight: 14,
    latencyMedianMs: 1700,
    frameworks: ['design_thinking', 'jobs_to_be_done', 'okr'],
    tools: ['figma', 'confluence'],
    topics: ['design system adoption', 'component library roadmap', 'accessibility audit'],
  },
  {
    name: 'alvaro',
    weight: 12,
    latencyMedianMs: 2500,
    frameworks: ['capital_allocation', 'porter_five_forces', 'swot'],
    tools: ['google_drive', 'web_search'],
    topics: ['platform investment case', 'quarterly budget', 'ROI of the migration'],
  },
  {
    name: 'martin',
    weight: 14,
    latencyMedianMs: 2300,
    frameworks: ['wardley_mapping', 'accelerate_dora', 'team_topologies'],
    tools: ['github', 'mcp__sequential__think', 'jira'],
    topics: ['kubernetes migration', 'service boundaries', 'incident review', 'architecture decision record'],
  },
  {
    name: 'marcus',
    weight: 7,
    latencyMedianMs: 1900,
    frameworks: ['crucial_conversations', 'raci'],
    tools: ['slack', 'mcp__context7__docs'],
    topics: ['platform adoption', 'change management', 'internal communication plan'],
  },
  {
    name: 'sofia',
    weight: 5,
    latencyMedianMs: 2600,
    frameworks: ['swot', 'raci', 'capital_allocation'],
    tools: ['web_search', 'google_drive'],
    topics: ['vendor evaluation', 'contract renewal', 'observability vendor'],
  },
];

const QUESTION_TEMPLATES = [
  'How should we approach {topic} using {framework}?',
  'Can you help me think through {topic}?',
  'What are the risks in our {topic}, and what would you prioritise?',
  'Draft a one-page summary of {topic} for the leadership review.',
  'We keep slipping on {topic}. What should I ask the team?',
  'Compare two options for {topic} with {framework}.',
];

const ANSWER_TEMPLATES = [
  'Start with the constraints: {topic} touches three teams. Using {framework}, map who owns what, then pick the smallest change that removes the bottleneck.',
  'Here is a structure for {topic}: context, options, trade-offs, decision. {framework} suggests looking at the flow of work first.',
  'The main risks in {topic} are unclear ownership and hidden dependencies. I would prioritise the decision record and a two-week spike.',
  'A short plan for {topic}: agree the goal, measure the baseline, run one experiment, review in a month. {framework} gives you the vocabulary.',
];

function user(i: number): string {
  const names = [
    'ana',
    'ben',
    'chen',
    'dana',
    'eli',
    'fatima',
    'gus',
    'hana',
    'ivan',
    'jo',
    'kai',
    'lena',
    'mo',
    'nia',
    'omar',
    'pia',
  ];
  return i < names.length ? names[i]! : `${names[i % names.length]}${Math.floor(i / names.length) + 1}`;
}

/** Every turn of the data set, oldest first. */
export function* generateTurns(options: GenerateOptions): Generator<TurnInput> {
  const random = new Random(options.seed ?? 42);
  const days = options.days ?? 90;
  const target = options.turns ?? 50_000;
  const end = options.end - (options.end % DAY_MS);
  const start = end - days * DAY_MS;
  const users = Array.from({ length: 40 }, (_, i) => ({
    id: user(i),
    activity: 0.4 + random.next() * 1.6,
    offsetHours: random.pick([-8, -5, 0, 1, 2, 5.5, 9]),
    favourite: random.pick(PERSONAS).name,
  }));
  const meanTurnsPerSession = 7.5;
  const weekendFactor = 1 / 6.7; // a weekend day has about 15% of a weekday's sessions
  const dayWeight = 5 / 7 + (2 / 7) * weekendFactor;
  const sessionsPerWeekday = target / meanTurnsPerSession / (days * dayWeight);
  const activityTotal = users.reduce((s, u) => s + u.activity, 0);
  let sessionNo = 0;

  for (let day = start; day < end; day += DAY_MS) {
    const age = (end - day) / DAY_MS; // days before the end
    const weekend = dayOfWeek(day) >= 5;
    for (const u of users) {
      const expected = ((sessionsPerWeekday * u.activity) / activityTotal) * (weekend ? weekendFactor : 1);
      const sessions = random.poisson(expected);
      for (let s = 0; s < sessions; s++) {
        sessionNo++;
        const localHour = weekend
          ? random.int(9, 20)
          : Math.min(21, Math.max(7, Math.round(13 + 2.6 * random.normal())));
        let at = day + ((localHour - u.offsetHours + 24) % 24) * 3_600_000 + random.int(0, 3_599_999);
        const persona = pickPersona(random, u.favourite, age);
        const length = 1 + random.poisson(meanTurnsPerSession - 1);
        const sessionId = `sess-${String(sessionNo).padStart(6, '0')}`;
        for (let t = 0; t < length && at < end; t++) {
          yield makeTurn(random, { at, sessionId, userId: u.id, persona, age });
          at += random.int(40_000, 420_000);
        }
      }
    }
  }
}

function pickPersona(random: Random, favourite: string, age: number): PersonaProfile {
  if (random.chance(0.35)) return PERSONAS.find((p) => p.name === favourite)!;
  // camille's share grows over the last three weeks.
  const boost = age < 21 ? 1 + (21 - age) / 10 : 1;
  return random.weighted(
    PERSONAS.map((p) => [p, p.name === 'camille' ? p.weight * boost : p.weight] as const),
  );
}

function makeTurn(
  random: Random,
  t: { at: number; sessionId: string; userId: string; persona: PersonaProfile; age: number },
): TurnInput {
  const p = t.persona;
  const frameworks = new Set<string>();
  if (random.chance(0.72)) frameworks.add(random.pick(p.frameworks));
  if (random.chance(0.22)) frameworks.add(random.pick(p.frameworks));
  // wardley mapping rises over the last month.
  if (t.age < 30 && random.chance((30 - t.age) / 120)) frameworks.add('wardley_mapping');
  const tools = new Set<string>();
  if (random.chance(0.45)) tools.add(random.pick(p.tools));
  if (random.chance(0.12)) tools.add(random.pick(p.tools));
  const toolList = [...tools];
  const mcpServers = [
    ...new Set(toolList.filter((x) => x.startsWith('mcp__')).map((x) => x.split('__')[1]!)),
  ];

  let latency = random.logNormal(p.latencyMedianMs, 0.45) + toolList.length * random.logNormal(900, 0.6);
  if (p.name === 'martin' && t.age < 7) latency *= 1.6; // the regression
  let errorRate = 0.02 + toolList.length * 0.01;
  if (tools.has('jira') && t.age >= 30 && t.age < 33) errorRate = 0.35; // the outage
  const failed = random.chance(errorRate);

  const topic = random.pick(p.topics);
  const framework = [...frameworks][0]?.replace(/_/g, ' ') ?? 'first principles';
  const fill = (s: string) => s.replace('{topic}', topic).replace('{framework}', framework);
  const inputTokens = Math.round(random.logNormal(900, 0.7));
  const outputTokens = failed ? 0 : Math.round(random.logNormal(520, 0.6));
  const turn: TurnInput = {
    sessionId: t.sessionId,
    userId: t.userId,
    at: t.at,
    persona: p.name,
    userInput: fill(random.pick(QUESTION_TEMPLATES)),
    assistantResponse: failed ? '' : fill(random.pick(ANSWER_TEMPLATES)),
    frameworks: [...frameworks],
    tools: toolList,
    mcpServers,
    latencyMs: Math.round(latency),
    tokens: { input: inputTokens, output: outputTokens },
    outcome: failed ? 'error' : 'ok',
  };
  if (failed)
    turn.errorCode = tools.has('jira') ? 'TOOL_TIMEOUT' : random.pick(['RATE_LIMITED', 'TOOL_ERROR']);
  if (random.chance(0.14)) turn.feedback = random.chance(failed ? 0.2 : 0.82) ? 1 : -1;
  return turn;
}

export const DEMO_PERSONAS = PERSONAS.map((p) => p.name);
