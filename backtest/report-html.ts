/**
 * The backtest's HTML report: one static file, no network (no CDN, no fonts), that draws each
 * strategy's equity curve and drawdown as inline SVG from the data embedded in it. When the
 * charts are drawn the page marks itself (`<html data-charts-drawn="N">`, each chart's
 * `data-points`), which is what the report test reads back from headless Chromium.
 */
import type { BacktestResult, StrategySummary } from './runner.ts';
import type { EquityPoint } from './ledger.ts';

/** Points per curve in the file at most: enough for any screen, small for a long run. */
const MAX_POINTS = 2_000;

/** Keeps the first, the last, and each bucket's lowest and highest equity, so no drawdown is lost. */
export function downsample(points: readonly EquityPoint[], max = MAX_POINTS): EquityPoint[] {
  if (points.length <= max) return [...points];
  const buckets = Math.floor(max / 2);
  const size = points.length / buckets;
  const out: EquityPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    const slice = points.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (slice.length === 0) continue;
    let lo = slice[0]!;
    let hi = slice[0]!;
    for (const p of slice) {
      if (p.equity < lo.equity) lo = p;
      if (p.equity > hi.equity) hi = p;
    }
    for (const p of lo.ts <= hi.ts ? [lo, hi] : [hi, lo]) if (out.at(-1) !== p) out.push(p);
  }
  if (out.at(-1) !== points.at(-1)) out.push(points.at(-1)!);
  return out;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Money in the venue's unit as a readable amount: paise → ₹, micro-dollars → $. */
export function money(unit: string, v: number): string {
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  if (unit === 'paise') return `${sign}₹${(a / 100).toLocaleString('en-IN', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  return `${sign}$${(a / 1_000_000).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;
}

function row(s: StrategySummary): string {
  const m = (v: number) => esc(money(s.moneyUnit, v));
  return `<tr><td>${esc(s.id)}</td><td>${esc(s.venue)}</td><td>${s.orders}</td><td>${s.denied}</td><td>${s.fills}</td><td class="${s.pnl < 0 ? 'neg' : 'pos'}">${m(s.pnl)}</td><td>${m(s.costs)}</td><td>${m(s.maxDrawdown)}</td><td>${m(s.exposure.max)}</td><td>${m(s.exposure.average)}</td><td>${s.crashed ? `crashed: ${esc(s.crashed)}` : s.killed ? `halted: ${esc(s.killed.reason)}` : 'ok'}</td></tr>`;
}

/** Draws into every `.chart` from the JSON in #backtest-data; runs in the browser, so plain JS. */
const DRAW = `
(function () {
  var data = JSON.parse(document.getElementById('backtest-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var W = 900, H = 220, PAD = 40;
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }
  function line(svg, pts, key, color, t0, t1, lo, hi) {
    var spanT = Math.max(1, t1 - t0), spanV = Math.max(1, hi - lo);
    var d = pts.map(function (p) {
      var x = PAD + ((p.ts - t0) / spanT) * (W - 2 * PAD);
      var y = H - PAD - ((p[key] - lo) / spanV) * (H - 2 * PAD);
      return x.toFixed(1) + ',' + y.toFixed(1);
    }).join(' ');
    return el('polyline', { points: d, fill: 'none', stroke: color, 'stroke-width': 1.5, 'data-series': key }, svg);
  }
  // Amounts arrive in the venue's unit (paise, micro-dollars) and are labelled in its currency.
  data.strategies.forEach(function (s) {
    var div = s.moneyUnit === 'paise' ? 100 : 1000000;
    s.moneyLabel = s.moneyUnit === 'paise' ? '\u20b9' : 'USD';
    s.fmt = function (v) { return (v / div).toFixed(2); };
  });
  var drawn = 0;
  data.strategies.forEach(function (s) {
    var pts = data.curves[s.id] || [];
    var box = document.querySelector('.chart[data-strategy="' + CSS.escape(s.id) + '"]');
    if (!box || pts.length === 0) return;
    var t0 = pts[0].ts, t1 = pts[pts.length - 1].ts;
    [['equity', '#1f6feb', 'Equity'], ['drawdown', '#d1242f', 'Drawdown']].forEach(function (spec) {
      var key = spec[0];
      var vals = pts.map(function (p) { return key === 'drawdown' ? -p.drawdown : p.equity; });
      var lo = Math.min.apply(null, vals.concat([0])), hi = Math.max.apply(null, vals.concat([0]));
      var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img', 'aria-label': spec[2] + ' of ' + s.id, 'data-kind': key }, box);
      var zero = H - PAD - ((0 - lo) / Math.max(1, hi - lo)) * (H - 2 * PAD);
      el('line', { x1: PAD, x2: W - PAD, y1: zero, y2: zero, stroke: '#999', 'stroke-dasharray': '4 3' }, svg);
      var mapped = pts.map(function (p, i) { return { ts: p.ts, v: vals[i] }; });
      var pl = line(svg, mapped, 'v', spec[1], t0, t1, lo, hi);
      pl.setAttribute('data-series', key);
      var title = el('text', { x: PAD, y: 16, 'font-size': 13, fill: '#333' }, svg);
      title.textContent = spec[2] + ' (' + s.moneyLabel + ')  min ' + s.fmt(lo) + '  max ' + s.fmt(hi);
      svg.setAttribute('data-points', String(pts.length));
      drawn++;
    });
  });
  document.documentElement.setAttribute('data-charts-drawn', String(drawn));
})();`;

export function renderReport(r: BacktestResult, title = 'orch backtest'): string {
  const curves: Record<string, EquityPoint[]> = {};
  for (const s of r.strategies) curves[s.id] = downsample(r.curves[s.id] ?? []);
  const payload = JSON.stringify({ strategies: r.strategies.map((s) => ({ id: s.id, moneyUnit: s.moneyUnit })), curves }).replace(/</g, '\\u003c');
  const range = `${new Date(r.from).toISOString()} – ${new Date(r.to).toISOString()}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 12px 0 24px; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.neg { color: #d1242f; } .pos { color: #1a7f37; }
.chart { max-width: 960px; margin-bottom: 24px; }
code { background: #f4f4f4; padding: 1px 4px; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p>Data ${esc(range)} · ${r.ticks.toLocaleString('en-US')} ticks · seed ${r.seed} · hash <code>${esc(r.hash)}</code></p>
<table>
<thead><tr><th>strategy</th><th>venue</th><th>orders</th><th>denied</th><th>fills</th><th>P&amp;L</th><th>costs</th><th>max drawdown</th><th>max exposure</th><th>avg exposure</th><th>state</th></tr></thead>
<tbody>
${r.strategies.map(row).join('\n')}
</tbody>
</table>
${r.strategies.map((s) => `<h2>${esc(s.id)}</h2>\n<div class="chart" data-strategy="${esc(s.id)}"></div>`).join('\n')}
<script type="application/json" id="backtest-data">${payload}</script>
<script>${DRAW}</script>
</body>
</html>
`;
}
