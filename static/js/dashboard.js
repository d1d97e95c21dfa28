// dashboard.js: one uPlot chart per metric series the analytics service
// samples, grouped by subsystem, refreshed every two seconds, with the
// server's forecast drawn as a cone (80 % and 95 % prediction intervals).
// Panels export as CSV or PNG. Tests read window.metastationDashboard.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { live } from "./live.js";
import { $, el, get, bytes, clock, compact, sig, dollars, signedDollars, money, fixed, pct as pctOf } from "./page.js";

// The controls never submit (an inline onsubmit would break the CSP).
$("dash-controls").addEventListener("submit", (e) => e.preventDefault());


const SECTIONS = [
  { sub: "system", title: "System health" },
  { sub: "market", title: "Market overview" },
  { sub: "tournament", title: "Strategies" },
  { sub: "rl", title: "Training" },
  { sub: "synth", title: "Data pipelines" },
];
const REFRESH_MS = 2000;
const FORECAST_MS = 10000;

// Friendly names, in the order panels appear within a section.
const TITLES = {
  "system.bus_per_s": "Bus messages",
  "system.frames_per_s": "Hub frames sent",
  "system.hub_clients": "Connected clients",
  "system.heap_bytes": "Heap in use",
  "system.goroutines": "Goroutines",
  "system.writes_per_s": "Database rows written",
  "system.bus_dropped": "Bus messages dropped",
  "market.regime": "Regime (0 calm … 3 black swan)",
  "market.price": "Price",
  "market.trades_per_s": "Trades",
  "market.volume_per_s": "Volume",
  "market.spread_bps": "Spread",
  "market.decisions": "Agent decisions",
  "market.orders": "Orders",
  "market.agents": "Market agents",
  "tournament.equity": "Equity",
  "tournament.pnl": "P&L this round",
  "tournament.drawdown": "Underwater drawdown: below the peak",
  "tournament.rolling_sharpe": "Rolling Sharpe (last 60 steps, not annualised)",
  "tournament.sharpe": "Sharpe, round so far (annualised)",
  "tournament.gross": "Exposure (gross, long plus short)",
  "tournament.decision_p50": "Decision latency, median",
  "tournament.decision_p99": "Decision latency, 99th percentile",
  "tournament.votes": "Audience votes",
  "rl.return": "Training return",
  "rl.steps": "Training steps",
  "rl.entropy": "Policy entropy",
  "synth.rows_per_s": "Rows generated",
  "synth.rows": "Rows written",
};
const ORDER = Object.keys(TITLES);
// Step-like series get no forecast.
const NO_FORECAST = new Set(["market.regime", "system.hub_clients", "system.bus_dropped", "market.agents",
  "tournament.drawdown", "tournament.sharpe", "tournament.rolling_sharpe", "tournament.gross", "tournament.pnl"]);

const RANGES = { "2m": 120, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400 };
const COLORS = ["#7cf2c5", "#6aa8ff", "#b694ff", "#ffc46a", "#ff8fab", "#5ee0ff"];

const state = { range: "5m", sub: "", filter: "", forecasts: true, series: [] };
const panels = new Map(); // series key -> Panel

// Tests read this to see that the charts are live and the cones drawn.
const dash = { updates: 0, panels: 0, forecasts: 0, forecastErrors: 0, charts: {}, lastExport: null };
window.metastationDashboard = dash;

// Units of the series whose sampler names none.
const UNITS = {
  "tournament.equity": "$", "tournament.pnl": "$", "tournament.gross": "$",
  "tournament.sharpe": "ratio", "tournament.rolling_sharpe": "ratio",
  "market.decisions": "total", "market.orders": "total", "market.agents": "agents",
  "system.goroutines": "goroutines", "system.hub_clients": "clients", "system.bus_dropped": "messages",
};
// Units a title need not repeat (the value says them, or they are plain counts).
const QUIET_UNITS = new Set(["clients", "goroutines", "messages", "agents", "total", "level", "votes", "ratio"]);
const unitOf = (info) => info.unit || UNITS[info.name] || "";

// fmt writes a value with its unit, to four significant digits at most.
function fmt(unit, v) {
  if (v == null || !Number.isFinite(v)) return "–";
  switch (unit) {
    case "bytes": return bytes(v);
    case "$": return dollars(v, { short: Math.abs(v) >= 1e5 });
    case "%": return fixed(v, 2) + " %";
    case "level": case "ratio": case "": return sig(v, 4);
    case "total": case "agents": case "goroutines": case "clients": case "messages": case "votes": return compact(v, 4);
  }
  return `${compact(v, 3)} ${unit}`;
}

