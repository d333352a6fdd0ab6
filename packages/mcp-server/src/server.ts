import type { ChatContextManager } from '@convokit/context-manager';
import {
  AggregationLevelSchema,
  ContextScopeSchema,
  ConvokitError,
  type JsonObject,
  type Principal,
  type PrincipalInput,
  PrincipalSchema,
  QueryFiltersSchema,
  QueryTypeSchema,
  validate,
} from '@convokit/core';
import type { ConversationalDataManager } from '@convokit/data-manager';
import type { ChatAnalyticsWorkflow } from '@convokit/integrations/chat';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { guarded } from './result.js';

export interface ConvokitMcpOptions {
  dataManager: ConversationalDataManager;
  contexts: ChatContextManager;
  workflow: ChatAnalyticsWorkflow;
  /** Who the calls act as, for context access control. */
  principal: PrincipalInput;
  name?: string;
  version?: string;
}

const json = z.record(z.string(), z.unknown());
const time = z.union([z.number().int().nonnegative(), z.string()]).describe('epoch ms or ISO-8601 date-time');
const key = z.string().min(1).max(256);

/** The MCP server of convokit: ten tools and two resources over the two managers. */
export function createConvokitMcpServer(options: ConvokitMcpOptions): McpServer {
  const principal: Principal = validate(
    PrincipalSchema,
    options.principal,
    'createConvokitMcpServer.principal',
  );
  const dm = options.dataManager;
  const handle = options.contexts.as(principal);
  const server = new McpServer(
    { name: options.name ?? 'convokit', version: options.version ?? '0.1.0' },
    { capabilities: { tools: {}, resources: {} } },
  );

  server.registerTool(
    'record_turn',
    {
      title: 'Record a conversation turn',
      description:
        'Stores one turn: who asked what, the answer, persona, frameworks, tools, latency, tokens and outcome. Returns the stored turn with its id.',
      inputSchema: {
        sessionId: key,
        userInput: z.string(),
        assistantResponse: z.string(),
        conversationId: key.optional(),
        userId: key.optional(),
        at: z.number().int().nonnegative().optional().describe('epoch ms; default now'),
        persona: key.optional(),
        frameworks: z.array(key).optional(),
        tools: z.array(key).optional(),
        mcpServers: z.array(key).optional(),
        latencyMs: z.number().nonnegative().optional(),
        tokens: z
          .object({ input: z.number().int().nonnegative(), output: z.number().int().nonnegative() })
          .optional(),
        outcome: z.enum(['ok', 'error']).optional(),
        errorCode: key.optional(),
        feedback: z.number().min(-1).max(1).optional(),
        metadata: json.optional(),
      },
    },
    (args) => guarded(async () => ({ turn: await dm.recordTurn(args as never) })),
  );

  server.registerTool(
    'query_analytics',
    {
      title: 'Query conversation analytics',
      description:
        'One of six analytics queries computed from stored turns: conversation_history, persona_usage, framework_analytics, performance_metrics, engagement_patterns, strategic_insights.',
      inputSchema: {
        type: QueryTypeSchema,
        timeRange: z.object({ from: time.optional(), to: time.optional() }).optional(),
        filters: QueryFiltersSchema.optional(),
        aggregation: AggregationLevelSchema.optional(),
        pagination: z
          .object({ limit: z.number().int().min(1).max(1000).optional(), cursor: z.string().optional() })
          .optional(),
        options: z
          .object({
            view: z.enum(['sessions', 'turns']).optional(),
            topN: z.number().int().min(1).max(100).optional(),
            includeText: z.boolean().optional(),
          })
          .optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const response = await dm.query(args as never);
        if (!response.success) throw errorOf(response.error);
        return response as unknown as Record<string, unknown>;
      }),
  );

  server.registerTool(
    'search_conversations',
    {
      title: 'Search conversations',
      description: 'Full-text search over user input and assistant responses, ranked, with marked snippets.',
      inputSchema: {
        text: z.string().min(1).max(1000),
        filters: QueryFiltersSchema.optional(),
        from: z.number().int().nonnegative().optional(),
        to: z.number().int().nonnegative().optional(),
        limit: z.number().int().min(1).max(100).optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const filter = {
          ...(args.filters ?? {}),
          ...(args.from !== undefined ? { from: args.from } : {}),
          ...(args.to !== undefined ? { to: args.to } : {}),
        };
        const response = await dm.search(args.text, filter, args.limit ?? 20);
        if (!response.success) throw errorOf(response.error);
        return { hits: response.data ?? [], totalRecords: response.totalRecords };
      }),
  );

  server.registerTool(
    'get_session_context',
    {
      title: 'Summarise a session',
      description: 'Turns, personas, frameworks, tools, latency, errors and the latest turns of one session.',
      inputSchema: { sessionId: key },
    },
    (args) =>
      guarded(async () => {
        const response = await dm.getSessionContext(args.sessionId);
        if (!response.success) throw errorOf(response.error);
        return { session: response.data };
      }),
  );

  server.registerTool(
    'ask_analytics',
    {
      title: 'Ask an analytics question',
      description:
        'A plain-English analytics question ("which personas did I use most last week?", "p95 latency per day this month", "find conversations about kubernetes"); follow-ups ("now only for diego") refine the previous question of the session. Returns data, a Vega-Lite chart and a markdown summary.',
      inputSchema: { question: z.string().min(1).max(2000), sessionId: key },
    },
    (args) =>
      guarded(async () => {
        const answer = await options.workflow.processChatQuery(args.question, {
          principal,
          sessionId: args.sessionId,
        });
        return answer as unknown as Record<string, unknown>;
      }),
  );

  server.registerTool(
    'context_create',
    {
      title: 'Create a context',
      description: 'Creates a scoped, expiring, versioned context object owned by the caller.',
      inputSchema: {
        scope: ContextScopeSchema,
        data: json.optional(),
        id: key.optional(),
        ttlMs: z.number().int().positive().nullable().optional(),
        parentId: key.optional(),
        sessionId: key.optional(),
        persona: key.optional(),
        metadata: json.optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const { scope, data, ...rest } = args;
        return { context: await handle.create(scope, (data ?? {}) as JsonObject, rest as never) };
      }),
  );

  server.registerTool(
    'context_get',
    {
      title: 'Read a context',
      description: 'The context with this id; NOT_FOUND when absent or expired.',
      inputSchema: { id: key },
    },
    (args) =>
      guarded(async () => {
        const context = await handle.get(args.id);
        if (!context) throw new ConvokitError('NOT_FOUND', `No context ${args.id}`, { id: args.id });
        return { context };
      }),
  );

  server.registerTool(
    'context_update',
    {
      title: 'Update a context',
      description:
        'Writes a patch: replace, shallow merge or deep merge (default). With expectedVersion, a stale version is CONFLICT.',
      inputSchema: {
        id: key,
        patch: json,
        strategy: z.enum(['replace', 'shallow', 'deep']).optional(),
        expectedVersion: z.number().int().min(1).optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const { id, patch, ...opts } = args;
        return { context: await handle.update(id, patch as JsonObject, opts) };
      }),
  );

  server.registerTool(
    'context_delete',
    {
      title: 'Delete a context',
      description: 'Deletes a context; with cascade, its descendants too.',
      inputSchema: { id: key, cascade: z.boolean().optional() },
    },
    (args) =>
      guarded(async () => ({
        deleted: await handle.delete(args.id, args.cascade === undefined ? {} : { cascade: args.cascade }),
      })),
  );

  server.registerTool(
    'context_list',
    {
      title: 'List contexts',
      description:
        'Live contexts the caller may read, filtered by scope, session, owner, persona or parent, a page at a time.',
      inputSchema: {
        scope: ContextScopeSchema.optional(),
        sessionId: key.optional(),
        ownerId: key.optional(),
        persona: key.optional(),
        parentId: key.optional(),
        limit: z.number().int().min(1).max(1000).optional(),
        cursor: z.string().optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const { limit, cursor, ...filter } = args;
        const page = await handle.list(filter, {
          ...(limit ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        });
        return { contexts: page.items, nextCursor: page.nextCursor };
      }),
  );

  server.registerResource(
    'context',
    new ResourceTemplate('convokit://contexts/{id}', { list: undefined }),
    { title: 'A context by id', mimeType: 'application/json' },
    async (uri, variables) => {
      const id = decodeURIComponent(String(variables.id));
      const context = await handle.get(id);
      if (!context) throw new ConvokitError('NOT_FOUND', `No context ${id}`, { id });
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(context, null, 2) }],
      };
    },
  );

  server.registerResource(
    'session-summary',
    new ResourceTemplate('convokit://sessions/{sessionId}/summary', { list: undefined }),
    { title: 'A session summary', mimeType: 'application/json' },
    async (uri, variables) => {
      const sessionId = decodeURIComponent(String(variables.sessionId));
      const response = await dm.getSessionContext(sessionId);
      if (!response.success) throw errorOf(response.error);
      return {
        contents: [
          { uri: uri.href, mimeType: 'application/json', text: JSON.stringify(response.data, null, 2) },
        ],
      };
    },
  );

  return server;
}

function errorOf(
  error: { code: string; message: string; details: Record<string, unknown> } | undefined,
): ConvokitError {
  const code = (error?.code ?? 'STORAGE') as ConvokitError['code'];
  return new ConvokitError(code, error?.message ?? 'The query failed', error?.details ?? {});
}
