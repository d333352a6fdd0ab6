import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConvokitError,
  type Principal,
  type PrincipalInput,
  PrincipalSchema,
  validate,
} from '@convokit/core';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface HttpOptions {
  /** Default 127.0.0.1: the server is reachable from this machine only unless told otherwise. */
  host?: string;
  /** 0 picks a free port. Default 3333. */
  port?: number;
  /** Path of the MCP endpoint. Default `/mcp`. */
  path?: string;
  /**
   * Bearer tokens and the principal each one acts as. When any is configured, every request
   * needs `Authorization: Bearer <token>`; otherwise requests act as `principal`.
   */
  tokens?: Record<string, PrincipalInput>;
  /** The principal of requests when no tokens are configured. */
  principal?: PrincipalInput;
  /**
   * Host header values accepted (DNS rebinding protection). Default: the bound host and
   * `localhost`/`127.0.0.1` with the bound port.
   */
  allowedHosts?: string[];
}

export interface RunningHttpServer extends AsyncDisposable {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Builds an MCP server for one request, acting as the request's principal. */
export type McpServerFactory = (principal: Principal) => McpServer;

function send(res: ServerResponse, status: number, message: string, code: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message, data: { code } }, id: null }));
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readJson(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ConvokitError('LIMIT', `Request body over ${limit} bytes`, { limit });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ConvokitError('VALIDATION', 'Request body is not JSON', {
      issues: [{ path: '', message: 'not JSON' }],
    });
  }
}

/**
 * Serves MCP over Streamable HTTP, statelessly: each POST gets a fresh server and transport, so
 * nothing about a client is kept between requests (the managers keep the state).
 */
export async function startHttpServer(
  factory: McpServerFactory,
  options: HttpOptions = {},
): Promise<RunningHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  const tokens = Object.entries(options.tokens ?? {}).map(
    ([token, p]) => [token, validate(PrincipalSchema, p, 'mcp http tokens')] as const,
  );
  const defaultPrincipal = validate(
    PrincipalSchema,
    options.principal ?? { id: 'mcp-client' },
    'mcp http principal',
  );
  let allowedHosts: Set<string> = new Set();

  const server = createServer(async (req, res) => {
    try {
      const hostHeader = (req.headers.host ?? '').toLowerCase();
      if (!allowedHosts.has(hostHeader)) {
        send(res, 403, `Host "${hostHeader}" is not allowed`, 'ACCESS_DENIED');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== path) {
        send(res, 404, `No MCP endpoint at ${url.pathname}; use ${path}`, 'NOT_FOUND');
        return;
      }
      let principal = defaultPrincipal;
      if (tokens.length > 0) {
        const header = req.headers.authorization ?? '';
        const given = header.startsWith('Bearer ') ? header.slice(7) : '';
        const match = tokens.find(([token]) => given !== '' && sameToken(token, given));
        if (!match) {
          res.setHeader('www-authenticate', 'Bearer');
          send(res, 401, 'A valid bearer token is required', 'ACCESS_DENIED');
          return;
        }
        principal = match[1];
      }
      if (req.method !== 'POST') {
        send(res, 405, 'This server is stateless: POST JSON-RPC messages', 'UNSUPPORTED');
        return;
      }
      const body = await readJson(req);
      const mcp = factory(principal);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (error) {
      if (!res.headersSent) {
        const e = ConvokitError.is(error) ? error : ConvokitError.storage('MCP request failed', error);
        send(res, e.code === 'VALIDATION' || e.code === 'LIMIT' ? 400 : 500, e.message, e.code);
      }
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3333, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  allowedHosts = new Set(
    (options.allowedHosts ?? [`${host}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`]).map((h) =>
      h.toLowerCase(),
    ),
  );
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    server,
    close,
    [Symbol.asyncDispose]: close,
  };
}