// axisFmt writes an axis label: short, the unit only where it is a sign.
function axisFmt(unit, v) {
  if (v == null || !Number.isFinite(v)) return "";
  if (unit === "bytes") return bytes(v);
  if (unit === "$") return Math.abs(v) < 0.5 ? "$0" : signedDollars(v).replace("+", "");
  if (unit === "%") return sig(v, 3) + "%";
  return compact(v, 3);
}

// timeFmt writes the x axis's times: seconds only when the ticks are less
// than a minute apart (incr, in seconds), so the labels never run together.
function timeFmt(sec, incr) {
  const d = new Date(sec * 1000);
  return d.toLocaleTimeString("en-GB", { hour12: false, hour: "2-digit", minute: "2-digit", ...(incr % 60 ? { second: "2-digit" } : {}) });
}

function query(info) {
  const p = new URLSearchParams(info.labels);
  p.set("range", state.range);
  return p;
}

function titleOf(info) {
  const extra = Object.entries(info.labels).filter(([k]) => k !== "subsystem").map(([, v]) => v);
  return (TITLES[info.name] || info.name) + (extra.length ? " · " + extra.join(" · ") : "");
}

class Panel {
  constructor(info, color) {
    this.info = info;
    this.points = [];
    this.fc = null;
    this.forecastable = !NO_FORECAST.has(info.name);
    const unit = unitOf(info);
    const art = el("article", { class: "panel chart-panel", dataset: { key: info.key } });
    // The whole title wraps (never cut); the series key is its tooltip.
    const h = el("h3", { title: info.key }, titleOf(info), unit && !QUIET_UNITS.has(unit) ? el("span", "unit", ` (${unit})`) : null);
    this.valueEl = el("span", "value", "–");
    const tools = el("span", "tools", ...[["CSV", () => this.exportCSV()], ["PNG", () => this.exportPNG()]].map(([label, fn]) =>
      el("button", { type: "button", dataset: { export: label.toLowerCase() }, on: { click: fn }, title: `download as ${label}` }, label)));
    const head = el("header", null, h, el("span", "head-right", this.valueEl, tools));
    this.modelEl = el("p", "model");
    this.plotEl = el("div", "plot");
    const legend = el("p", "chart-legend",
      el("span", null, el("i", { class: "key", style: { background: color } }), unit ? `value, ${unit}` : "value"),
      this.forecastable ? el("span", null, el("i", { class: "key dash" }), "forecast") : null,
      this.forecastable ? el("span", null, el("i", { class: "key band" }), "80 % and 95 % intervals") : null);
    art.append(head, this.modelEl, this.plotEl, legend);
    this.el = art;
    this.color = color;
    this.visible = true; // until the observer says otherwise
    seen.observe(art);
  }

  mount() {
    const width = Math.max(280, this.plotEl.clientWidth || 380);
    const unit = unitOf(this.info);
    const cone = "rgba(124, 242, 197, ";
    const axis = { stroke: "#8a93a8", grid: { stroke: "#1b2130" }, ticks: { stroke: "#232a3b" } };
    const opts = {
      width, height: 190,
      cursor: { drag: { x: true, y: false } },
      scales: {
        // The x axis spans the picked range (or the data, if longer), plus the forecast.
        x: { time: true, range: (u) => {
          const xs = u.data[0];
          const span = RANGES[state.range] || 300;
          const hi = xs.length ? xs[xs.length - 1] : Date.now() / 1000;
          const lo = Math.min(xs.length ? xs[0] : hi, hi - span);
          return [lo, hi];
        } },
        y: this.info.name === "market.regime" ? { range: [0, 3] } : {},
      },
      legend: { show: false },
      axes: [
        { ...axis, space: 48, values: (u, vals, _i, _space, incr) => vals.map((v) => timeFmt(v, incr)) },
        { ...axis, size: unit === "bytes" || unit === "$" ? 74 : 58, values: (u, vals) => vals.map((v) => axisFmt(unit, v)) },
      ],
      series: [
        {},
        { label: "value", stroke: this.color, width: 1.6 },
        { label: "forecast", stroke: "#ffc46a", width: 1.4, dash: [6, 4] },
        { label: "lo80", stroke: cone + "0.5)", width: 0.8 },
        { label: "hi80", stroke: cone + "0.5)", width: 0.8 },
        { label: "lo95", stroke: cone + "0.25)", width: 0.6 },
        { label: "hi95", stroke: cone + "0.25)", width: 0.6 },
      ],
      bands: [
        { series: [4, 3], fill: "rgba(255, 196, 106, 0.20)" },
        { series: [6, 5], fill: "rgba(255, 196, 106, 0.09)" },
      ],
      // Hover: the header shows the time and value (or forecast and its
      // 80 % interval) under the cursor instead of the latest value.
      hooks: { setCursor: [(u) => this.hover(u.cursor.idx)] },
    };
    this.u = new uPlot(opts, this.data(), this.plotEl);
  }

