import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('the convokit CLI (built), on a sqlite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convokit-cli-'));
  const db = join(dir, 'demo.db');
  const convokit = (...args: string[]) =>
    run(process.execPath, [cli, '--db', db, ...args], {
      cwd: dir,
      env: { ...process.env, CONVOKIT_STORAGE: '' },
    });
  let demo: string;

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`Build the app first (pnpm build): ${cli} is missing`);
    demo = (await convokit('demo', '--turns', '3000')).stdout;
  }, 180_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('demo records the data set and reports every query type, a search and the context flow', () => {
    expect(demo).toMatch(/convokit demo on sqlite/);
    expect(demo).toMatch(/Recorded [\d,]+ turns in [\d,]+ sessions/);
    for (const section of [
      'Persona usage, last 30 days',
      'Frameworks, last 30 days',
      'Performance, last 30 days',
      'Engagement, last 30 days',
      'Insights: the last 7 days',
      'Latest sessions',
      'Search: "kubernetes migration"',
      'Chat analytics, kept as context',
      'Chart state: drill-down and linked charts',
    ]) {
      expect(demo).toContain(section);
    }
    expect(demo).toMatch(/Drilled into All › \d{4} › Q\d › \d{4}-\d{2}/);
  });

  it('a second demo run reuses the stored turns instead of doubling them', async () => {
    const again = (await convokit('demo', '--turns', '3000')).stdout;
    expect(again).toMatch(/Using the [\d,]+ turns already stored/);
  });

  it('query --json prints the envelope, computed from the stored turns', async () => {
    const { stdout } = await convokit(
      'query',
      'persona_usage',
      '--from',
      '0',
      '--aggregation',
      'monthly',
      '--json',
    );
    const response = JSON.parse(stdout);
    expect(response.success).toBe(true);
    const sum = response.data.personas.reduce((s: number, p: { turns: number }) => s + p.turns, 0);
    expect(sum).toBe(response.data.totalTurns);
    expect(response.data.totalTurns).toBeGreaterThan(2000);
  });

  it('an invalid query exits non-zero with the VALIDATION envelope', async () => {
    const failed = await convokit('query', 'persona_usage', '--from', '10', '--to', '5').catch((e) => e);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).error.code).toBe('VALIDATION');
  });

  it('search --json and context create/get/update round-trip through the database', async () => {
    const hits = JSON.parse((await convokit('search', 'kubernetes', '--json', '--limit', '3')).stdout);
    expect(hits.success).toBe(true);
    expect(hits.data.length).toBeGreaterThan(0);

    await convokit('context', 'create', 'session', '{"step":1}', '--id', 'c1', '--principal', 'ana');
    const updated = JSON.parse(
      (
        await convokit(
          'context',
          'update',
          'c1',
          '{"step":2}',
          '--expected-version',
          '1',
          '--principal',
          'ana',
        )
      ).stdout,
    );
    expect(updated).toMatchObject({ id: 'c1', version: 2, data: { step: 2 }, ownerId: 'ana' });
    const denied = await convokit('context', 'get', 'c1', '--principal', 'ben').catch((e) => e);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('ACCESS_DENIED');
  });
});
