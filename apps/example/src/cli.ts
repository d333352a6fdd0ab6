#!/usr/bin/env node
import type { Storage } from '@convokit/core';
import { ConvokitError, QUERY_TYPES } from '@convokit/core';
import { createConvokitMcpServer, createConvokitServices } from '@convokit/mcp-server';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Command, Option } from 'commander';
import { runDemo } from './demo.js';
import { importPath } from './import/index.js';
import { searchReport } from './report.js';
import { serveDashboard } from './serve/server.js';
import { chooseStorage, openStorage, STORAGE_KINDS } from './storage.js';

const program = new Command('convokit')
  .description('Conversation analytics and chat context for AI assistants')
  .addOption(
    new Option('--storage <kind>', 'where data lives (or CONVOKIT_STORAGE)').choices([...STORAGE_KINDS]),
  )
  .option('--db <location>', 'sqlite file, file-storage directory or postgres URL (or CONVOKIT_DB)')
  .showHelpAfterError();

async function withStorage<T>(run: (storage: Storage, where: string) => Promise<T>): Promise<T> {
  const choice = chooseStorage(program.opts());
  const storage = await openStorage(choice);
  try {
    return await run(storage, choice.location);
  } finally {
    await storage.close();
  }
}

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const json = (value: unknown): void => print(JSON.stringify(value, null, 2));

program
  .command('demo')
  .description('generate 90 days of realistic turns, record them, and report every analytics query')
  .option('--turns <n>', 'about this many turns', '50000')
  .option('--seed <n>', 'random seed', '42')
  .option('--reset', 'generate again even when the store already holds turns', false)
  .action(async (o: { turns: string; seed: string; reset: boolean }) => {
    await withStorage((storage, where) =>
      runDemo({
        storage,
        where,
        turns: Number(o.turns),
        seed: Number(o.seed),
        reset: o.reset,
        out: print,
        color: process.stdout.isTTY === true,
        progress: process.stderr.isTTY === true,
      }),
    );
  });

program
  .command('import <path>')
  .description('import convokit JSON-lines or a folder of Claude Code session transcripts (idempotent)')
  .option('--format <format>', 'convokit | claude-code (default: guessed)')
  .option('--json', 'print the summary as JSON', false)
  .action(async (path: string, o: { format?: 'convokit' | 'claude-code'; json: boolean }) => {
    await withStorage(async (storage) => {
      const services = createConvokitServices(storage);
      try {
        const summary = await importPath(path, {
          dataManager: services.dataManager,
          ...(o.format ? { format: o.format } : {}),
          progress: process.stderr.isTTY === true,
          warn: (m) => process.stderr.write(`${m}\n`),
        });
        if (o.json) json(summary);
        else
          print(
            `Imported ${summary.imported} turns from ${summary.files} files (${summary.format}); ` +
              `${summary.skippedExisting} already there, ${summary.badLines} bad lines skipped.`,
          );
      } finally {
        await services.dataManager.close();
        await services.contexts.close();
      }
    });
  });

program
  .command('query <type>')
  .description(`run an analytics query: ${QUERY_TYPES.join(', ')}`)
  .option('--from <time>', 'start (ISO date-time or epoch ms)')
  .option('--to <time>', 'end, exclusive')
  .option('--persona <name>')
  .option('--framework <name>')
  .option('--user <id>')
  .option('--session <id>')
  .option('--aggregation <level>', 'session | daily | weekly | monthly')
  .option('--limit <n>')
  .option('--json', 'print the whole response', false)
  .action(async (type: string, o: Record<string, string | boolean | undefined>) => {
    const time = (v: unknown) => (typeof v !== 'string' ? undefined : /^\d+$/.test(v) ? Number(v) : v);
    await withStorage(async (storage) => {
      const services = createConvokitServices(storage);
      try {
        const filters = Object.fromEntries(
          (
            [
              ['persona', o.persona],
              ['framework', o.framework],
              ['userId', o.user],
              ['sessionId', o.session],
            ] as const
          ).filter(([, v]) => typeof v === 'string'),
        );
        const response = await services.dataManager.query({
          type: type as never,
          timeRange: {
            ...(o.from ? { from: time(o.from) } : {}),
            ...(o.to ? { to: time(o.to) } : {}),
          } as never,
          filters,
          ...(typeof o.aggregation === 'string' ? { aggregation: o.aggregation as never } : {}),
          ...(typeof o.limit === 'string' ? { pagination: { limit: Number(o.limit) } } : {}),
        });
        if (o.json || !response.success) json(response);
        else json(response.data);
        if (!response.success) process.exitCode = 1;
      } finally {
        await services.close();
      }
    });
  });

program
  .command('search <text...>')
  .description('full-text search over conversations')
  .option('--limit <n>', 'matches', '10')
  .option('--json', 'print the hits as JSON', false)
  .action(async (words: string[], o: { limit: string; json: boolean }) => {
    await withStorage(async (storage) => {
      const services = createConvokitServices(storage);
      try {
        const response = await services.dataManager.search(words.join(' '), {}, Number(o.limit));
        if (o.json || !response.success) json(o.json ? response : response.error);
        else print(searchReport(response.data ?? [], process.stdout.isTTY === true) || 'No match.');
        if (!response.success) process.exitCode = 1;
      } finally {
        await services.close();
      }
    });
  });