  hover(i) {
    const d = this.u && this.u.data;
    if (i == null || !d || i >= d[0].length) {
      this.hovered = null;
      const last = this.points[this.points.length - 1];
      this.valueEl.textContent = last ? fmt(unitOf(this.info), last.v) : "–";
      this.valueEl.title = "";
      return;
    }
    const unit = unitOf(this.info);
    const t = clock(d[0][i] * 1000);
    this.hovered = { i, t: d[0][i], value: d[1][i], forecast: d[2][i] };
    if (d[1][i] != null) this.valueEl.textContent = `${t}  ${fmt(unit, d[1][i])}`;
    else this.valueEl.textContent = `${t}  ≈${fmt(unit, d[2][i])} (${fmt(unit, d[3][i])}…${fmt(unit, d[4][i])})`;
    dash.hover = { key: this.info.key, text: this.valueEl.textContent };
  }

  // data aligns the history and the forecast on one time axis (seconds).
  data() {
    const xs = this.points.map((p) => p.t / 1000);
    const ys = this.points.map((p) => p.v);
    const n = xs.length;
    const cols = [xs, ys, [], [], [], [], []];
    for (let c = 2; c < 7; c++) cols[c] = new Array(n).fill(null);
    const f = state.forecasts && this.fc && this.fc.forecast;
    if (f && n > 0) {
      const lastX = xs[n - 1];
      // The cone starts at the last value.
      for (let c = 2; c < 7; c++) cols[c][n - 1] = ys[n - 1];
      const keys = ["mean", "lo80", "hi80", "lo95", "hi95"];
      this.fc.times_ms.forEach((t, i) => {
        if (t / 1000 <= lastX) return;
        xs.push(t / 1000);
        ys.push(null);
        keys.forEach((k, j) => cols[j + 2].push(f[k][i]));
      });
    }
    return cols;
  }

  async refresh() {
    const body = await get(`/api/analytics/series/${encodeURIComponent(this.info.name)}?${query(this.info)}&points=600`);
    this.points = body.points;
    this.draw();
  }

  async refreshForecast() {
    if (!this.forecastable || !state.forecasts || this.points.length < 40) return;
    try {
      this.fc = await get(`/api/analytics/forecast/${encodeURIComponent(this.info.name)}?${query(this.info)}&points=240&horizon=40`);
    } catch (err) {
      dash.forecastErrors++;
      this.modelEl.textContent = err.status === 422 ? "forecast: not enough points yet" : "";
      return;
    }
    dash.forecasts++;
    const f = this.fc.forecast;
    this.modelEl.textContent = `forecast: ${f.model}` + (f.period ? `, season ${f.period}` : "") +
      ` · validation MASE ${f.mase.toFixed(2)} (naive ${f.naive_mase ? f.naive_mase.toFixed(2) : "–"})`;
    this.draw();
  }

  draw() {
    if (!this.u) return;
    const d = this.data();
    this.u.setData(d);
    const last = this.points[this.points.length - 1];
    if (!this.hovered) this.valueEl.textContent = last ? fmt(unitOf(this.info), last.v) : "–";
    dash.charts[this.info.key] = {
      points: this.points.length,
      last: last ? last.v : null,
      lastT: last ? last.t : null,
      cone: d[2].some((v, i) => v != null && i >= this.points.length),
      model: this.fc ? this.fc.forecast.model : null,
    };
  }

  rows() {
    const d = this.data();
    const out = [["time", "value", "forecast", "lo80", "hi80", "lo95", "hi95"].join(",")];
    for (let i = 0; i < d[0].length; i++) {
      out.push([new Date(d[0][i] * 1000).toISOString(), ...d.slice(1).map((c) => (c[i] == null ? "" : c[i]))].join(","));
    }
    return out.join("\n") + "\n";
  }

