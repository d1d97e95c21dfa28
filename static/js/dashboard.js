// dashboard.js: one uPlot chart per metric series the analytics service
// samples, grouped by subsystem, refreshed every two seconds, with the
// server's forecast drawn as a cone (80 % and 95 % prediction intervals).
// Panels export as CSV or PNG. Tests read window.metastationDashboard.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { live } from "./live.js";
import { bytes, rate, clock } from "./format.js";

const el = (id) => document.getElementById(id);

const SECTIONS = [
  { sub: "system", title: "System health" },
  { sub: "market", title: "Market overview" },
  { sub: "tournament", title: "Strategies" },
  { sub: "rl", title: "Training" },
  { sub: "synth", title: "Data pipelines" },
];
const MAX_PANELS = { tournament: 30 }; // per section; default 12
const REFRESH_MS = 2000;
const FORECAST_MS = 10000;

// Friendly names, in the order panels appear within a section.
const TITLES = {
  "system.bus_per_s": "Bus messages / s",
  "system.frames_per_s": "Hub frames / s",
  "system.hub_clients": "Connected clients",
  "system.heap_bytes": "Heap in use",
  "system.goroutines": "Goroutines",
  "system.writes_per_s": "Database rows / s",
  "system.bus_dropped": "Bus messages dropped",
  "market.regime": "Regime (0 calm … 3 black swan)",
  "market.price": "Price",
  "market.trades_per_s": "Trades / s",
  "market.volume_per_s": "Volume / s",
  "market.spread_bps": "Spread (bps)",
  "market.decisions": "Agent decisions",
  "market.orders": "Orders",
  "market.agents": "Market agents",
  "tournament.equity": "Equity",
  "tournament.drawdown": "Underwater drawdown (%)",
  "tournament.rolling_sharpe": "Rolling Sharpe (last 60 steps)",
  "tournament.sharpe": "Sharpe, round so far",
  "tournament.gross": "Exposure (gross)",
  "tournament.pnl": "P&L",
  "rl.return": "Training return",
  "rl.steps": "Training steps",
  "rl.entropy": "Policy entropy",
  "synth.rows_per_s": "Rows / s",
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

function fmt(unit, v) {
  if (v == null || isNaN(v)) return "–";
  if (unit === "bytes") return bytes(v);
  if (Math.abs(v) >= 1e6) return rate(v);
  return v.toLocaleString("en-US", { maximumSignificantDigits: 6 });
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
    const art = document.createElement("article");
    art.className = "panel chart-panel";
    art.dataset.key = info.key;
    const head = document.createElement("header");
    const h = document.createElement("h3");
    h.textContent = titleOf(info);
    h.title = info.key;
    this.valueEl = document.createElement("span");
    this.valueEl.className = "value";
    this.valueEl.textContent = "–";
    const tools = document.createElement("span");
    tools.className = "tools";
    for (const [label, fn] of [["CSV", () => this.exportCSV()], ["PNG", () => this.exportPNG()]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.dataset.export = label.toLowerCase();
      b.onclick = fn;
      tools.append(b);
    }
    head.append(h, this.valueEl, tools);
    this.modelEl = document.createElement("p");
    this.modelEl.className = "model";
    this.plotEl = document.createElement("div");
    this.plotEl.className = "plot";
    art.append(head, this.modelEl, this.plotEl);
    this.el = art;
    this.color = color;
    this.visible = true; // until the observer says otherwise
    seen.observe(art);
  }

  mount() {
    const width = Math.max(280, this.plotEl.clientWidth || 380);
    const unit = this.info.unit;
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
      axes: [axis, { ...axis, size: 62, ...(unit === "bytes" ? { values: (u, vals) => vals.map((v) => bytes(v)) } : {}) }],
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
      this.valueEl.textContent = last ? fmt(this.info.unit, last.v) : "–";
      this.valueEl.title = "";
      return;
    }
    const unit = this.info.unit;
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
    const r = await fetch(`/api/analytics/series/${encodeURIComponent(this.info.name)}?${query(this.info)}&points=600`,
      { headers: { Accept: "application/json" } });
    if (!r.ok) return;
    const body = await r.json();
    this.points = body.points;
    this.draw();
  }

  async refreshForecast() {
    if (!this.forecastable || !state.forecasts || this.points.length < 40) return;
    const r = await fetch(`/api/analytics/forecast/${encodeURIComponent(this.info.name)}?${query(this.info)}&points=240&horizon=40`,
      { headers: { Accept: "application/json" } });
    if (!r.ok) {
      dash.forecastErrors++;
      this.modelEl.textContent = r.status === 422 ? "forecast: not enough points yet" : "";
      return;
    }
    this.fc = await r.json();
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
    if (!this.hovered) this.valueEl.textContent = last ? fmt(this.info.unit, last.v) : "–";
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

// layout makes the sections and panels match the series list and filters.
function layout() {
  const root = el("dash-sections");
  const keep = new Set();
  const subs = new Set(state.series.map(sectionOf));
  const sel = el("dash-subsystem");
  for (const s of subs) {
    if (![...sel.options].some((o) => o.value === s)) sel.add(new Option(s, s));
  }
  const order = [...SECTIONS, ...[...subs].filter((s) => !SECTIONS.some((x) => x.sub === s)).map((s) => ({ sub: s, title: s }))];
  for (const sec of order) {
    const infos = state.series.filter((i) => sectionOf(i) === sec.sub && wanted(i))
      .sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key)).slice(0, MAX_PANELS[sec.sub] || 12);
    let box = root.querySelector(`section[data-sub="${sec.sub}"]`);
    if (infos.length === 0) { if (box) box.hidden = true; continue; }
    if (!box) {
      box = document.createElement("section");
      box.className = "dash-section";
      box.dataset.sub = sec.sub;
      const h = document.createElement("h2");
      h.textContent = sec.title;
      const grid = document.createElement("div");
      grid.className = "dash-grid";
      box.append(h, grid);
      // Keep the sections in their order whatever order they appear in.
      const rankOf = (sub) => { const i = order.findIndex((x) => x.sub === sub); return i < 0 ? 1e9 : i; };
      const after = [...root.children].find((b) => rankOf(b.dataset.sub) > rankOf(sec.sub));
      root.insertBefore(box, after || null);
    }
    box.hidden = false;
    const grid = box.querySelector(".dash-grid");
    infos.forEach((info, i) => {
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
  for (const [key, p] of panels) {
    if (!keep.has(key)) { p.destroy(); panels.delete(key); }
  }
  dash.panels = panels.size;
  el("dash-empty").hidden = panels.size > 0;
}

async function refresh() {
  try {
    const r = await fetch("/api/analytics/series", { headers: { Accept: "application/json" } });
    if (r.ok) state.series = await r.json();
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

el("dash-range").onchange = (e) => { state.range = e.target.value; refresh().then(refreshForecasts); };
el("dash-subsystem").onchange = (e) => { state.sub = e.target.value; refresh(); };
el("dash-filter").oninput = (e) => { state.filter = e.target.value.trim(); layout(); };
el("dash-forecast").onchange = (e) => {
  state.forecasts = e.target.checked;
  panels.forEach((p) => p.draw());
  if (state.forecasts) refreshForecasts();
};
window.addEventListener("resize", () => {
  panels.forEach((p) => p.u && p.u.setSize({ width: Math.max(280, p.plotEl.clientWidth), height: 190 }));
});

// The tournament's own metrics table (computed by the tournament, shown here).
const pct = (v) => (v == null || isNaN(v) ? "–" : (100 * v).toFixed(2) + " %");
const num = (v) => (v == null || isNaN(v) ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: 2 }));
live.subscribe("tournament.state", (st) => {
  const rows = st.leaderboard || [];
  el("dash-strategies").hidden = rows.length === 0;
  dash.strategies = rows.length;
  el("dash-strategy-table").tBodies[0].replaceChildren(...rows.map((e) => {
    const tr = document.createElement("tr");
    tr.dataset.strategy = e.strategy;
    for (const v of [e.rank, e.name || e.strategy, num(e.pnl), pct(e.return), num(e.sharpe), num(e.sortino),
      pct(e.max_drawdown), num(e.turnover), num(e.fees), num(e.gross), num(e.score)]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
});

refresh().then(() => setTimeout(refreshForecasts, 500));
setInterval(refresh, REFRESH_MS);
setInterval(refreshForecasts, FORECAST_MS);
