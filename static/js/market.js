// market.js: the live market page. Quotes, clock and regime come from the
// market.state topic, closed bars from market.bars; the chart history and the
// order book come from the HTTP API.
import { live } from "./live.js";
import { count } from "./format.js";

const el = (id) => document.getElementById(id);
const state = { symbol: null, interval: "1m", bars: [], quotes: new Map(), first: new Map(), decimals: new Map() };
window.metastationMarket = { states: 0, bars: 0, state };

function fmtPrice(sym, v) {
  if (v == null || !isFinite(v) || v === 0) return "–";
  const d = state.decimals.get(sym) ?? (v < 10 ? 4 : 2);
  return v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

function showError(msg) {
  const p = el("mk-error");
  p.textContent = msg;
  p.hidden = !msg;
}

async function post(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `The server answered ${r.status}.`);
  showError("");
  return data;
}

// --- instruments ---------------------------------------------------------

async function loadInstruments() {
  const r = await fetch("/api/market/instruments", { headers: { Accept: "application/json" } });
  const list = await r.json();
  for (const ins of list) {
    const tick = ins.tick_size || 0.01;
    state.decimals.set(ins.symbol, Math.min(6, Math.max(0, Math.ceil(-Math.log10(tick)))));
  }
  const body = el("mk-instruments").tBodies[0];
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
    const f = state.first.get(q.symbol);
    const chg = f ? (q.last / f - 1) * 100 : 0;
    const c = tr.querySelector(".chg");
    c.textContent = (chg >= 0 ? "+" : "") + chg.toFixed(2) + "%";
    c.dataset.sign = chg >= 0 ? "up" : "down";
    const mid = (q.bid + q.ask) / 2;
    tr.querySelector(".spread").textContent = q.bid > 0 && q.ask > 0 ? (((q.ask - q.bid) / mid) * 1e4).toFixed(1) + " bp" : "–";
  }
  const q = state.quotes.get(state.symbol);
  if (q) {
    el("mk-latent").textContent = `fundamental ${fmtPrice(q.symbol, q.latent)}`;
    extendLastBar(q.last);
  }
}

// --- chart ---------------------------------------------------------------

async function select(symbol) {
  state.symbol = symbol;
  el("mk-symbol").textContent = symbol;
  document.querySelectorAll("#mk-instruments tr").forEach((tr) => tr.setAttribute("aria-selected", tr.dataset.symbol === symbol));
  el("mk-ticket").querySelector('input[name="price"]').value = "";
  await loadBars();
  refreshBook();
}

async function loadBars() {
  const { symbol, interval } = state;
  const r = await fetch(`/api/market/bars/${encodeURIComponent(symbol)}?interval=${interval}&limit=160`, { headers: { Accept: "application/json" } });
  const bars = r.ok ? await r.json() : [];
  if (symbol !== state.symbol || interval !== state.interval) return;
  state.bars = bars;
  draw();
}

function extendLastBar(price) {
  const b = state.bars[state.bars.length - 1];
  if (!b || !(price > 0)) return;
  // The forming candle: the last closed bar's close carries on until the
  // next bar closes.
  if (!state.forming || state.forming.base !== b.time) {
    state.forming = { base: b.time, open: b.close, high: b.close, low: b.close, close: b.close };
  }
  const f = state.forming;
  f.close = price;
  f.high = Math.max(f.high, price);
  f.low = Math.min(f.low, price);
  draw();
}

