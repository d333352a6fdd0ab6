#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { Storage } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { createSqliteStorage } from '@convokit/storage-sqlite';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { startHttpServer } from './http.js';
import { createConvokitMcpServer } from './server.js';
import { createConvokitServices } from './services.js';

const usage = `convokit-mcp: the convokit MCP server

  convokit-mcp [--db PATH | --memory] [--principal ID] [--admin]          stdio (default)
  convokit-mcp --http [--host 127.0.0.1] [--port 3333] [--token TOKEN]    Streamable HTTP

  --db PATH      SQLite database (default: CONVOKIT_DB or .convokit/convokit.db)
  --memory       keep everything in memory (lost on exit)
  --principal ID who the calls act as for context access control (default: mcp-client)
  --admin        that principal is an admin
  --token TOKEN  HTTP only: require "Authorization: Bearer TOKEN" (or CONVOKIT_MCP_TOKEN)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      memory: { type: 'boolean', default: false },
      principal: { type: 'string', default: 'mcp-client' },
      admin: { type: 'boolean', default: false },
      http: { type: 'boolean', default: false },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '3333' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  let storage: Storage;
  if (values.memory) storage = createMemoryStorage();
  else {
    const path = values.db ?? process.env.CONVOKIT_DB ?? '.convokit/convokit.db';
    const { mkdirSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    mkdirSync(dirname(path), { recursive: true });
    storage = createSqliteStorage({ path });
  }
  const services = createConvokitServices(storage);
  const principal = { id: values.principal, kind: values.admin ? ('admin' as const) : ('user' as const) };
  const shutdown = async () => {
    await services.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  if (values.http) {
    const token = values.token ?? process.env.CONVOKIT_MCP_TOKEN;
    const running = await startHttpServer((p) => createConvokitMcpServer({ ...services, principal: p }), {
      host: values.host,
      port: Number(values.port),
      principal,
      ...(token ? { tokens: { [token]: principal } } : {}),
    });
    process.stderr.write(`convokit MCP server on ${running.url}\n`);
    return;
  }
  const server = createConvokitMcpServer({ ...services, principal });
  await server.connect(new StdioServerTransport());
  process.stdin.once('end', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`convokit-mcp: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
