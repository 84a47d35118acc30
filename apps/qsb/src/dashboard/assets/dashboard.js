// The live dashboard of `qsb monitor` (and `qsb analyze --dashboard`): loads every tick so far from
// /state, then appends each new one from /events (server-sent events). Plain browser script, no build.
/* global uPlot */

const Sides = ['production', 'canary'];
const Colors = { production: '#3b82f6', canary: '#f59e0b' };

/** Charts: a title, the unit shown on the axis, and how to read each side's value from a tick. */
const ChartDefs = [
  { title: 'Interactions per second', unit: '/s', read: (s) => s.interactionsPerSecond },
  { title: 'Error rate (failed or timed out)', unit: '%', read: (s) => pct(s.errorRatio) },
  { title: 'Latency p95 (ms)', unit: 'ms', read: (s) => ms(s.latency?.p95) },
  { title: 'Latency p50 (ms)', unit: 'ms', read: (s) => ms(s.latency?.p50) },
  { title: 'Resident memory per process (MiB)', unit: 'MiB', read: (s) => mib(s.memoryBytes) },
  { title: 'CPU per process (cores)', unit: 'cores', read: (s) => s.cpuCores },
  { title: 'Reconnects per interval', unit: '', read: (s) => s.reconnects },
  { title: 'User reports per interval', unit: '', read: (s) => s.userReports },
];

const pct = (x) => (x === null || x === undefined ? null : x * 100);
const ms = (x) => (x === null || x === undefined ? null : x * 1000);
const mib = (x) => (x === null || x === undefined ? null : x / 1048576);

function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (Math.abs(x) >= 1000 || Number.isInteger(x)) return x.toFixed(0);
  return x.toPrecision(digits);
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

const ticks = [];
const charts = [];
let totals = { production: { reconnects: 0, userReports: 0 }, canary: { reconnects: 0, userReports: 0 } };

function makeCharts() {
  const root = document.getElementById('charts');
  const width = Math.max(380, Math.min(560, root.clientWidth / 2 - 24));
  const shares = {
    title: 'Canary share (%)',
    unit: '%',
    series: [
      { label: 'of shards', stroke: '#8b5cf6', width: 2 },
      { label: 'of traffic', stroke: '#ec4899', width: 2, dash: [6, 4] },
    ],
  };
  const defs = [
    ...ChartDefs.map((d) => ({
      ...d,
      series: Sides.map((s) => ({ label: s, stroke: Colors[s], width: 2 })),
    })),
    shares,
  ];
  for (const def of defs) {
    const el = document.createElement('div');
    el.className = 'chart';
    root.appendChild(el);
    const chart = new uPlot(
      {
        title: def.title,
        width,
        height: 220,
        scales: { x: { time: true } },
        series: [{}, ...def.series.map((s) => ({ ...s, spanGaps: false, points: { show: false } }))],
        axes: [{}, { size: 60 }],
      },
      [[], ...def.series.map(() => [])],
      el,
    );
    charts.push({ def, chart });
  }
}

function redraw() {
  const xs = ticks.map((t) => t.timeMs / 1000);
  for (const { def, chart } of charts) {
    if (def.read) {
      chart.setData([xs, ...Sides.map((side) => ticks.map((t) => def.read(t.sides[side]) ?? null))]);
    } else {
      chart.setData([
        xs,
        ticks.map((t) => pct(t.canaryShardShare)),
        ticks.map((t) => pct(t.canaryTrafficShare)),
      ]);
    }
  }
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.appendChild(c);
    else td.textContent = c;
    tr.appendChild(td);
  }
  return tr;
}

function renderSides(t) {
  const p = t.sides.production;
  const c = t.sides.canary;
  const share = (x) => (x === null ? '–' : `${fmt(x * 100)}%`);
  const rows = [
    ['shards', fmt(p.shards), `${fmt(c.shards)} (${share(t.canaryShardShare)})`],
    [
      'interactions/s',
      fmt(p.interactionsPerSecond),
      `${fmt(c.interactionsPerSecond)} (${share(t.canaryTrafficShare)})`,
    ],
    ['error rate', `${fmt(pct(p.errorRatio))}%`, `${fmt(pct(c.errorRatio))}%`],
    [
      'latency p50 / p95 / p99 (ms)',
      ...[p, c].map((s) =>
        s.latency ? [s.latency.p50, s.latency.p95, s.latency.p99].map((x) => fmt(ms(x))).join(' / ') : '–',
      ),
    ],
    ['memory per process (MiB)', fmt(mib(p.memoryBytes)), fmt(mib(c.memoryBytes))],
    ['CPU per process (cores)', fmt(p.cpuCores), fmt(c.cpuCores)],
    ['reconnects (whole run)', fmt(totals.production.reconnects), fmt(totals.canary.reconnects)],
    ['user reports (whole run)', fmt(totals.production.userReports), fmt(totals.canary.userReports)],
  ];
  const body = document.querySelector('#sides tbody');
  body.replaceChildren(...rows.map(row));
}

/** A value in a metric's unit; bytes read as MiB. */
function inUnit(x, unit) {
  if (unit === 'bytes' && typeof x === 'number') return `${fmt(x / 1048576)} MiB`;
  if (unit === 'bytes/h' && typeof x === 'number') return `${fmt(x / 1048576)} MiB/h`;
  return fmt(x);
}