  filename(ext) {
    return this.info.key.replace(/[^a-zA-Z0-9_.=-]+/g, "_") + "." + ext;
  }

  exportCSV() {
    const csv = this.rows();
    download(new Blob([csv], { type: "text/csv" }), this.filename("csv"));
    dash.lastExport = { kind: "csv", key: this.info.key, bytes: csv.length, head: csv.slice(0, 80) };
  }

  exportPNG() {
    // The chart's canvas on the page's background, with the title above.
    const src = this.u.ctx.canvas;
    const c = document.createElement("canvas");
    c.width = src.width;
    c.height = src.height + 40;
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#11151f";
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = "#e6e9f2";
    ctx.font = "600 22px system-ui, sans-serif";
    ctx.fillText(titleOf(this.info), 12, 28);
    ctx.drawImage(src, 0, 40);
    const url = c.toDataURL("image/png");
    c.toBlob((blob) => download(blob, this.filename("png")));
    dash.lastExport = { kind: "png", key: this.info.key, bytes: url.length, head: url.slice(0, 30) };
  }

  destroy() {
    seen.unobserve(this.el);
    if (this.u) this.u.destroy();
    this.el.remove();
    delete dash.charts[this.info.key];
  }
}

// Panels off screen are not refreshed: a long dashboard costs the server
// only what is looked at. A panel coming into view refreshes at once.
const seen = new IntersectionObserver((entries) => {
  for (const en of entries) {
    const p = panels.get(en.target.dataset.key);
    if (!p) continue;
    const was = p.visible;
    p.visible = en.isIntersecting;
    if (p.visible && !was) p.refresh().then(() => p.refreshForecast()).catch(() => {});
  }
}, { rootMargin: "200px" });

function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function sectionOf(info) {
  return info.labels.subsystem || info.name.split(".")[0];
}

function wanted(info) {
  if (state.sub && sectionOf(info) !== state.sub) return false;
  if (state.filter) {
    const hay = (info.key + " " + titleOf(info)).toLowerCase();
    if (!hay.includes(state.filter.toLowerCase())) return false;
  }
  return true;
}

function rank(info) {
  const i = ORDER.indexOf(info.name);
  return (i < 0 ? ORDER.length : i) * 1000 + (info.key.length % 1000);
}

// layout makes the sections and panels match the series list and filters:
// every series, in a collapsible section per subsystem; a metric with
// several series (one per instrument or strategy) gets its own collapsible
// group inside it.
function layout() {
  const root = $("dash-sections");
  const keep = new Set();
  const subs = new Set(state.series.map(sectionOf));
  const sel = $("dash-subsystem");
  for (const s of [...SECTIONS.map((x) => x.sub), ...subs]) {
    if (![...sel.options].some((o) => o.value === s)) sel.add(new Option(SECTIONS.find((x) => x.sub === s)?.title || s, s));
  }
  const order = [...SECTIONS, ...[...subs].filter((s) => !SECTIONS.some((x) => x.sub === s)).map((s) => ({ sub: s, title: s }))];
  const rankOf = (sub) => { const i = order.findIndex((x) => x.sub === sub); return i < 0 ? 1e9 : i; };
  let shown = 0;
  for (const sec of order) {
    const infos = state.series.filter((i) => sectionOf(i) === sec.sub && wanted(i))
      .sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key));
    let box = root.querySelector(`.dash-section[data-sub="${sec.sub}"]`);
    if (infos.length === 0) { if (box) box.hidden = true; continue; }
    if (!box) {
      box = el("details", { class: "dash-section", open: true, dataset: { sub: sec.sub } },
        el("summary", null, el("h2", null, sec.title), el("span", "sub count")),
        el("div", "dash-grid singles"));
      box.addEventListener("toggle", () => resizeIn(box));
      // Keep the sections in their order whatever order they appear in.
      const after = [...root.children].find((b) => rankOf(b.dataset.sub) > rankOf(sec.sub));
      root.insertBefore(box, after || null);
    }
    box.hidden = false;
    box.querySelector("summary .count").textContent = `${infos.length} series`;
    shown += infos.length;
    const byName = new Map();
    for (const info of infos) byName.set(info.name, [...(byName.get(info.name) || []), info]);
    for (const [name, group] of byName) {
      let grid = box.querySelector(".dash-grid.singles");
      if (group.length > 1) {
        let g = box.querySelector(`.dash-group[data-name="${CSS.escape(name)}"]`);
        if (!g) {
          g = el("details", { class: "dash-group", open: true, dataset: { name } },
            el("summary", null, el("h3", null, TITLES[name] || name), el("span", "sub count")), el("div", "dash-grid"));
          g.addEventListener("toggle", () => resizeIn(g));
          box.append(g);
        }
        g.querySelector(".count").textContent = `${group.length} series`;
        grid = g.querySelector(".dash-grid");
      }
      group.forEach((info, i) => {
        keep.add(info.key);
        let p = panels.get(info.key);
        if (!p) {
          p = new Panel(info, COLORS[i % COLORS.length]);
          panels.set(info.key, p);
          grid.append(p.el);
          p.mount();
        }
      });
    }
    for (const g of box.querySelectorAll(".dash-group")) g.hidden = !byName.has(g.dataset.name) || byName.get(g.dataset.name).length < 2;
  }
  for (const [key, p] of panels) {
    if (!keep.has(key)) { p.destroy(); panels.delete(key); }
  }
  dash.panels = panels.size;
  dash.series = state.series.length;
  const empty = $("dash-empty");
  empty.hidden = panels.size > 0;
  if (state.sub && !subs.has(state.sub)) {
    empty.hidden = false;
    empty.textContent = `${SECTIONS.find((x) => x.sub === state.sub)?.title || state.sub} publishes no series yet: it does when it runs (start a training run or a data job).`;
  } else empty.textContent = "No series match; the sampler records what the subsystems publish, give it a few seconds.";
  setTextIf("dash-count", `${shown} of ${state.series.length} series shown`);
}

