// market.js: the live market page. Quotes, clock and regime come from the
// market.state topic, closed bars from market.bars; the chart history and the
// order book come from the HTTP API.
import { live } from "./live.js";
import { $, api, get, count } from "./page.js";
import { createChart, CandlestickSeries, HistogramSeries, ColorType, CrosshairMode } from "../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs";

const state = { symbol: null, interval: "1m", bars: [], quotes: new Map(), first: new Map(), decimals: new Map() };
window.metastationMarket = { states: 0, bars: 0, state, account: null };

function fmtPrice(sym, v) {
  if (v == null || !isFinite(v) || v === 0) return "–";
  const d = state.decimals.get(sym) ?? (v < 10 ? 4 : 2);
  return v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

function showError(msg) {
  const p = $("mk-error");
  p.textContent = msg;
  p.hidden = !msg;
}

async function post(url, body) {
  const data = await api("POST", url, body);
  showError("");
  return data;
}

// --- instruments ---------------------------------------------------------

async function loadInstruments() {
  const list = await get("/api/market/instruments");
  for (const ins of list) {
    const tick = ins.tick_size || 0.01;
    // As many decimals as the tick has: SPX's 0.25 needs two (one wrote 4,998.25 as 4,998.3).
    state.decimals.set(ins.symbol, Math.min(6, (String(tick).split(".")[1] || "").length));
  }
  const body = $("mk-instruments").tBodies[0];
  body.replaceChildren(...list.map((ins) => {
    const tr = document.createElement("tr");
    tr.dataset.symbol = ins.symbol;
    tr.tabIndex = 0;
    tr.innerHTML = `<td><b></b> <span class="muted"></span></td><td class="num last">–</td><td class="num chg">–</td><td class="num spread">–</td>`;
    tr.querySelector("b").textContent = ins.symbol;
    tr.querySelector("span").textContent = ins.class ?? "";
    tr.addEventListener("click", () => select(ins.symbol));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") select(ins.symbol); });
    return tr;
  }));
  if (list.length) select(new URLSearchParams(location.search).get("symbol") || list[0].symbol);
}

// The simulated day's opening price of each instrument, from its hourly
// bars (a day's bar exists only once the day has closed): the open of the
// day's first hour, or, before one has closed, the last close before it.
const days = new Map(); // symbol -> { day: "2026-01-05", open }
function dayOpen(q) {
  const day = String(q.time || "").slice(0, 10);
  const d = days.get(q.symbol);
  // Asked again on a new day, and each minute while the day has no closed hour yet.
  if (!d || (!d.asking && (d.day !== day || (d.open == null && Date.now() - d.at > 60_000)))) askDay(q.symbol, day);
  return d?.day === day ? d.open : null;
}
function askDay(symbol, day) {
  const prev = days.get(symbol);
  days.set(symbol, { ...prev, asking: true });
  get(`/api/market/bars/${encodeURIComponent(symbol)}?interval=1h&limit=30`).then((bars) => {
    const list = bars || [];
    const today = list.find((b) => String(b.time).slice(0, 10) === day);
    const before = list.filter((b) => String(b.time).slice(0, 10) < day).at(-1);
    const open = today ? today.open : before ? before.close : null;
    days.set(symbol, { day, open, asking: false, at: Date.now() });
  }).catch(() => days.set(symbol, { ...prev, asking: false, at: Date.now() }));
}

function renderQuotes(quotes) {
  for (const q of quotes) {
    state.quotes.set(q.symbol, q);
    if (!state.first.has(q.symbol) && q.last > 0) state.first.set(q.symbol, q.last);
    const tr = document.querySelector(`#mk-instruments tr[data-symbol="${q.symbol}"]`);
    if (!tr) continue;
    const prev = Number(tr.dataset.last || 0);
    tr.querySelector(".last").textContent = fmtPrice(q.symbol, q.last);
    if (prev && q.last !== prev) {
      tr.dataset.tick = q.last > prev ? "up" : "down";
    }
    tr.dataset.last = q.last;
    // The day's change: against the simulated day's opening price (the
    // open of its daily bar), not against whenever this page was opened.
    const f = dayOpen(q);
    const c = tr.querySelector(".chg");
    if (f) {
      const chg = (q.last / f - 1) * 100;
      c.textContent = (chg >= 0 ? "+" : "") + chg.toFixed(2) + "%";
      c.dataset.sign = chg >= 0 ? "up" : "down";
      c.title = `against the day's open, ${fmtPrice(q.symbol, f)}`;
    } else c.textContent = "–";
    const mid = (q.bid + q.ask) / 2;
    tr.querySelector(".spread").textContent = q.bid > 0 && q.ask > 0 ? (((q.ask - q.bid) / mid) * 1e4).toFixed(1) + " bp" : "–";
  }
  const q = state.quotes.get(state.symbol);
  if (q) $("mk-latent").textContent = `fundamental ${fmtPrice(q.symbol, q.latent)}`;
}

// --- chart ---------------------------------------------------------------
// TradingView Lightweight Charts (vendored, Apache-2.0; the attribution its
// licence asks for is the logo on the chart and the link under it).

const css = getComputedStyle(document.documentElement);
const cssVar = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
const theme = {
  panel: cssVar("--panel", "#151a26"), line: cssVar("--line", "#232a3b"), text: cssVar("--text", "#e6e9f2"),
  muted: cssVar("--muted", "#8a93a8"), up: cssVar("--accent", "#7cf2c5"), down: cssVar("--bad", "#ff6b7a"),
  accent: cssVar("--accent-2", "#6aa8ff"), mono: cssVar("--mono", "monospace"),
};
const intervalSeconds = { "1m": 60, "1h": 3600, "1d": 86400 };

const chart = createChart($("mk-chart"), {
  autoSize: true, // follows the panel's size (ResizeObserver)
  layout: {
    background: { type: ColorType.Solid, color: theme.panel }, textColor: theme.muted,
    fontFamily: theme.mono, fontSize: 11, attributionLogo: true,
  },
  grid: { vertLines: { color: "#1b2130" }, horzLines: { color: "#1b2130" } },
  crosshair: { mode: CrosshairMode.Normal, vertLine: { labelBackgroundColor: theme.line }, horzLine: { labelBackgroundColor: theme.line } },
  rightPriceScale: { borderColor: theme.line, scaleMargins: { top: 0.08, bottom: 0.24 } },
  timeScale: { borderColor: theme.line, timeVisible: true, secondsVisible: false, rightOffset: 4, barSpacing: 9, minBarSpacing: 2 },
  localization: { locale: "en-US" },
});
const candles = chart.addSeries(CandlestickSeries, {
  upColor: theme.up, downColor: theme.down, borderVisible: false,
  wickUpColor: theme.up, wickDownColor: theme.down, priceLineColor: theme.accent,
});
const volume = chart.addSeries(HistogramSeries, {
  priceFormat: { type: "volume" }, priceScaleId: "volume", lastValueVisible: false, priceLineVisible: false,
});
volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
const empty = document.createElement("p");
empty.className = "chart-empty muted";
empty.textContent = "Waiting for the first bar to close…";
$("mk-chart").append(empty);

const toSec = (t) => Math.floor(Date.parse(t) / 1000);
const candleOf = (b) => ({ time: toSec(b.time), open: b.open, high: b.high, low: b.low, close: b.close });
const volumeOf = (b) => ({ time: toSec(b.time), value: b.volume, color: b.close >= b.open ? "rgba(124,242,197,.35)" : "rgba(255,107,122,.35)" });

// The time of the newest candle in the series (a closed bar or the forming one).
function seriesEnd() {
  const d = candles.data();
  return d.length ? d[d.length - 1].time : -Infinity;
}

// The chart's last candles and volume bars, for tests: what it draws.
window.metastationMarket.chart = (n = 3) => ({ candles: candles.data().slice(-n), volumes: volume.data().slice(-n) });

function noteChart() {
  window.metastationMarket.chartBars = candles.data().length;
  empty.hidden = window.metastationMarket.chartBars > 0;
}

// setChart draws the closed bars and the forming candle from scratch.
function setChart() {
  const closed = state.bars.map(candleOf);
  const vols = state.bars.map(volumeOf);
  const f = state.forming;
  if (f && (!closed.length || f.time > closed[closed.length - 1].time)) {
    closed.push({ time: f.time, open: f.open, high: f.high, low: f.low, close: f.close });
    vols.push(volumeOf({ ...f, time: new Date(f.time * 1000).toISOString() }));
  }
  candles.setData(closed);
  volume.setData(vols);
  noteChart();
}

async function select(symbol) {
  state.symbol = symbol;
  $("mk-symbol").textContent = symbol;
  document.querySelectorAll("#mk-instruments tr").forEach((tr) => tr.setAttribute("aria-selected", tr.dataset.symbol === symbol));
  $("mk-ticket").querySelector('input[name="price"]').value = "";
  await loadBars();
  refreshBook();
}

async function loadBars() {
  const { symbol, interval } = state;
  const bars = (await get(`/api/market/bars/${encodeURIComponent(symbol)}?interval=${interval}&limit=300`).catch(() => null)) || [];
  if (symbol !== state.symbol || interval !== state.interval) return;
  state.bars = bars;
  state.forming = null;
  state.chartKey = `${symbol}/${interval}`;
  const d = state.decimals.get(symbol) ?? 2;
  candles.applyOptions({ priceFormat: { type: "price", precision: d, minMove: 10 ** -d } });
  setChart();
  // Bars that closed while the history was on its way.
  const early = (state.early || []).filter((b) => b.symbol === symbol && b.interval === interval);
  state.early = [];
  if (early.length) addClosed(early);
  chart.timeScale().scrollToRealTime(); // newest bars at the right edge, at the usual spacing
  window.metastationMarket.chartInterval = interval;
  window.metastationMarket.chartKey = state.chartKey;
}

// updateForming draws the bar in progress that the server publishes in
// market.state: the forming candle and its volume bar come from the same
// bar (what traded since it began), so the volume follows the candle live.
function updateForming(b) {
  if (!b || state.chartKey !== `${state.symbol}/${state.interval}`) return;
  const t = toSec(b.time);
  const last = state.bars[state.bars.length - 1];
  if (last && t <= toSec(last.time)) return; // the last closed bar already covers it
  state.forming = { time: t, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume };
  if (t >= seriesEnd()) {
    candles.update(candleOf(b));
    volume.update(volumeOf(b));
  } else setChart();
  noteChart();
}

// addClosed puts closed bars from market.bars on the chart.
function addClosed(bars) {
  let rebuild = false;
  for (const b of bars) {
    const last = state.bars[state.bars.length - 1];
    if (last && last.time === b.time) state.bars[state.bars.length - 1] = b;
    else if (!last || toSec(b.time) > toSec(last.time)) state.bars.push(b);
    else continue; // older than what the chart has
    if (state.forming && state.forming.time <= toSec(b.time)) state.forming = null;
    const c = candleOf(b);
    if (c.time >= seriesEnd()) {
      candles.update(c);
      volume.update(volumeOf(b));
    } else {
      rebuild = true; // a forming candle of a later period is already drawn
    }
  }
  if (state.bars.length > 1000) state.bars.splice(0, state.bars.length - 1000);
  if (rebuild) setChart();
  noteChart();
}

// --- order book ----------------------------------------------------------

async function refreshBook() {
  if (!state.symbol || document.hidden) return;
  const b = await get(`/api/market/book/${encodeURIComponent(state.symbol)}?depth=12`).catch(() => null);
  if (!b) return;
  const rows = Math.max(b.bids.length, b.asks.length);
  const maxQty = Math.max(1, ...b.bids.map((l) => l.qty), ...b.asks.map((l) => l.qty));
  const body = $("mk-book").tBodies[0];
  const trs = [];
  for (let i = 0; i < rows; i++) {
    const bid = b.bids[i], ask = b.asks[i];
    const tr = document.createElement("tr");
    const cells = [
      [bid ? count(bid.qty) : "", "bidq"], [bid ? fmtPrice(b.symbol, bid.price) : "", "bid"],
      [ask ? fmtPrice(b.symbol, ask.price) : "", "ask"], [ask ? count(ask.qty) : "", "askq"],
    ];
    for (const [text, cls] of cells) {
      const td = document.createElement("td");
      td.className = "num " + cls;
      td.textContent = text;
      tr.append(td);
    }
    if (bid) tr.style.setProperty("--bid", (bid.qty / maxQty) * 100 + "%");
    if (ask) tr.style.setProperty("--ask", (ask.qty / maxQty) * 100 + "%");
    trs.push(tr);
  }
  body.replaceChildren(...trs);
  window.metastationMarket.bookLevels = rows;
}
setInterval(refreshBook, 1000);

// --- the browser's account ---------------------------------------------
// Orders, fills and positions of this browser (its cookie), with the P&L in
// US dollars as the server marks it to the last trades.

// usd writes dollars and cents with a sign: +$1,234.50, −$0.07, $0.00.
function usd(v, signed = true) {
  if (v == null || !isFinite(v)) return "–";
  const body = Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  if (body === "0.00") return "$0.00";
  return (v < 0 ? "−$" : signed ? "+$" : "$") + body;
}
const units = (v) => (v == null || !isFinite(v) ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: 6 }));
const unitsOf = (v) => (v === 1 || v === -1 ? `${units(v)} unit` : `${units(v)} units`);
const sign = (v) => (Math.abs(v) < 0.005 ? "" : v > 0 ? "up" : "down");