function draw() {
  const c = el("mk-chart");
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth, h = c.clientHeight;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const bars = state.bars.slice();
  if (state.forming) bars.push({ ...state.forming, forming: true, volume: 0 });
  if (bars.length === 0) {
    g.fillStyle = "#8a93a8";
    g.font = "14px system-ui";
    g.fillText("Waiting for the first bar to close…", 16, 28);
    return;
  }
  const padR = 70, volH = h * 0.18, priceH = h - volH - 22;
  let lo = Infinity, hi = -Infinity, vmax = 0;
  for (const b of bars) { lo = Math.min(lo, b.low); hi = Math.max(hi, b.high); vmax = Math.max(vmax, b.volume); }
  if (hi === lo) { hi *= 1.001; lo *= 0.999; }
  const pad = (hi - lo) * 0.06; hi += pad; lo -= pad;
  const step = (w - padR) / Math.max(bars.length, 60);
  const y = (v) => 8 + ((hi - v) / (hi - lo)) * (priceH - 8);
  // grid and price labels
  g.strokeStyle = "#1d2332"; g.fillStyle = "#8a93a8"; g.font = "11px ui-monospace, monospace"; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4, yy = Math.round(y(v)) + 0.5;
    g.beginPath(); g.moveTo(0, yy); g.lineTo(w - padR, yy); g.stroke();
    g.fillText(fmtPrice(state.symbol, v), w - padR + 6, yy + 4);
  }
  bars.forEach((b, i) => {
    const x = i * step + step / 2;
    const up = b.close >= b.open;
    const col = up ? "#7cf2c5" : "#ff6b7a";
    g.strokeStyle = col; g.fillStyle = b.forming ? "transparent" : col;
    g.beginPath(); g.moveTo(Math.round(x) + 0.5, y(b.high)); g.lineTo(Math.round(x) + 0.5, y(b.low)); g.stroke();
    const top = y(Math.max(b.open, b.close)), bh = Math.max(1, Math.abs(y(b.open) - y(b.close)));
    const bw = Math.max(1, step * 0.7);
    if (b.forming) g.strokeRect(x - bw / 2, top, bw, bh); else g.fillRect(x - bw / 2, top, bw, bh);
    if (vmax > 0) {
      const vh = (b.volume / vmax) * (volH - 4);
      g.fillStyle = up ? "rgba(124,242,197,.35)" : "rgba(255,107,122,.35)";
      g.fillRect(x - bw / 2, h - 18 - vh, bw, vh);
    }
  });
  const last = bars[bars.length - 1];
  const yl = Math.round(y(last.close)) + 0.5;
  g.setLineDash([3, 3]); g.strokeStyle = "#6aa8ff"; g.beginPath(); g.moveTo(0, yl); g.lineTo(w - padR, yl); g.stroke(); g.setLineDash([]);
  g.fillStyle = "#6aa8ff"; g.fillRect(w - padR + 2, yl - 9, padR - 4, 18);
  g.fillStyle = "#0b0e14"; g.fillText(fmtPrice(state.symbol, last.close), w - padR + 6, yl + 4);
  g.fillStyle = "#8a93a8";
  const t0 = new Date(bars[0].time), t1 = new Date(last.time);
  g.fillText(t0.toISOString().slice(5, 16).replace("T", " "), 4, h - 4);
  const endLabel = t1.toISOString().slice(5, 16).replace("T", " ");
  g.fillText(endLabel, w - padR - g.measureText(endLabel).width - 4, h - 4);
}

// --- order book ----------------------------------------------------------

async function refreshBook() {
  if (!state.symbol || document.hidden) return;
  const r = await fetch(`/api/market/book/${encodeURIComponent(state.symbol)}?depth=12`, { headers: { Accept: "application/json" } }).catch(() => null);
  if (!r || !r.ok) return;
  const b = await r.json();
  const rows = Math.max(b.bids.length, b.asks.length);
  const maxQty = Math.max(1, ...b.bids.map((l) => l.qty), ...b.asks.map((l) => l.qty));
  const body = el("mk-book").tBodies[0];
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
el("mk-crash").addEventListener("click", () =>
  post("/api/market/script", { script: "black_swan shock=-6; +20m crisis; +90m volatile; +4h auto" }).catch((e) => showError(e.message)));
el("mk-calm").addEventListener("click", () => post("/api/market/script", { script: "calm" }).catch((e) => showError(e.message)));
el("mk-auto").addEventListener("click", () => post("/api/market/script", { script: "" }).catch((e) => showError(e.message)));

el("mk-ticket").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const order = { symbol: state.symbol, side: f.get("side"), type: f.get("type"), qty: Number(f.get("qty")), price: Number(f.get("price") || 0) };
  try {
    const fill = await post("/api/market/orders", order);
    el("mk-fill").textContent = `${order.side} ${order.qty} ${state.symbol}: filled ${fill.filled}` +
      (fill.avg_price ? ` at ${fmtPrice(state.symbol, fill.avg_price)}` : "") + (fill.rested ? `, ${fill.rested} resting (order ${fill.id})` : "") +
      (fill.dropped ? `, ${fill.dropped} not filled` : "");
    window.metastationMarket.lastFill = fill;
    refreshBook();
  } catch (e) {
    el("mk-fill").textContent = "";
    showError(e.message);
  }
});

// --- live ----------------------------------------------------------------

live.subscribe("market.state", (s) => {
  window.metastationMarket.states++;
  el("mk-clock").textContent = new Date(s.time).toISOString().slice(0, 19).replace("T", " ");
  const reg = el("mk-regime");
  reg.textContent = String(s.regime).replace("_", " ");
  reg.dataset.regime = s.regime;
  el("mk-forced").hidden = !s.forced;
  el("mk-lagging").hidden = !s.lagging;
  document.querySelectorAll("[data-speed]").forEach((b) => b.setAttribute("aria-pressed", Number(b.dataset.speed) === s.speed));
  renderQuotes(s.quotes || []);
});

live.subscribe("market.bars", (bars) => {
  let changed = false;
  for (const b of bars) {
    if (b.symbol !== state.symbol || b.interval !== state.interval) continue;
    window.metastationMarket.bars++;
    const last = state.bars[state.bars.length - 1];
    if (last && last.time === b.time) state.bars[state.bars.length - 1] = b;
    else state.bars.push(b);
    changed = true;
  }
  if (changed) {
    if (state.bars.length > 400) state.bars.splice(0, state.bars.length - 400);
    state.forming = null;
    draw();
  }
});

window.addEventListener("resize", draw);
loadInstruments().catch((e) => showError("The instruments could not be loaded: " + e.message));
