import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAdapters } from './adapters.js';
import { addRatios, Recorder, type RunOptions, type ScenarioResult } from './harness.js';
import { buildReport, markdown, type Report, runInfo, tables } from './report.js';
import { Datasets, FULL_SIZES, QUICK_SIZES } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';
import { handleStrayErrors, reasonOf } from './stray.js';
import { type Series, scalingChart } from './svg.js';

const usage = `Usage: pnpm bench [--quick] [--only id[,id]] [--adapters name[,name]] [--runs N] [--no-write] [--list]

  --quick     reduced sizes and fewer runs (under two minutes)
  --only      run only these scenarios (ids from --list); results are not written unless --write
  --adapters  only these of our adapters (memory, file, sqlite, postgres, redis); peers still run
  --runs      measurements per case (default 3 full, 1 quick); figures are medians
  --no-write  print only; leave results/ and RESULTS.md as they are
  --write     write results even with --only
  --max-turns N
              leave sizes above N out of the query sweep
  --out FILE  write only this JSON file (the report and chart stay as they are)
  --combine a.json,b.json
              rebuild results/latest.json, RESULTS.md and the chart from these JSON files
              (a scenario in a later file replaces the same scenario in an earlier one); no run
  --verbose   print each case's wall time and each dataset's generation and load time
  --list      list the scenarios and exit`;

/** Left out whatever the run finds, with the reason. */
const STATIC_NOTES = [
  '@mastra/memory with @mastra/libsql: 1.x requires Node >= 22.13 (engines); the last 0.x line (@mastra/core 0.24.9, @mastra/memory 0.15.13, @mastra/libsql 0.16.4) pulls pino-pretty -> strip-json-comments 5.1.0, which requires Node >= 22, and pnpm refuses it on Node 20. Not measured.',
  '@keyv/sqlite runs on the sqlite3 native addon, which pnpm builds at install (sqlite3 is in onlyBuiltDependencies, root pnpm-workspace.yaml). Where that build is missing or fails to load, the peer is left out with the load error and the run goes on.',
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      adapters: { type: 'string' },
      runs: { type: 'string' },
      write: { type: 'boolean', default: false },
      out: { type: 'string' },
      'max-turns': { type: 'string' },
      combine: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.id.padEnd(22)} ${s.quick ? 'quick ' : 'full  '} ${s.title}`);
    return;
  }
  if (values.combine) {
    combine(values.combine.split(',').map((s) => s.trim()));
    return;
  }
  const quick = values.quick ?? false;
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : null;
  const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
  if (unknown.length) throw new Error(`Unknown scenario ${unknown.join(', ')}; see --list`);
  const runs = values.runs ? Number(values.runs) : quick ? 1 : 3;
  const options: RunOptions = {
    quick,
    runs,
    cpuTimeNs: quick ? 40e6 : 200e6,
    minSamples: quick ? 4 : 8,
    verbose: values.verbose ?? false,
  };
  const maxTurns = values['max-turns'] ? Number(values['max-turns']) : Number.POSITIVE_INFINITY;
  const base = quick ? QUICK_SIZES : FULL_SIZES;
  const sizes = { ...base, scaling: base.scaling.filter((n) => n <= maxTurns) };
  const write = values['no-write'] ? false : only || values.adapters ? values.write || !!values.out : true;
  const out = values.out;

  const info = runInfo(quick ? 'quick' : 'full', runs, only?.join(',') ?? null);
  const started = performance.now();
  const loaded = await loadAdapters();
  const wanted = values.adapters?.split(',').map((s) => s.trim());
  const adapters = wanted ? loaded.adapters.filter((a) => wanted.includes(a.name)) : loaded.adapters;
  const skipped = loaded.skipped;
  const leftOut = skipped.map((s) => `${s.subject}: ${s.reason}`);
  console.log(`convokit benchmarks (${info.mode}, ${runs} runs per case) on ${info.cpu}, Node ${info.node}`);
  console.log(`adapters: ${adapters.map((a) => a.name).join(', ') || 'none'}`);
  for (const line of leftOut) console.log(`left out ${line}`);

  info.notes.push(...STATIC_NOTES);
  const datasets = new Datasets(options.verbose);
  const results: ScenarioResult[] = [];
  // An error that escapes every try (a peer's callback, an unawaited rejection) is recorded
  // against the scenario running, never ends the run (see stray.ts).
  let current: Recorder | undefined;
  handleStrayErrors((error) => {
    if (current) current.skip('background error', `escaped while the scenario ran: ${reasonOf(error)}`);
    else console.error(`stray error between scenarios: ${reasonOf(error)}`);
  });
  try {
    for (const scenario of SCENARIOS) {
      if (only ? !only.includes(scenario.id) : quick && !scenario.quick) continue;
      console.log(`\n== ${scenario.title} (${scenario.id})`);
      const rec = new Recorder(scenario.id, scenario.title, options);
      current = rec;
      const t0 = performance.now();
      try {
        await scenario.run({ options, sizes, rec, adapters, datasets });
      } catch (error) {
        rec.skip('scenario', `failed: ${(error as Error).stack ?? error}`);
      }
      current = undefined;
      const result = rec.result();
      result.seconds = (performance.now() - t0) / 1000;
      results.push(result);
      console.log(`\n${tables(result)}(${result.seconds.toFixed(1)} s)`);
      if (write) {
        info.seconds = (performance.now() - started) / 1000;
        const partial = {
          ...info,
          load: { start: info.load.start, end: loadavg()[0] as number },
          notes: [
            ...info.notes,
            `Partial: written after the \`${scenario.id}\` scenario; the run had not finished.`,
          ],
        };
        writeResults(buildReport(partial, results), results, leftOut, out);
      }
    }
  } finally {
    await datasets.close();
  }
  info.seconds = (performance.now() - started) / 1000;
  info.load.end = loadavg()[0] as number;
  const report = buildReport(info, results);

  console.log('\n== Targets');
  for (const v of report.ours) console.log(`  ${v.status.padEnd(12)} ${v.issue} ${v.text}: ${v.measured}`);
  for (const [adapter, verdicts] of Object.entries(report.spec)) {
    console.log(`  spec, ${adapter}:`);
    for (const v of verdicts) console.log(`    ${v.status.padEnd(12)} ${v.text}: ${v.measured}`);
  }
  if (!write) {
    console.log('\n(results not written: --only, --adapters or --no-write)');
    return;
  }
  writeResults(report, results, leftOut, out);
  console.log(
    out
      ? `\nwrote ${out} (${info.seconds.toFixed(0)} s)`
      : `\nwrote results/latest.json, RESULTS.md and results/query-scaling.svg (${info.seconds.toFixed(0)} s)`,
  );
}