function cell(text, cls, s) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  if (s) td.dataset.sign = s;
  td.textContent = text;
  return td;
}

function rows(id, list, make) {
  $(id).tBodies[0].replaceChildren(...list.map(make));
  $(id + "-empty").hidden = list.length > 0;
  $(id).hidden = list.length === 0;
}

function renderAccount(a) {
  window.metastationMarket.account = a;
  for (const [id, v] of [["mk-realised", a.realised_usd], ["mk-unrealised", a.unrealised_usd], ["mk-total", a.total_usd]]) {
    $(id).textContent = usd(v);
    $(id).dataset.sign = sign(v);
  }
  rows("mk-positions", a.positions, (p) => {
    const tr = document.createElement("tr");
    tr.dataset.symbol = p.symbol;
    tr.append(cell(p.symbol), cell(unitsOf(p.qty), "num qty"), cell(p.qty ? fmtPrice(p.symbol, p.avg_price) : "–", "num"),
      cell(fmtPrice(p.symbol, p.last), "num"), cell(usd(p.unrealised_usd), "num unrealised", sign(p.unrealised_usd)),
      cell(usd(p.realised_usd), "num realised", sign(p.realised_usd)));
    tr.title = `bought ${units(p.bought)}, sold ${units(p.sold)} units in all`;
    return tr;
  });
  rows("mk-orders", a.orders, (o) => {
    const tr = document.createElement("tr");
    tr.dataset.id = o.id;
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "cancel";
    btn.textContent = "Cancel";
    btn.setAttribute("aria-label", `cancel order ${o.id}`);
    btn.addEventListener("click", () => cancelOrder(o.id, btn));
    const td = document.createElement("td");
    td.append(btn);
    tr.append(cell(`${o.symbol} #${o.id}`), cell(o.side), cell(fmtPrice(o.symbol, o.price), "num"),
      cell(`${units(o.open)} of ${units(o.qty)}`, "num open"), td);
    return tr;
  });
  rows("mk-fills", a.fills, (f) => {
    const tr = document.createElement("tr");
    tr.append(cell(String(f.time).slice(11, 19)), cell(`${f.side} ${f.symbol}`), cell(units(f.qty), "num"),
      cell(fmtPrice(f.symbol, f.price), "num"), cell(f.maker ? "maker" : "taker"));
    tr.title = `order ${f.order}, ${String(f.time).slice(0, 19).replace("T", " ")} simulated`;
    return tr;
  });
}

