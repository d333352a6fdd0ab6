import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Storage } from '@convokit/core';
import { tempDir } from '../adapters.js';
import { DATA_END, DAY } from '../data.js';
import type { Scenario } from '../scenario.js';
import { sizeLabel } from './history.js';

/**
 * Issue 6: an MCP round trip. The built `convokit-mcp` bin is spawned over stdio by the SDK's own
 * Client and StdioClientTransport, as an MCP host would, on a SQLite file preloaded with turns.
 * Timed: `context_get` (the target), `query_analytics` (persona usage over 90 days; the server's
 * manager caches it after the first call, as it would for a client asking again) and the
 * protocol's `ping`, the floor: what the transport and JSON-RPC cost before any tool runs.
 */

interface ToolResult {
  isError?: boolean;
  content?: unknown;
}

interface McpClient {
  connect(transport: unknown): Promise<void>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<ToolResult>;
  ping(): Promise<unknown>;
  close(): Promise<void>;
}

export const mcp: Scenario = {
  id: 'mcp',
  title: 'MCP round trip over stdio (convokit-mcp)',
  issues: [6],
  quick: true,
  async run({ rec, sizes, datasets }) {
    let bin: string;
    let Client: new (info: { name: string; version: string }) => McpClient;
    let StdioClientTransport: new (options: {
      command: string;
      args: string[];
      stderr: 'pipe' | 'inherit' | 'ignore';
    }) => { stderr: NodeJS.ReadableStream | null };
    let createSqliteStorage: (options: { path: string }) => Storage;
    try {
      const require = createRequire(import.meta.url);
      bin = join(dirname(require.resolve('@convokit/mcp-server/package.json')), 'dist', 'bin.js');
      if (!existsSync(bin)) throw new Error(`${bin} is not built`);
      ({ Client } = (await import('@modelcontextprotocol/sdk/client/index.js')) as unknown as {
        Client: typeof Client;
      });
      ({ StdioClientTransport } = (await import('@modelcontextprotocol/sdk/client/stdio.js')) as unknown as {
        StdioClientTransport: typeof StdioClientTransport;
      });
      ({ createSqliteStorage } = (await import('@convokit/storage-sqlite')) as unknown as {
        createSqliteStorage: typeof createSqliteStorage;
      });
    } catch (error) {
      rec.skip('convokit-mcp', `cannot run: ${(error as Error).message.split('\n')[0]}`);
      return;
    }

    // The smallest size of the sweep: the round trip, not the query engine, is measured here.
    const count = Math.min(...sizes.scaling);
    const dir = tempDir('mcp');
    const path = join(dir.path, 'convokit.db');
    try {
      const storage = createSqliteStorage({ path });
      const turns = datasets.turns(count).turns;
      for (let i = 0; i < turns.length; i += 1000) await storage.turns?.append(turns.slice(i, i + 1000));
      await storage.close();

      const client = new Client({ name: 'convokit-bench', version: '0.0.0' });
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [bin, '--db', path, '--principal', 'bench'],
        stderr: 'pipe',
      });
      // What the server says on stderr goes into the skip reason if it dies.
      let stderr = '';
      transport.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-500);
      });
      const withStderr = (error: unknown) =>
        new Error(`${(error as Error).message}${stderr ? ` (server stderr: ${stderr.trim()})` : ''}`);
      await client.connect(transport).catch((error: unknown) => {
        throw withStderr(error);
      });
      try {
        const call = async (name: string, args: Record<string, unknown>) => {
          const result = await client.callTool({ name, arguments: args }).catch((error: unknown) => {
            throw withStderr(error);
          });
          if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content).slice(0, 200)}`);
          return result;
        };
        await call('context_create', { scope: 'session', id: 'bench-ctx', data: { goal: 'benchmark' } });
        const subject = 'convokit-mcp (sqlite, stdio)';
        const spec = { subject, kind: 'ours' as const, klass: 'mcp' };
        await rec.bench({ ...spec, operation: 'mcp context_get round trip' }, () =>
          call('context_get', { id: 'bench-ctx' }),
        );
        await rec.bench(
          {
            subject: 'MCP ping (SDK Client, stdio)',
            kind: 'floor',
            klass: 'mcp',
            operation: 'mcp context_get round trip',
          },
          () => client.ping(),
        );
        const timeRange = { from: DATA_END - 90 * DAY, to: DATA_END };
        try {
          // The first call computes and caches the answer; the timed calls are a client asking again.
          await call('query_analytics', { type: 'persona_usage', timeRange });
          await rec.bench(
            {
              ...spec,
              operation: `mcp query_analytics @${sizeLabel(count)}`,
              note: 'persona_usage, 90 days; cached by the server after the first call',
            },
            () => call('query_analytics', { type: 'persona_usage', timeRange }),
          );
        } catch (error) {
          rec.skip(`${subject} (mcp query_analytics)`, `failed: ${(error as Error).message}`);
        }
      } finally {
        await client.close();
      }
    } finally {
      dir.remove();
    }
  },
};