function setTextIf(id, text) { const e = $(id); if (e) e.textContent = text; }

// resizeIn sizes the charts of a section or group that was just opened
// (a closed one has no width to measure).
function resizeIn(box) {
  if (!box.open) return;
  for (const art of box.querySelectorAll(".chart-panel")) {
    const p = panels.get(art.dataset.key);
    if (p?.u) p.u.setSize({ width: Math.max(280, p.plotEl.clientWidth), height: 190 });
  }
}

async function refresh() {
  try {
    state.series = await get("/api/analytics/series");
    layout();
    await Promise.all([...panels.values()].filter((p) => p.visible).map((p) => p.refresh().catch(() => {})));
    dash.updates++;
  } catch (err) {
    console.warn("dashboard refresh", err);
  }
}

async function refreshForecasts() {
  for (const p of panels.values()) {
    if (!p.visible) continue;
    try { await p.refreshForecast(); } catch (err) { dash.forecastErrors++; }
  }
}

$("dash-range").onchange = (e) => { state.range = e.target.value; refresh().then(refreshForecasts); };
$("dash-subsystem").onchange = (e) => { state.sub = e.target.value; refresh(); };
$("dash-filter").oninput = (e) => { state.filter = e.target.value.trim(); layout(); };
$("dash-forecast").onchange = (e) => {
  state.forecasts = e.target.checked;
  panels.forEach((p) => p.draw());
  if (state.forecasts) refreshForecasts();
};
window.addEventListener("resize", () => {
  panels.forEach((p) => p.u && p.u.setSize({ width: Math.max(280, p.plotEl.clientWidth), height: 190 }));
});

// The tournament's own metrics table (computed by the tournament, shown
// here), in the tournament page's formats; "—" until the ratios rest on
// enough returns.
live.subscribe("tournament.state", (st) => {
  const rows = st.leaderboard || [];
  $("dash-strategies").hidden = rows.length === 0;
  dash.strategies = rows.length;
  const ratio = (e, v) => (e.scored ? fixed(v) : "—");
  $("dash-strategy-table").tBodies[0].replaceChildren(...rows.map((e) => {
    const tr = el("tr", { dataset: { strategy: e.strategy } });
    for (const v of [e.rank, e.name || e.strategy, money(e.pnl), pctOf(e.return), ratio(e, e.sharpe), ratio(e, e.sortino),
      pctOf(e.max_drawdown), fixed(e.turnover, 1) + "×", dollars(e.fees), dollars(e.gross, { short: true }), ratio(e, e.score)]) {
      tr.append(el("td", null, String(v)));
    }
    return tr;
  }));
});

refresh().then(() => setTimeout(refreshForecasts, 500));
setInterval(refresh, REFRESH_MS);
setInterval(refreshForecasts, FORECAST_MS);
