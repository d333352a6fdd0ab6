/** Plain-text rendering for the terminal: tables, horizontal bars and sparklines. */

const SPARKS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly (number | null)[]): string {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return '';
  const min = Math.min(...present);
  const max = Math.max(...present);
  return values
    .map((v) => {
      if (v === null) return ' ';
      const i = max === min ? 3 : Math.round(((v - min) / (max - min)) * (SPARKS.length - 1));
      return SPARKS[i];
    })
    .join('');
}

export function bar(value: number, max: number, width = 28): string {
  if (max <= 0) return '';
  const cells = (value / max) * width;
  const full = Math.floor(cells);
  const partial = ' ▏▎▍▌▋▊▉'[Math.round((cells - full) * 7)]!;
  return '█'.repeat(full) + (full < width ? partial.trim() : '');
}

export function table(headers: string[], rows: (string | number)[][], align: ('l' | 'r')[] = []): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export const fmt = {
  pct: (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`),
  ms: (x: number | null | undefined) =>
    x === null || x === undefined ? '—' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`,
  int: (x: number) => x.toLocaleString('en-US'),
  day: (at: number) => new Date(at).toISOString().slice(0, 10),
  signed: (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`),
};

export function heading(text: string): string {
  return `\n${text}\n${'═'.repeat(text.length)}`;
}
