import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

function textOf(content: object | undefined): string {
  if (!content || !('text' in content)) throw new Error('expected a text resource');
  return String(content.text);
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: Array<{ text?: string }>;
};

describe('convokit-mcp over stdio (the built bin, spoken to by the SDK client)', () => {
  let client: Client;

  beforeAll(async () => {
    if (!existsSync(bin)) throw new Error(`Build the package first (pnpm build): ${bin} is missing`);
    client = new Client({ name: 'convokit-test', version: '0.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [bin, '--memory', '--principal', 'ana'],
        stderr: 'pipe',
      }),
    );
  });

  afterAll(async () => {
    await client?.close();
  });

  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as ToolResult;

  it('lists the ten tools and two resource templates', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'ask_analytics',
      'context_create',
      'context_delete',
      'context_get',
      'context_list',
      'context_update',
      'get_session_context',
      'query_analytics',
      'record_turn',
      'search_conversations',
    ]);
    const record = tools.find((t) => t.name === 'record_turn')!;
    expect(record.inputSchema.required).toEqual(
      expect.arrayContaining(['sessionId', 'userInput', 'assistantResponse']),
    );
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate).sort()).toEqual([
      'convokit://contexts/{id}',
      'convokit://sessions/{sessionId}/summary',
    ]);
  });

  it('records turns, then answers analytics, search, session and chat questions from them', async () => {
    const at = Date.now() - 60_000;
    for (const [i, persona] of ['diego', 'diego', 'camille'].entries()) {
      const r = await call('record_turn', {
        sessionId: 's1',
        userId: 'ana',
        at: at + i,
        persona,
        userInput: i === 2 ? 'kubernetes upgrade plan' : `question ${i}`,
        assistantResponse: 'answer',
        latencyMs: 100 * (i + 1),
        frameworks: ['okr'],
      });
      expect(r.isError).toBeFalsy();
      expect((r.structuredContent!.turn as { id: string }).id).toHaveLength(26);
    }

    const usage = await call('query_analytics', { type: 'persona_usage' });
    expect(usage.isError).toBeFalsy();
    const data = usage.structuredContent!.data as {
      totalTurns: number;
      personas: Array<{ persona: string; turns: number }>;
    };
    expect(data.totalTurns).toBe(3);
    expect(data.personas.map((p) => [p.persona, p.turns])).toEqual([
      ['diego', 2],
      ['camille', 1],
    ]);

    const search = await call('search_conversations', { text: 'kubernetes' });
    const hits = search.structuredContent!.hits as Array<{ snippet: string }>;
    expect(hits).toHaveLength(1);
    expect(hits[0]!.snippet).toContain('<mark>kubernetes</mark>');

    const session = await call('get_session_context', { sessionId: 's1' });
    expect(session.structuredContent!.session).toMatchObject({ sessionId: 's1', turns: 3 });

    const ask = await call('ask_analytics', {
      question: 'which personas did I use most?',
      sessionId: 'chat',
    });
    expect(ask.structuredContent).toMatchObject({ understood: true, query: { type: 'persona_usage' } });
    expect(String(ask.structuredContent!.summary)).toContain('**diego** was used most');

    const summary = await client.readResource({ uri: 'convokit://sessions/s1/summary' });
    expect(JSON.parse(textOf(summary.contents[0]))).toMatchObject({ sessionId: 's1', turns: 3 });
  });

  it('creates, reads, updates, lists and deletes contexts, and reads one as a resource', async () => {
    const created = await call('context_create', {
      scope: 'session',
      id: 'ctx-1',
      sessionId: 's1',
      data: { a: 1 },
    });
    expect(created.structuredContent!.context).toMatchObject({ id: 'ctx-1', version: 1, ownerId: 'ana' });
    const updated = await call('context_update', { id: 'ctx-1', patch: { b: { c: 2 } }, expectedVersion: 1 });
    expect(updated.structuredContent!.context).toMatchObject({ version: 2, data: { a: 1, b: { c: 2 } } });
    const got = await call('context_get', { id: 'ctx-1' });
    expect(got.structuredContent!.context).toMatchObject({ version: 2 });
    const listed = await call('context_list', { scope: 'session' });
    expect((listed.structuredContent!.contexts as unknown[]).length).toBe(1);
    const resource = await client.readResource({ uri: 'convokit://contexts/ctx-1' });
    expect(JSON.parse(textOf(resource.contents[0]))).toMatchObject({ id: 'ctx-1', version: 2 });
    const deleted = await call('context_delete', { id: 'ctx-1' });
    expect(deleted.structuredContent).toEqual({ deleted: true });
  });

  it('reports errors as tool errors carrying the convokit code, and keeps serving', async () => {
    await call('context_create', { scope: 'session', id: 'ctx-2', data: {} });
    const stale = await call('context_update', { id: 'ctx-2', patch: { x: 1 }, expectedVersion: 7 });
    expect(stale.isError).toBe(true);
    expect(stale.structuredContent!.error).toMatchObject({ code: 'CONFLICT' });
    expect(stale.content[0]!.text).toMatch(/^CONFLICT: /);

    const missing = await call('context_get', { id: 'nope' });
    expect(missing.structuredContent!.error).toMatchObject({ code: 'NOT_FOUND' });

    const badQuery = await call('query_analytics', { type: 'persona_usage', timeRange: { from: 10, to: 5 } });
    expect(badQuery.structuredContent!.error).toMatchObject({ code: 'VALIDATION' });

    const badTurn = await call('record_turn', {
      sessionId: 's1',
      userInput: 'q',
      assistantResponse: 'a',
      feedback: 3,
    });
    expect(badTurn.isError).toBe(true);

    const still = await call('query_analytics', { type: 'performance_metrics' });
    expect(still.isError).toBeFalsy();
  });
});