function effect(r) {
  const e = r.ratio ?? r.difference;
  if (!e) return { estimate: '–', interval: '–', tolerance: '–' };
  // A difference in bytes reads as MiB; other units follow the number.
  const bytes = r.unit.startsWith('bytes');
  const scale = r.ratio || !bytes ? 1 : 1048576;
  const unit = r.ratio ? 'x' : bytes ? r.unit.replace('bytes', ' MiB') : ` ${r.unit}`;
  return {
    estimate: `${fmt(e.estimate / scale)}${unit}`,
    interval: `[${fmt(e.lower / scale)}, ${fmt(e.upper / scale)}]${unit}`,
    tolerance: `${fmt(e.tolerance / scale)}${unit}`,
  };
}

function renderJudge(t) {
  const body = document.querySelector('#judge tbody');
  body.replaceChildren(
    ...t.verdict.reasons.map((r) => {
      const d = document.createElement('span');
      const word = r.decision === 'inconclusive' ? 'waiting' : r.decision;
      d.className = `decision ${r.decision}`;
      d.textContent = word;
      const e = effect(r);
      const tol = t.tolerances[r.metric];
      const configured = tol ? ` (${fmt(tol.relative)}x and +${inUnit(tol.absolute, r.unit)})` : '';
      // The smallest regression the data would catch by the end of the window (when the judge says).
      let detect = '–';
      const det = r.detectable;
      const num = (x) => typeof x === 'number' && Number.isFinite(x);
      if (det && (num(det.ratio) || num(det.difference))) {
        const parts = [];
        if (num(det.ratio)) parts.push(`${fmt(det.ratio)}x`);
        if (num(det.difference))
          parts.push(`+${inUnit(det.difference, r.unit)}${r.unit.startsWith('bytes') ? '' : ` ${r.unit}`}`);
        detect = parts.join(' / ');
      }
      if (r.needed && r.needed.moreSeconds !== null && r.decision === 'inconclusive')
        detect = `${detect === '–' ? '' : `${detect}; `}~${duration(r.needed.moreSeconds)} more`;
      const tr = row([
        r.metric,
        d,
        inUnit(r.production, r.unit),
        inUnit(r.canary, r.unit),
        e.estimate,
        e.interval,
        `${e.tolerance}${configured}`,
        detect,
      ]);
      tr.title = r.message;
      tr.dataset.metric = r.metric;
      tr.dataset.decision = r.decision;
      return tr;
    }),
  );
}

function renderHeader(t) {
  const v = t.verdict;
  const badge = document.getElementById('verdict');
  const word = {
    promote: 'promote',
    rollback: 'rollback',
    continue: v.leaning === 'continue' ? 'judging' : `judging, leaning ${v.leaning}`,
  }[v.verdict];
  badge.textContent = word;
  badge.className = `badge ${v.verdict}`;
  document.getElementById('phase').textContent = t.phase.replace('_', ' ');
  const left =
    t.phase === 'progressing'
      ? `, ${duration(t.remainingSeconds)} left (promotion no earlier than ${duration(v.minDurationSeconds)})`
      : '';
  document.getElementById('clock').textContent = `${duration(t.elapsedSeconds)} elapsed${left}`;
  let summary = v.summary;
  if (v.verdict === 'rollback') summary = `Rolled back: ${v.failed.join(', ')} failed. ${v.summary}`;
  document.getElementById('summary').textContent = summary;
  document.body.dataset.verdict = v.verdict;
  document.body.dataset.phase = t.phase;
  document.body.dataset.ticks = String(ticks.length);
}

function add(t) {
  ticks.push(t);
  for (const side of Sides) {
    totals[side].reconnects += t.sides[side].reconnects;
    totals[side].userReports += t.sides[side].userReports;
  }
}

function render() {
  const t = ticks.at(-1);
  if (!t) return;
  renderHeader(t);
  renderSides(t);
  renderJudge(t);
  redraw();
}

async function load() {
  const state = await (await fetch('/state')).json();
  document.getElementById('title').textContent = state.title;
  ticks.length = 0;
  totals = { production: { reconnects: 0, userReports: 0 }, canary: { reconnects: 0, userReports: 0 } };
  for (const t of state.history) add(t);
  render();
  return state.done;
}

function connect() {
  const status = document.getElementById('connection');
  const events = new EventSource('/events');
  events.addEventListener('open', () => {
    status.textContent = 'live';
  });
  events.addEventListener('tick', (e) => {
    const t = JSON.parse(e.data);
    // Ticks that arrive while /state loads are kept and added after it, once each.
    if (!loaded) pending.push(t);
    else if (t.timeMs > (ticks.at(-1)?.timeMs ?? -Infinity)) {
      add(t);
      render();
    }
  });
  events.addEventListener('done', () => {
    status.textContent = 'finished';
    document.body.dataset.done = 'true';
    events.close();
  });
  events.addEventListener('error', () => {
    if (document.body.dataset.done !== 'true') status.textContent = 'disconnected, retrying';
  });
}

let loaded = false;
const pending = [];
window.qsbDashboard = { ticks, charts: [] };
makeCharts();
window.qsbDashboard.charts = charts.map((c) => c.chart);
connect();
load().then((done) => {
  loaded = true;
  for (const t of pending.splice(0)) if (t.timeMs > (ticks.at(-1)?.timeMs ?? -Infinity)) add(t);
  render();
  if (done) {
    document.getElementById('connection').textContent = 'finished';
    document.body.dataset.done = 'true';
  }
});
