/**
 * A small log-log line chart, one panel per adapter and one line per query type, written by hand
 * so the chart needs no dependency and stays readable as text in the repository.
 */

export type Series = Record<string, Record<string, { turns: number; p50Ms: number }[]>>;

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#7f7f7f'];

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

function label(value: number, unit: 'ms' | 'turns'): string {
  if (unit === 'turns')
    return value >= 1e6 ? `${value / 1e6}M` : value >= 1e3 ? `${value / 1e3}k` : String(value);
  if (value < 1) return `${value * 1000} us`;
  return value >= 1000 ? `${value / 1000} s` : `${value} ms`;
}

/** `series`: adapter -> line name -> points. */
export function scalingChart(series: Series, title: string): string {
  const adapters = Object.keys(series);
  const panelW = 360;
  const panelH = 260;
  const margin = { left: 60, right: 12, top: 40, bottom: 40 };
  const legendH = 110;
  const width = Math.max(1, adapters.length) * (panelW + margin.left + margin.right);
  const height = panelH + margin.top + margin.bottom + legendH;
  const all = adapters.flatMap((a) => Object.values(series[a] ?? {}).flat());
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (all.length === 0) {
    parts.push('<text x="8" y="40">No scaling figures in this run.</text></svg>');
    return parts.join('\n');
  }
  const xs = all.map((p) => p.turns);
  const ys = all.map((p) => Math.max(p.p50Ms, 1e-3));
  const xTicks = decades(Math.min(...xs), Math.max(...xs));
  const yTicks = decades(Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [Math.log10(xTicks[0] as number), Math.log10(xTicks[xTicks.length - 1] as number)];
  const [y0, y1] = [Math.log10(yTicks[0] as number), Math.log10(yTicks[yTicks.length - 1] as number)];
  const lineNames = [...new Set(adapters.flatMap((a) => Object.keys(series[a] ?? {})))];

  adapters.forEach((adapter, index) => {
    const ox = index * (panelW + margin.left + margin.right) + margin.left;
    const oy = margin.top;
    const px = (turns: number) => ox + ((Math.log10(turns) - x0) / (x1 - x0 || 1)) * panelW;
    const py = (ms: number) =>
      oy + panelH - ((Math.log10(Math.max(ms, 1e-3)) - y0) / (y1 - y0 || 1)) * panelH;
    parts.push(`<text x="${ox}" y="${oy - 8}" font-weight="bold">${escapeXml(adapter)}</text>`);
    parts.push(`<rect x="${ox}" y="${oy}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
    for (const t of xTicks) {
      const x = px(t).toFixed(1);
      parts.push(`<line x1="${x}" y1="${oy}" x2="${x}" y2="${oy + panelH}" stroke="#eee"/>`);
      parts.push(`<text x="${x}" y="${oy + panelH + 14}" text-anchor="middle">${label(t, 'turns')}</text>`);
    }
    for (const t of yTicks) {
      const y = py(t).toFixed(1);
      parts.push(`<line x1="${ox}" y1="${y}" x2="${ox + panelW}" y2="${y}" stroke="#eee"/>`);
      parts.push(
        `<text x="${ox - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(t, 'ms')}</text>`,
      );
    }
    parts.push(
      `<text x="${ox + panelW / 2}" y="${oy + panelH + 30}" text-anchor="middle">turns stored</text>`,
      `<text x="${ox - 46}" y="${oy + panelH / 2}" transform="rotate(-90 ${ox - 46} ${oy + panelH / 2})" text-anchor="middle">p50 query time</text>`,
    );
    for (const [name, points] of Object.entries(series[adapter] ?? {})) {
      const color = COLORS[lineNames.indexOf(name) % COLORS.length];
      const sorted = [...points].sort((a, b) => a.turns - b.turns);
      const path = sorted.map((p) => `${px(p.turns).toFixed(1)},${py(p.p50Ms).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
      for (const p of sorted) {
        parts.push(
          `<circle cx="${px(p.turns).toFixed(1)}" cy="${py(p.p50Ms).toFixed(1)}" r="2.5" fill="${color}"><title>${escapeXml(`${adapter} ${name}: ${p.p50Ms.toFixed(3)} ms at ${p.turns} turns`)}</title></circle>`,
        );
      }
    }
  });
  const ly = margin.top + panelH + margin.bottom + 16;
  lineNames.forEach((name, i) => {
    const x = margin.left + (i % 3) * 240;
    const y = ly + Math.floor(i / 3) * 18;
    parts.push(
      `<line x1="${x}" y1="${y}" x2="${x + 20}" y2="${y}" stroke="${COLORS[i % COLORS.length]}" stroke-width="2.5"/>`,
      `<text x="${x + 26}" y="${y}" dominant-baseline="middle">${escapeXml(name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
