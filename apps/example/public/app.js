// The dashboard page: renders what /api/dashboard returns, and turns clicks into context writes
// (persona selection -> linked chart filters; timeline clicks -> drill-down navigation).
const charts = {};
const view = { data: null };
// Counts renders (and failed loads), so a test can wait for "the next render" without clocks.
let renders = 0;
let failures = 0;

function chart(id) {
  charts[id] ??= echarts.init(document.getElementById(id), null, { renderer: 'svg' });
  return charts[id];
}

// No entry animation: a click lands on the bar where it is drawn, at once.
function draw(id, option) {
  chart(id).setOption({ animation: false, ...option }, true);
}

const esc = (s) =>
  String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const day = (at) => new Date(at).toISOString().slice(0, 10);

async function api(path, body) {
  const res = await fetch(
    path,
    body === undefined
      ? {}
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  const json = await res.json();
  if (!res.ok) throw new Error(json.error?.message ?? res.statusText);
  return json;
}

function render(d) {
  view.data = d;
  const { state } = d;
  const crumbs = document.getElementById('crumbs');
  crumbs.innerHTML = state.breadcrumbs
    .map(
      (b, i) =>
        `${i ? '<span class="sep">›</span>' : ''}<button data-depth="${b.depth}">${esc(b.label)}</button>`,
    )
    .join('');
  document.getElementById('selection').innerHTML = state.persona
    ? `persona: <b id="selected-persona">${esc(state.persona)}</b><button id="clear">clear</button>`
    : 'all personas';

  const personas = d.personas.data?.personas ?? [];
  draw('personas', {
    grid: { left: 44, right: 10, top: 10, bottom: 28 },
    tooltip: {},
    xAxis: { type: 'category', data: personas.map((p) => p.persona ?? '(none)') },
    yAxis: { type: 'value' },
    series: [
      {
        type: 'bar',
        name: 'turns',
        data: personas.map((p) => ({
          value: p.turns,
          itemStyle: { color: state.persona && state.persona !== p.persona ? '#c9d3e6' : '#3b6fd8' },
        })),
      },
    ],
  });

  const series = d.timeline.data?.series ?? [];
  const label = (p) =>
    state.aggregation === 'monthly'
      ? day(p.start).slice(0, 7)
      : state.aggregation === 'daily'
        ? day(p.start)
        : String(p.key).slice(-8);
  document.getElementById('timeline-title').textContent =
    state.aggregation === 'session'
      ? `Sessions on ${state.path[1]}`
      : `Turns and p95 latency, ${state.aggregation}`;
  draw('timeline', {
    grid: { left: 48, right: 48, top: 24, bottom: 28 },
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    xAxis: { type: 'category', data: series.map(label) },
    yAxis: [
      { type: 'value', name: 'turns' },
      { type: 'value', name: 'p95 ms' },
    ],
    series: [
      { type: 'bar', name: 'turns', data: series.map((p) => p.values.turns) },
      { type: 'line', name: 'p95', yAxisIndex: 1, data: series.map((p) => p.values.latencyP95) },
    ],
  });

  const frameworks = d.frameworks.data?.frameworks ?? [];
  draw('frameworks', {
    grid: { left: 130, right: 16, top: 6, bottom: 24 },
    tooltip: {},
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: frameworks.map((f) => f.framework).reverse() },
    series: [{ type: 'bar', name: 'detections', data: frameworks.map((f) => f.detections).reverse() }],
  });

  const hours = d.engagement.data?.hourOfDay ?? [];
  draw('hours', {
    grid: { left: 44, right: 10, top: 10, bottom: 28 },
    tooltip: {},
    xAxis: { type: 'category', data: hours.map((_, h) => String(h).padStart(2, '0')) },
    yAxis: { type: 'value' },
    series: [{ type: 'bar', name: 'turns', data: hours }],
  });

  const insights = d.insights.data;
  document.getElementById('insights').innerHTML = insights?.insights.length
    ? insights.insights
        .map(
          (i) =>
            `<li>${esc(i.sentence)} <small>(confidence ${(i.confidence * 100).toFixed(0)}%)</small></li>`,
        )
        .join('')
    : (insights?.notes ?? ['No insight.']).map((n) => `<li>${esc(n)}</li>`).join('');

  const sessions = d.sessions.data?.sessions ?? [];
  document.getElementById('sessions').innerHTML =
    '<tr><th>session</th><th>turns</th><th>last turn</th><th>personas</th></tr>' +
    sessions
      .map(
        (s) =>
          `<tr><td>${esc(s.sessionId)}</td><td>${s.turns}</td><td>${esc(new Date(s.lastAt).toISOString().slice(0, 16).replace('T', ' '))}</td><td>${esc(s.personas.map((p) => p.persona).join(', '))}</td></tr>`,
      )
      .join('');
  document.getElementById('error').hidden = true;
  document.body.dataset.ready = String(++renders);
}

// A failed load says so on the page, instead of leaving the last render silently in place.
async function load(path, body) {
  try {
    render(await api(path, body));
  } catch (e) {
    const alert = document.getElementById('error');
    alert.textContent = `Could not load the dashboard: ${e.message}`;
    alert.hidden = false;
    document.body.dataset.failed = String(++failures);
  }
}

chart('personas').on('click', (e) => {
  const persona = e.name === '(none)' ? null : e.name;
  load('/api/select', { persona: view.data.state.persona === persona ? null : persona });
});
chart('timeline').on('click', (e) => {
  const { state } = view.data;
  if (state.aggregation === 'session') return;
  load('/api/drill', { value: e.name });
});
document.getElementById('crumbs').addEventListener('click', (e) => {
  const depth = e.target.dataset?.depth;
  if (depth !== undefined) load('/api/jump', { depth: Number(depth) });
});
document.getElementById('selection').addEventListener('click', (e) => {
  if (e.target.id === 'clear') load('/api/select', { persona: null });
});
document.getElementById('search').addEventListener('submit', async (e) => {
  e.preventDefault();
  const q = new FormData(e.target).get('q');
  const r = await api(`/api/search?q=${encodeURIComponent(q)}`);
  const hits = r.data ?? [];
  document.getElementById('results').hidden = false;
  document.getElementById('hits').innerHTML = hits.length
    ? hits
        .map(
          (h) =>
            `<li>${day(h.turn.at)} · ${esc(h.turn.persona ?? '')} · ${esc(h.turn.sessionId)}<br>${esc(h.snippet).replaceAll('&lt;mark&gt;', '<mark>').replaceAll('&lt;/mark&gt;', '</mark>')}</li>`,
        )
        .join('')
    : `<li>${r.success ? 'No match.' : esc(r.error?.message ?? 'Search failed')}</li>`;
});
window.addEventListener('resize', () => {
  for (const c of Object.values(charts)) c.resize();
});

// For tests and debugging: where a category sits on screen, and what is shown.
window.convokit = {
  view,
  pixelOf(chartId, index) {
    const c = charts[chartId];
    const option = c.getOption();
    const category = option.xAxis[0].data ? option.xAxis[0].data[index] : undefined;
    const value = option.series[0].data[index];
    const [x, y] = c.convertToPixel({ seriesIndex: 0 }, [
      index,
      (typeof value === 'object' ? value.value : value) / 2,
    ]);
    const box = c.getDom().getBoundingClientRect();
    return { x: box.left + x, y: box.top + y, category };
  },
};

load('/api/dashboard');
