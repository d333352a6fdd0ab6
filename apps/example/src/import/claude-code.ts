import type { TurnInput } from '@convokit/core';

/**
 * Claude Code writes one JSON-lines file per session. The entries this reads:
 * - `type: "user"` with `message.content` a string, or blocks of which some are `text`: a prompt,
 *   which starts a turn (`isMeta` entries and tool results are not prompts);
 * - `type: "assistant"`: `message.id`, `message.model`, `message.content` blocks (`text`,
 *   `tool_use` with a `name`) and `message.usage`. One message is often split over several
 *   entries with the same `message.id`, each repeating the usage: a message's usage counts once
 *   (the largest figure seen for each field).
 * Everything else (summaries, tool results, system entries) only extends the current turn.
 */
export interface ClaudeEntry {
  type?: string;
  uuid?: string;
  sessionId?: string;
  timestamp?: string;
  isSidechain?: boolean;
  isMeta?: boolean;
  isApiErrorMessage?: boolean;
  cwd?: string;
  gitBranch?: string;
  version?: string;
  message?: {
    id?: string;
    role?: string;
    model?: string;
    content?: string | Array<{ type?: string; text?: string; name?: string; is_error?: boolean }>;
    usage?: Record<string, number | undefined>;
  };
}

interface Usage {
  input: number;
  output: number;
}

interface OpenTurn {
  promptId: string;
  sessionId: string;
  at: number;
  lastAt: number;
  prompt: string;
  texts: string[];
  tools: Set<string>;
  usage: Map<string, Usage>;
  model?: string;
  sidechain: boolean;
  apiError: boolean;
  meta: { cwd?: string; gitBranch?: string; version?: string };
}

function isPrompt(e: ClaudeEntry): boolean {
  if (e.type !== 'user' || e.isMeta || !e.message) return false;
  const c = e.message.content;
  if (typeof c === 'string') return c.trim() !== '' && !c.startsWith('<local-command-stdout>');
  return Array.isArray(c) && c.some((b) => b.type === 'text') && !c.some((b) => b.type === 'tool_result');
}

function promptText(e: ClaudeEntry): string {
  const c = e.message?.content;
  if (typeof c === 'string') return c;
  return (c ?? [])
    .filter((b) => b.type === 'text')
    .map((b) => b.text ?? '')
    .join('\n');
}

function usageOf(u: Record<string, number | undefined> | undefined): Usage {
  const n = (k: string) => (typeof u?.[k] === 'number' ? (u[k] as number) : 0);
  return {
    input: n('input_tokens') + n('cache_creation_input_tokens') + n('cache_read_input_tokens'),
    output: n('output_tokens'),
  };
}

/** Folds a session's entries, in file order, into turns. */
export class ClaudeSessionReader {
  #open: OpenTurn | null = null;
  readonly #done: TurnInput[] = [];
  readonly #userId: string | undefined;

  constructor(options: { userId?: string } = {}) {
    this.#userId = options.userId;
  }

  add(e: ClaudeEntry): void {
    const at = e.timestamp ? Date.parse(e.timestamp) : Number.NaN;
    if (isPrompt(e) && e.uuid && e.sessionId && Number.isFinite(at)) {
      this.#close();
      this.#open = {
        promptId: e.uuid,
        sessionId: e.sessionId,
        at,
        lastAt: at,
        prompt: promptText(e),
        texts: [],
        tools: new Set(),
        usage: new Map(),
        sidechain: e.isSidechain === true,
        apiError: false,
        meta: {
          ...(e.cwd ? { cwd: e.cwd } : {}),
          ...(e.gitBranch ? { gitBranch: e.gitBranch } : {}),
          ...(e.version ? { version: e.version } : {}),
        },
      };
      return;
    }
    const turn = this.#open;
    if (!turn) return;
    if (Number.isFinite(at) && at > turn.lastAt) turn.lastAt = at;
    if (e.type !== 'assistant' || !e.message) return;
    if (e.isApiErrorMessage) turn.apiError = true;
    if (e.message.model && e.message.model !== '<synthetic>') turn.model = e.message.model;
    const id = e.message.id ?? e.uuid ?? `entry-${turn.usage.size}`;
    const seen = turn.usage.get(id) ?? { input: 0, output: 0 };
    const now = usageOf(e.message.usage);
    turn.usage.set(id, { input: Math.max(seen.input, now.input), output: Math.max(seen.output, now.output) });
    const content = e.message.content;
    if (typeof content === 'string') turn.texts.push(content);
    else {
      for (const block of content ?? []) {
        if (block.type === 'text' && block.text) turn.texts.push(block.text);
        if (block.type === 'tool_use' && block.name) turn.tools.add(block.name);
      }
    }
  }

  /** Every complete turn, oldest first; call once after the last entry. */
  finish(): TurnInput[] {
    this.#close();
    return this.#done;
  }

  #close(): void {
    const t = this.#open;
    if (!t) return;
    this.#open = null;
    let input = 0;
    let output = 0;
    for (const u of t.usage.values()) {
      input += u.input;
      output += u.output;
    }
    const tools = [...t.tools];
    const mcpServers = [
      ...new Set(
        tools
          .filter((n) => n.startsWith('mcp__'))
          .map((n) => n.split('__')[1]!)
          .filter(Boolean),
      ),
    ];
    const answered = t.usage.size > 0;
    const turn: TurnInput = {
      id: `cc-${t.promptId}`,
      sessionId: t.sessionId,
      at: t.at,
      userInput: t.prompt,
      assistantResponse: t.texts.join('\n\n'),
      tools,
      mcpServers,
      outcome: t.apiError || !answered ? 'error' : 'ok',
      metadata: { source: 'claude-code', ...t.meta },
    };
    if (this.#userId) turn.userId = this.#userId;
    const persona = t.sidechain ? 'subagent' : t.model;
    if (persona) turn.persona = persona;
    if (answered) {
      turn.latencyMs = Math.max(0, t.lastAt - t.at);
      turn.tokens = { input, output };
    }
    if (t.apiError) turn.errorCode = 'API_ERROR';
    else if (!answered) turn.errorCode = 'NO_RESPONSE';
    this.#done.push(turn);
  }
}