async function refreshAccount() {
  if (document.hidden) return;
  const a = await get("/api/market/account").catch(() => null);
  if (a) renderAccount(a);
}
setInterval(refreshAccount, 1000);

async function cancelOrder(id, btn) {
  btn.disabled = true;
  try {
    await api("DELETE", `/api/market/orders/${id}`);
    showError("");
  } catch (e) {
    showError(e.message);
  }
  refreshAccount();
}

// --- controls ------------------------------------------------------------

document.querySelectorAll("[data-speed]").forEach((btn) =>
  btn.addEventListener("click", () => post("/api/market/speed", { speed: Number(btn.dataset.speed) }).catch((e) => showError(e.message))));
document.querySelectorAll("[data-interval]").forEach((btn) =>
  btn.addEventListener("click", () => {
    state.interval = btn.dataset.interval;
    state.forming = null;
    document.querySelectorAll("[data-interval]").forEach((b) => b.setAttribute("aria-pressed", b === btn));
    loadBars();
  }));
document.querySelector('[data-interval="1m"]').setAttribute("aria-pressed", "true");
$("mk-crash").addEventListener("click", () =>
  post("/api/market/script", { script: "black_swan shock=-6; +20m crisis; +90m volatile; +4h auto" }).catch((e) => showError(e.message)));
