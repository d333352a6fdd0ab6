import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createManualClock } from '@convokit/core';
import { createConvokitServices } from '@convokit/mcp-server';
import { createMemoryStorage } from '@convokit/storage-memory';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';
import { generateTurns } from '../src/generate.js';
import { type RunningDashboard, serveDashboard } from '../src/serve/server.js';

const CHROMIUM = process.env.CONVOKIT_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.log(`dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
// The README's screenshots are rewritten only when asked (CONVOKIT_UPDATE_DOCS=1): a plain test run
// must not change tracked files, and the pixels differ from machine to machine.
const docs = process.env.CONVOKIT_UPDATE_DOCS
  ? fileURLToPath(new URL('../../../docs/', import.meta.url))
  : `${mkdtempSync(join(tmpdir(), 'convokit-screenshots-'))}/`;

describe.skipIf(!hasChromium)('dashboard in headless Chromium', () => {
  const now = Date.parse('2026-11-24T15:00:00Z');
  const clock = createManualClock(now);
  const services = createConvokitServices(createMemoryStorage({ clock }), { clock });
  let dashboard: RunningDashboard;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const turns = [...generateTurns({ seed: 7, end: now, turns: 6000 })];
    for (let i = 0; i < turns.length; i += 1000)
      await services.dataManager.recordTurns(turns.slice(i, i + 1000));
    dashboard = await serveDashboard(services, { port: 0, now: () => clock.now() });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await services.close();
  });

  /** Waits for the render after `after`; a load the page reports as failed fails the test at once. */
  async function loaded(after = 0, timeout = 30_000): Promise<void> {
    const failedBefore = await page.evaluate(() => Number(document.body.dataset.failed ?? 0));
    await page.waitForFunction(
      ([t, f]) =>
        Number(document.body.dataset.ready ?? 0) > t! || Number(document.body.dataset.failed ?? 0) > f!,
      [after, failedBefore] as const,
      { timeout },
    );
    const error = await page
      .locator('#error:not([hidden])')
      .textContent({ timeout: 1 })
      .catch(() => null);
    if (error) throw new Error(error);
  }

  const ready = () => page.evaluate(() => Number(document.body.dataset.ready ?? 0));
  const shown = <T>(fn: string) => page.evaluate(`(${fn})(window.convokit.view.data)`) as Promise<T>;

  async function clickBar(chart: string, category: string): Promise<void> {
    const index = await page.evaluate(
      ([c, name]) => {
        const w = window as unknown as {
          echarts: { getInstanceByDom(el: Element): { getOption(): { xAxis: Array<{ data: string[] }> } } };
        };
        return w.echarts
          .getInstanceByDom(document.getElementById(c)!)
          .getOption()
          .xAxis[0]!.data.indexOf(name!);
      },
      [chart, category] as const,
    );
    expect(index).toBeGreaterThanOrEqual(0);
    const point = await page.evaluate(
      ([c, i]) =>
        (
          window as unknown as { convokit: { pixelOf(c: string, i: number): { x: number; y: number } } }
        ).convokit.pixelOf(c as string, i as number),
      [chart, index] as const,
    );
    // Hover first and let the chart handle it (two frames), then press: the click is the
    // chart's own, after the hover has settled, however slow the machine.
    await page.mouse.move(point.x, point.y);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const before = await ready();
    await page.mouse.down();
    await page.mouse.up();
    try {
      await loaded(before, 10_000);
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'TimeoutError') throw error;
      // Say what was under the pointer, then try the same click once more: a click lost by a
      // loaded machine should not fail the run, but it must be visible in the log.
      const under = await page.evaluate(
        ([x, y]) => {
          const el = document.elementFromPoint(x!, y!);
          return el ? `${el.tagName}${el.id ? `#${el.id}` : ''} in #${el.closest('[id]')?.id}` : 'nothing';
        },
        [point.x, point.y] as const,
      );
      console.log(
        `click on ${chart}/${category} at (${point.x}, ${point.y}) over ${under} got no render in 10 s; clicking again`,
      );
      await page.mouse.down();
      await page.mouse.up();
      await loaded(before);
    }
  }

  it('draws a chart for each query type from the stored turns', async () => {
    await page.goto(dashboard.url);
    await loaded();
    const personas = await shown<string[]>('(d) => d.personas.data.personas.map((p) => p.persona)');
    expect(personas.length).toBe(7);
    expect(await page.locator('#personas svg path').count()).toBeGreaterThan(7);
    expect(await page.locator('#timeline svg').count()).toBe(1);
    expect(await page.locator('#frameworks svg').count()).toBe(1);
    expect(await page.locator('#hours svg').count()).toBe(1);
    expect(await page.locator('#sessions tr').count()).toBe(9);
    expect(await page.locator('#crumbs button').allTextContents()).toEqual(['All']);
  });

  it('selecting a persona filters the linked charts, and a reload restores the selection', async () => {
    const totalBefore = await shown<number>('(d) => d.timeline.data.overall.turns');
    await clickBar('personas', 'camille');
    expect(await page.locator('#selected-persona').textContent()).toBe('camille');
    const filtered = await shown<{ scope: unknown; turns: number; camille: number }>(
      `(d) => ({ scope: d.timeline.metadata.scope, turns: d.timeline.data.overall.turns,
                 camille: d.personas.data.personas.find((p) => p.persona === 'camille').turns })`,
    );
    expect(filtered.scope).toEqual({ persona: 'camille' });
    // The timeline now counts camille's turns only: the persona chart's own figure for her.
    expect(filtered.turns).toBe(filtered.camille);
    expect(filtered.turns).toBeLessThan(totalBefore);
    const sessionPersonas = await page.locator('#sessions td:nth-child(4)').allTextContents();
    expect(sessionPersonas.every((p) => p.split(', ').includes('camille'))).toBe(true);

    await page.reload();
    await loaded();
    expect(await page.locator('#selected-persona').textContent()).toBe('camille');
  });

  it('drills down from months to days to the sessions of a day, with breadcrumbs that survive a reload', async () => {
    const months = await shown<string[]>(
      '(d) => d.timeline.data.series.map((p) => new Date(p.start).toISOString().slice(0, 7))',
    );
    expect(months).toEqual(['2026-08', '2026-09', '2026-10', '2026-11']);
    await clickBar('timeline', '2026-10');
    expect(await page.locator('#crumbs button').allTextContents()).toEqual(['All', '2026-10']);
    const days = await shown<number>('(d) => d.timeline.data.series.length');
    expect(days).toBe(31);
    await clickBar('timeline', '2026-10-14');
    expect(await page.locator('#crumbs button').allTextContents()).toEqual(['All', '2026-10', '2026-10-14']);
    expect(await shown<string>('(d) => d.state.aggregation')).toBe('session');

    await page.reload();
    await loaded();
    expect(await page.locator('#crumbs button').allTextContents()).toEqual(['All', '2026-10', '2026-10-14']);
    const before = await ready();
    await page.locator('#crumbs button', { hasText: 'All' }).click();
    await loaded(before);
    expect(await page.locator('#crumbs button').allTextContents()).toEqual(['All']);
  });

  it('searches conversations and marks the matches', async () => {
    const clear = await ready();
    await page.click('#clear');
    await loaded(clear);
    await page.fill('input[type=search]', 'kubernetes');
    await page.click('#search button');
    await page.waitForSelector('#hits li');
    const marks = await page.locator('#hits mark').allTextContents();
    expect(marks.length).toBeGreaterThan(0);
    expect(marks.every((m) => m.toLowerCase() === 'kubernetes')).toBe(true);
    mkdirSync(docs, { recursive: true });
    await page.screenshot({ path: `${docs}dashboard.png`, fullPage: true });
  });

  it('renders the terminal report of the demo for the README', async () => {
    const lines: string[] = [];
    await runDemo({
      storage: createMemoryStorage({ clock }),
      where: 'memory',
      turns: 6000,
      seed: 42,
      reset: false,
      out: (line) => lines.push(line),
      color: false,
      progress: false,
      now,
    });
    const report = lines.join('\n');
    expect(report).toContain('Persona usage, last 30 days');
    const escaped = report.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
    const reportPage = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    await reportPage.setContent(
      `<body style="margin:0;background:#10151c"><pre style="margin:0;padding:18px;color:#d8dee9;font:13px/1.35 'DejaVu Sans Mono',monospace">${escaped}</pre></body>`,
    );
    await reportPage.screenshot({ path: `${docs}report.png`, fullPage: true });
    await reportPage.close();
  });
});
