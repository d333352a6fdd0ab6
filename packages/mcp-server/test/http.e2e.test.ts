import { createMemoryStorage } from '@convokit/storage-memory';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConvokitMcpServer,
  createConvokitServices,
  type RunningHttpServer,
  startHttpServer,
} from '../src/index.js';

describe('convokit MCP over Streamable HTTP', () => {
  const services = createConvokitServices(createMemoryStorage());
  let running: RunningHttpServer;

  beforeAll(async () => {
    running = await startHttpServer((principal) => createConvokitMcpServer({ ...services, principal }), {
      port: 0,
      tokens: { 'token-ana': { id: 'ana' }, 'token-ben': { id: 'ben' } },
    });
  });

  afterAll(async () => {
    await running.close();
    await services.close();
  });

  async function connect(token: string): Promise<Client> {
    const client = new Client({ name: 'convokit-test', version: '0.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(running.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    return client;
  }

  it('binds 127.0.0.1 by default', () => {
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it('serves tools with the principal taken from the bearer token', async () => {
    const ana = await connect('token-ana');
    const created = (await ana.callTool({
      name: 'context_create',
      arguments: { scope: 'session', id: 'ana-ctx', data: { k: 1 } },
    })) as unknown as { structuredContent: { context: { ownerId: string } } };
    expect(created.structuredContent.context.ownerId).toBe('ana');

    const ben = await connect('token-ben');
    const denied = (await ben.callTool({ name: 'context_get', arguments: { id: 'ana-ctx' } })) as unknown as {
      isError: boolean;
      structuredContent: { error: { code: string } };
    };
    expect(denied.isError).toBe(true);
    expect(denied.structuredContent.error.code).toBe('ACCESS_DENIED');
    await ana.close();
    await ben.close();
  });

  it('refuses requests without a valid token, and Host headers it does not serve (DNS rebinding)', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const noToken = await fetch(running.url, { method: 'POST', headers, body });
    expect(noToken.status).toBe(401);
    const wrong = await fetch(running.url, {
      method: 'POST',
      headers: { ...headers, authorization: 'Bearer nope' },
      body,
    });
    expect(wrong.status).toBe(401);

    const { request } = await import('node:http');
    const url = new URL(running.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { ...headers, host: 'evil.example:80', authorization: 'Bearer token-ana' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(403);
  });
});