$("mk-calm").addEventListener("click", () => post("/api/market/script", { script: "calm" }).catch((e) => showError(e.message)));
$("mk-auto").addEventListener("click", () => post("/api/market/script", { script: "" }).catch((e) => showError(e.message)));

$("mk-ticket").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const order = { symbol: state.symbol, side: f.get("side"), type: f.get("type"), qty: Number(f.get("qty")), price: Number(f.get("price") || 0) };
  try {
    const fill = await post("/api/market/orders", order);
    $("mk-fill").textContent = `${order.side} ${order.qty} ${state.symbol}: filled ${unitsOf(fill.filled)}` +
      (fill.avg_price ? ` at ${fmtPrice(state.symbol, fill.avg_price)}` : "") + (fill.rested ? `, ${unitsOf(fill.rested)} resting (order ${fill.id})` : "") +
      (fill.dropped ? `, ${fill.dropped} not filled` : "");
    window.metastationMarket.lastFill = fill;
    refreshBook();
    refreshAccount();
  } catch (e) {
    $("mk-fill").textContent = "";
    showError(e.message);
  }
});

// --- live ----------------------------------------------------------------

live.subscribe("market.state", (s) => {
  window.metastationMarket.states++;
  $("mk-clock").textContent = new Date(s.time).toISOString().slice(0, 19).replace("T", " ");
  const reg = $("mk-regime");
  reg.textContent = String(s.regime).replace("_", " ");
  reg.dataset.regime = s.regime;
  $("mk-forced").hidden = !s.forced;
  $("mk-lagging").hidden = !s.lagging;
  document.querySelectorAll("[data-speed]").forEach((b) => b.setAttribute("aria-pressed", Number(b.dataset.speed) === s.speed));
  renderQuotes(s.quotes || []);
  updateForming((s.forming || []).find((b) => b.symbol === state.symbol && b.interval === state.interval));
});

live.subscribe("market.bars", (bars) => {
  const mine = bars.filter((b) => b.symbol === state.symbol && b.interval === state.interval);
  if (!mine.length) return;
  window.metastationMarket.bars += mine.length;
  if (state.chartKey === `${state.symbol}/${state.interval}`) addClosed(mine);
  else {
    // The chart is loading this symbol and interval: keep the bars for it.
    (state.early ||= []).push(...mine);
    if (state.early.length > 500) state.early.splice(0, state.early.length - 500);
  }
});

loadInstruments().then(refreshAccount).catch((e) => showError("The instruments could not be loaded: " + e.message));
