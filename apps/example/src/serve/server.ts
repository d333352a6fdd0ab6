import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConvokitError, type PrincipalInput, type QueryFilters } from '@convokit/core';
import type { ConvokitServices } from '@convokit/mcp-server';
import { Dashboard } from './dashboard-state.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  principal?: PrincipalInput;
  now?: () => number;
}

export interface RunningDashboard extends AsyncDisposable {
  url: string;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
/** The app's `public/` folder, found from this module whether it runs from src/ or the dist/ bundle. */
function publicDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'public', 'index.html'))) {
    const up = dirname(dir);
    if (up === dir) throw new ConvokitError('NOT_FOUND', 'The dashboard files (public/) are missing', {});
    dir = up;
  }
  return join(dir, 'public');
}

function staticFile(name: string): string {
  return join(publicDir(), name);
}

const ASSETS: Record<string, { file: () => string; type: string }> = {
  '/': { file: () => staticFile('index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: () => staticFile('app.js'), type: 'text/javascript; charset=utf-8' },
  '/echarts.min.js': {
    file: () => require.resolve('echarts/dist/echarts.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 64_000) throw new ConvokitError('LIMIT', 'Request body too large', {});
  }
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    throw new ConvokitError('VALIDATION', 'Request body is not JSON', {
      issues: [{ path: '', message: 'not JSON' }],
    });
  }
}

/** The local dashboard: static page + a small JSON API over the managers. Binds 127.0.0.1 by default. */
export async function serveDashboard(
  services: ConvokitServices,
  options: ServeOptions = {},
): Promise<RunningDashboard> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const dm = services.dataManager;
  const dashboard = new Dashboard(dm, services.contexts.as(options.principal ?? { id: 'dashboard' }), now);
  await dashboard.ensureCharts();

  async function charts() {
    const state = await dashboard.state();
    const filters: QueryFilters = state.persona ? { persona: state.persona } : {};
    const window = dashboard.window();
    const [personas, timeline, frameworks, engagement, sessions, insights] = await Promise.all([
      dm.query({ type: 'persona_usage', timeRange: state.period, aggregation: 'monthly' }),
      dm.query({
        type: 'performance_metrics',
        timeRange: state.period,
        aggregation: state.aggregation,
        filters,
      }),
      dm.query({ type: 'framework_analytics', timeRange: state.period, aggregation: 'monthly', filters }),
      dm.query({ type: 'engagement_patterns', timeRange: state.period, aggregation: 'monthly', filters }),
      dm.query({ type: 'conversation_history', timeRange: state.period, filters, pagination: { limit: 8 } }),
      dm.query({
        type: 'strategic_insights',
        timeRange: { from: window.to - 7 * 86_400_000, to: window.to },
        filters,
      }),
    ]);
    return { state, personas, timeline, frameworks, engagement, sessions, insights };
  }

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const asset = ASSETS[url.pathname];
      if (req.method === 'GET' && asset) {
        res.writeHead(200, { 'content-type': asset.type });
        res.end(await readFile(asset.file()));
        return;
      }
      if (req.method === 'GET' && url.pathname === '/api/dashboard') return send(res, 200, await charts());
      if (req.method === 'GET' && url.pathname === '/api/search') {
        const q = url.searchParams.get('q') ?? '';
        const state = await dashboard.state();
        return send(res, 200, await dm.search(q, state.persona ? { persona: state.persona } : {}, 10));
      }
      if (req.method === 'POST' && url.pathname === '/api/select') {
        const b = await body(req);
        await dashboard.selectPersona(typeof b.persona === 'string' ? b.persona : null);
        return send(res, 200, await charts());
      }
      if (req.method === 'POST' && url.pathname === '/api/drill') {
        const b = await body(req);
        await dashboard.drill(String(b.value));
        return send(res, 200, await charts());
      }
      if (req.method === 'POST' && url.pathname === '/api/jump') {
        const b = await body(req);
        await dashboard.jump(Number(b.depth));
        return send(res, 200, await charts());
      }
      send(res, 404, { error: { code: 'NOT_FOUND', message: `No route ${req.method} ${url.pathname}` } });
    } catch (error) {
      const e = ConvokitError.is(error) ? error : ConvokitError.storage('Dashboard request failed', error);
      send(res, e.code === 'VALIDATION' || e.code === 'NOT_FOUND' ? 400 : 500, { error: e.toJSON() });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4321, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: `http://${host}:${port}/`, close, [Symbol.asyncDispose]: close };
}