/** Writes the JSON, the chart and RESULTS.md; also after each scenario, so a stopped run leaves its part. */
function writeResults(report: Report, results: ScenarioResult[], leftOut: string[], out?: string): void {
  if (out) {
    writeFileSync(out, `${JSON.stringify({ ...report, leftOut }, null, 2)}\n`);
    return;
  }
  mkdirSync(join(root, 'results'), { recursive: true });
  writeFileSync(join(root, 'results', 'latest.json'), `${JSON.stringify({ ...report, leftOut }, null, 2)}\n`);
  const series: Series = {};
  for (const result of results) {
    for (const [name, points] of Object.entries(result.series ?? {})) {
      const [adapter, ...rest] = name.split(' ');
      const bucket = series[adapter as string] ?? {};
      bucket[rest.join(' ')] = points;
      series[adapter as string] = bucket;
    }
  }
  const previousSvg = readIfExists(join(root, 'results', 'query-scaling.svg'));
  if (Object.keys(series).length || !previousSvg) {
    writeFileSync(
      join(root, 'results', 'query-scaling.svg'),
      scalingChart(series, 'Uncached data-manager query, p50, against turns stored (log-log)'),
    );
  }
  writeFileSync(join(root, 'RESULTS.md'), markdown(report, leftOut));
}

/**
 * Several partial runs (for instance the long query sweep run on its own) into one report. Run
 * information comes from the first file; the seconds add up; notes and left-out lines are merged.
 */
function combine(files: string[]): void {
  const parts = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as Report & { leftOut: string[] });
  const first = parts[0];
  if (!first) throw new Error('--combine needs at least one file');
  const byId = new Map<string, ScenarioResult>();
  for (const part of parts) {
    for (const result of part.results) {
      const held = byId.get(result.id);
      if (!held) {
        byId.set(result.id, result);
        continue;
      }
      // The same scenario run for other adapters: rows, figures and points join; a later row wins.
      const rows = new Map(held.rows.map((r) => [r.key, r]));
      for (const row of result.rows) rows.set(row.key, row);
      const metrics = new Map(held.metrics.map((m) => [m.key, m]));
      for (const m of result.metrics) metrics.set(m.key, m);
      held.rows = [...rows.values()];
      held.metrics = [...metrics.values()];
      held.skipped = [...held.skipped, ...result.skipped];
      held.series = { ...held.series, ...result.series };
      held.seconds = (held.seconds ?? 0) + (result.seconds ?? 0);
    }
  }
  for (const result of byId.values()) addRatios(result.rows);
  const order = SCENARIOS.map((s) => s.id);
  const results = [...byId.values()].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const info = {
    ...first.info,
    seconds: parts.reduce((sum, p) => sum + p.info.seconds, 0),
    notes: [
      ...new Set(parts.flatMap((p) => p.info.notes).filter((n) => !n.startsWith('Partial:'))),
      `Combined from ${parts.length} runs (${parts.map((p) => `${p.info.mode} ${p.info.only ?? 'all'}, started ${p.info.startedAt}, load ${fmtLoad(p.info.load.start)}-${fmtLoad(p.info.load.end)}`).join('; ')}).`,
    ],
  };
  info.load = { start: first.info.load.start, end: parts[parts.length - 1]?.info.load.end ?? Number.NaN };
  const leftOut = [...new Set(parts.flatMap((p) => p.leftOut))];
  writeResults(buildReport(info, results), results, leftOut);
  console.log(
    `combined ${files.join(', ')} into results/latest.json, RESULTS.md and results/query-scaling.svg`,
  );
}

const fmtLoad = (value: number | null) => (typeof value === 'number' ? value.toFixed(1) : '?');

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