const context = program.command('context').description('create, read, update, list and delete contexts');
const as = (o: { principal: string; admin: boolean }) =>
  ({ id: o.principal, kind: o.admin ? 'admin' : 'user' }) as const;
const principalOptions = (c: Command) =>
  c
    .option('--principal <id>', 'act as this principal', 'cli')
    .option('--admin', 'the principal is an admin', false);

principalOptions(context.command('create <scope> [json]'))
  .option('--id <id>')
  .option('--session <id>')
  .option('--ttl <ms>')
  .option('--json', 'JSON output (the default)', true)
  .action(async (scope: string, data: string | undefined, o: Record<string, string | boolean>) => {
    await withContexts(o, async (h) =>
      json(
        await h.create(scope as never, data ? JSON.parse(data) : {}, {
          ...(typeof o.id === 'string' ? { id: o.id } : {}),
          ...(typeof o.session === 'string' ? { sessionId: o.session } : {}),
          ...(typeof o.ttl === 'string' ? { ttlMs: Number(o.ttl) } : {}),
        }),
      ),
    );
  });
principalOptions(context.command('get <id>'))
  .option('--json', 'JSON output (the default)', true)
  .action(async (id: string, o: Record<string, string | boolean>) => {
    await withContexts(o, async (h) => {
      const found = await h.get(id);
      if (!found) throw new ConvokitError('NOT_FOUND', `No context ${id}`, { id });
      json(found);
    });
  });
principalOptions(context.command('update <id> <json>'))
  .option('--strategy <s>', 'replace | shallow | deep', 'deep')
  .option('--expected-version <n>')
  .option('--json', 'JSON output (the default)', true)
  .action(async (id: string, patch: string, o: Record<string, string | boolean>) => {
    await withContexts(o, async (h) =>
      json(
        await h.update(id, JSON.parse(patch), {
          strategy: o.strategy as never,
          ...(typeof o.expectedVersion === 'string' ? { expectedVersion: Number(o.expectedVersion) } : {}),
        }),
      ),
    );
  });
principalOptions(context.command('list'))
  .option('--scope <scope>')
  .option('--session <id>')
  .option('--json', 'JSON output (the default)', true)
  .action(async (o: Record<string, string | boolean>) => {
    await withContexts(o, async (h) =>
      json(
        await h.list({
          ...(typeof o.scope === 'string' ? { scope: o.scope as never } : {}),
          ...(typeof o.session === 'string' ? { sessionId: o.session } : {}),
        }),
      ),
    );
  });
principalOptions(context.command('delete <id>'))
  .option('--cascade', 'delete descendants too', false)
  .option('--json', 'JSON output (the default)', true)
  .action(async (id: string, o: Record<string, string | boolean>) => {
    await withContexts(o, async (h) =>
      json({ deleted: await h.delete(id, { cascade: o.cascade === true }) }),
    );
  });

async function withContexts(
  o: Record<string, string | boolean>,
  run: (h: ReturnType<ReturnType<typeof createConvokitServices>['contexts']['as']>) => Promise<void>,
): Promise<void> {
  await withStorage(async (storage) => {
    const services = createConvokitServices(storage);
    try {
      await run(services.contexts.as(as(o as { principal: string; admin: boolean })));
    } finally {
      await services.dataManager.close();
      await services.contexts.close();
    }
  });
}

program
  .command('serve')
  .description('a local dashboard with a chart for each query type')
  .option('--host <host>', 'bind address', '127.0.0.1')
  .option('--port <port>', 'port (0 picks one)', '4321')
  .option('--principal <id>', 'whose chart state the dashboard keeps', 'dashboard')
  .action(async (o: { host: string; port: string; principal: string }) => {
    const choice = chooseStorage(program.opts());
    const storage = await openStorage(choice);
    const services = createConvokitServices(storage);
    const running = await serveDashboard(services, {
      host: o.host,
      port: Number(o.port),
      principal: { id: o.principal },
    });
    print(`convokit dashboard on ${running.url} (${choice.kind}: ${choice.location}); Ctrl-C stops it`);
    const stop = async () => {
      await running.close();
      await services.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('mcp')
  .description('the MCP server over stdio, on the same database')
  .option('--principal <id>', 'who the calls act as', 'mcp-client')
  .option('--admin', 'that principal is an admin', false)
  .action(async (o: { principal: string; admin: boolean }) => {
    const choice = chooseStorage(program.opts());
    const services = createConvokitServices(await openStorage(choice));
    const server = createConvokitMcpServer({ ...services, principal: as(o) });
    await server.connect(new StdioServerTransport());
    const stop = async () => {
      await services.close();
      process.exit(0);
    };
    process.stdin.once('end', stop);
    process.once('SIGTERM', stop);
  });

function fail(error: unknown): never {
  if (ConvokitError.is(error)) {
    process.stderr.write(`convokit: ${error.code}: ${error.message}\n`);
    if (error.details.issues) process.stderr.write(`${JSON.stringify(error.details.issues)}\n`);
  } else {
    process.stderr.write(
      `convokit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
}

program.parseAsync(process.argv).catch(fail);
