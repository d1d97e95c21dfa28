// train.js: the Training page. The list of runs comes from rl.progress (a
// snapshot of every run), learning-curve points from rl.metrics (one per PPO
// update or per 1,000 SAC steps, with the returns of the episodes finished
// in it). A run opened mid-way is first filled from /api/rl/runs/{id}/metrics.
import { $, api, count, num, niceTicks } from "./page.js";
import { onFrame, pushInOrder, runSection } from "./runs.js";

const css = getComputedStyle(document.documentElement);
const color = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
const C = {
  text: color("--text", "#e6e9f2"), muted: color("--muted", "#8a93a8"), line: color("--line", "#232a3b"),
  accent: color("--accent", "#7cf2c5"), accent2: color("--accent-2", "#6aa8ff"),
  violet: color("--violet", "#b694ff"), warn: color("--warn", "#ffc46a"), bad: color("--bad", "#ff6b7a"),
  mono: color("--mono", "monospace"),
};

const ENV_NAMES = { cartpole: "CartPole-v1", pendulum: "Pendulum-v1", trading: "Trading" };
const ENV_SHORT = { cartpole: "CartPole", pendulum: "Pendulum", trading: "Trading" };
const SUGGESTED_STEPS = { "ppo/cartpole": 100000, "ppo/pendulum": 1000000, "ppo/trading": 300000, "sac/pendulum": 30000 };
const DIAGS = {
  ppo: [
    { key: "approx_kl", label: "approx KL", digits: 4, color: C.violet },
    { key: "entropy", label: "entropy", digits: 3, color: C.accent2 },
    { key: "clip_frac", label: "clip fraction", digits: 3, color: C.warn },
    { key: "explained_variance", label: "explained variance", digits: 3, color: C.accent },
  ],
  sac: [
    { key: "alpha", label: "alpha (entropy temperature)", digits: 4, color: C.violet },
    { key: "q_loss", label: "Q loss", digits: 3, color: C.warn },
    { key: "entropy", label: "policy entropy", digits: 3, color: C.accent2 },
  ],
};

const state = {
  runs: new Map(), // id -> RunInfo
  selected: null, // run id
  points: [], // learning-curve points of the selected run
  loading: false,
  buffer: [], // live points that arrived while the history was loading
  diagAlgo: null,
};
// Tests and curious people look here.
const hooks = { metrics: 0, progress: 0, draws: 0, points: 0, selected: null, status: "", state };
window.metastationTrain = hooks;

// --- helpers -------------------------------------------------------------

function short(n) {
  if (n == null || !isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
  if (a >= 1e3) return (n / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
  return String(Math.round(n));
}

// Short axis labels: 0, 0.25, 1.5k, 2e-4.
function axisNum(v) {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a < 1e-2) return v.toExponential(0);
  if (a >= 1e4) return short(v);
  return String(Number(v.toPrecision(3)));
}

function runLabel(r) {
  return `${r.spec.algo.toUpperCase()} · ${ENV_NAMES[r.spec.env] ?? r.spec.env} · seed ${r.spec.seed}`;
}

// Canvas sized to its box at the screen's pixel ratio.
function canvas2d(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(10, c.clientWidth), h = Math.max(10, c.clientHeight);
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
  }
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v == null || !isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
}

// Axes with grid; returns the plot area and scales.
function frame(ctx, w, h, xd, yd, { left = 52, bottom = 24, top = 10, right = 12, xfmt = short, yfmt = (v) => num(v, 0), yticks = 5, xticks = 6, xtitle = "", ytitle = "" } = {}) {
  // Axis titles take their own band, clear of the tick labels.
  if (xtitle) bottom += 16;
  if (ytitle) left += 16;
  const pw = w - left - right, ph = h - top - bottom;
  const x = (v) => left + ((v - xd[0]) / (xd[1] - xd[0] || 1)) * pw;
  const y = (v) => top + ph - ((v - yd[0]) / (yd[1] - yd[0] || 1)) * ph;
  ctx.font = `11px ${C.mono}`;
  ctx.lineWidth = 1;
  ctx.strokeStyle = C.line;
  ctx.fillStyle = C.muted;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of niceTicks(yd[0], yd[1], yticks)) {
    const py = Math.round(y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, py); ctx.lineTo(left + pw, py); ctx.stroke();
    ctx.fillText(yfmt(v), left - 6, py);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const v of niceTicks(xd[0], xd[1], xticks)) {
    ctx.fillText(xfmt(v), x(v), top + ph + 6);
  }
  if (xtitle) ctx.fillText(xtitle, left + pw / 2, top + ph + 22);
  if (ytitle) {
    ctx.save();
    ctx.translate(10, top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(ytitle, 0, 0);
    ctx.restore();
  }
  return { x, y, left, top, pw, ph };
}

// --- charts --------------------------------------------------------------

function drawCurve() {
  const { ctx, w, h } = canvas2d($("tr-curve"));
  const run = state.runs.get(state.selected);
  const pts = state.points;
  if (!run || pts.length === 0) {
    ctx.fillStyle = C.muted;
    ctx.font = `13px ${C.mono}`;
    ctx.textAlign = "center";
    ctx.fillText(run ? "waiting for the first update…" : "no run selected", w / 2, h / 2);
    return;
  }
  const last = pts[pts.length - 1];
  const xd = [0, Math.max(run.total || 0, last.steps, 1)];
  const ys = [];
  for (const p of pts) {
    ys.push(p.return);
    if (p.episodes) for (const e of p.episodes) ys.push(e);
  }
  if (run.eval_return != null) ys.push(run.eval_return);
  const f = frame(ctx, w, h, xd, extent(ys), { xtitle: "environment steps", ytitle: "episode return" });

  // Episodes: dots, fainter and smaller when there are many; at most
  // ~15,000 of the latest.
  const neps = pts.reduce((n, p) => n + (p.episodes?.length ?? 0), 0);
  const r = neps < 300 ? 2 : neps < 3000 ? 1.2 : 0.9;
  ctx.fillStyle = neps < 300 ? "rgba(106, 168, 255, 0.7)" : "rgba(106, 168, 255, 0.32)";
  let budget = 15000;
  for (let i = pts.length - 1; i >= 0 && budget > 0; i--) {
    const p = pts[i];
    if (!p.episodes) continue;
    const px = f.x(p.steps);
    for (const e of p.episodes) {
      ctx.fillRect(px - r, f.y(e) - r, 2 * r, 2 * r);
      if (--budget <= 0) break;
    }
  }
  // Rolling mean of the last 100 episodes.
  ctx.strokeStyle = C.accent;
  ctx.lineWidth = 2;
  ctx.lineJoin = "round";
  ctx.beginPath();
  let started = false;
  for (const p of pts) {
    if (!started && !(p.episodes?.length || p.return)) continue; // no episode finished yet
    const px = f.x(p.steps), py = f.y(p.return);
    if (!started) { ctx.moveTo(px, py); started = true; } else ctx.lineTo(px, py);
  }
  ctx.stroke();
  // Final deterministic evaluation.
  if (run.eval_return != null) {
    const py = f.y(run.eval_return);
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = C.violet;
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(f.left, py); ctx.lineTo(f.left + f.pw, py); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = C.violet;
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    ctx.fillText(`evaluation ${num(run.eval_return, 1)}`, f.left + 6, py - 3);
  }
}

function episodesOf(pts) {
  const out = [];
  for (const p of pts) if (p.episodes) for (const e of p.episodes) out.push(e);
  return out;
}

function drawHist() {
  const { ctx, w, h } = canvas2d($("tr-hist"));
  const eps = episodesOf(state.points);
  if (eps.length === 0) {
    // A run of an earlier session whose points were stored before their
    // returns were (migration 0032) has points but no returns.
    ctx.fillStyle = C.muted;
    ctx.font = `13px ${C.mono}`;
    ctx.textAlign = "center";
    ctx.fillText(state.points.length ? "no episode returns to show" : "no finished episode yet", w / 2, h / 2);
    return;
  }
  const N = 200;
  const recent = eps.slice(-N);
  const early = eps.length > N ? eps.slice(0, N) : [];
  let [lo, hi] = extent(eps);
  const bins = 24, bw = (hi - lo) / bins;
  const hist = (xs) => {
    const c = new Array(bins).fill(0);
    for (const v of xs) c[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / bw)))]++;
    return c;
  };
  const hr = hist(recent), he = hist(early);
  const ymax = Math.max(1, ...hr, ...he);
  const f = frame(ctx, w, h, [lo, hi], [0, ymax * 1.08], { left: 40, yfmt: (v) => num(v, 0), xfmt: (v) => num(v, Math.abs(hi - lo) < 10 ? 1 : 0), yticks: 4, xticks: 5, xtitle: "episode return", ytitle: "episodes" });
  ctx.fillStyle = "rgba(124, 242, 197, 0.55)";
  for (let i = 0; i < bins; i++) {
    if (!hr[i]) continue;
    const x0 = f.x(lo + i * bw) + 1, x1 = f.x(lo + (i + 1) * bw) - 1;
    ctx.fillRect(x0, f.y(hr[i]), Math.max(1, x1 - x0), f.y(0) - f.y(hr[i]));
  }
  ctx.strokeStyle = C.muted;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (let i = 0; i < bins && early.length; i++) {
    const x0 = f.x(lo + i * bw), x1 = f.x(lo + (i + 1) * bw);
    ctx.moveTo(x0, f.y(he[i])); ctx.lineTo(x1, f.y(he[i]));
    if (i + 1 < bins) ctx.lineTo(x1, f.y(he[i + 1]));
  }
  ctx.stroke();
}

function buildDiags(algo) {
  const box = $("tr-diags");
  state.diagAlgo = algo;
  $("tr-diag-algo").textContent = algo ? algo.toUpperCase() : "";
  box.replaceChildren(...(DIAGS[algo] ?? []).map((d) => {
    const div = document.createElement("div");
    div.className = "diag";
    div.dataset.key = d.key;
    div.innerHTML = `<div class="diag-head"><span class="label"></span><b class="value">–</b></div><canvas></canvas>`;
    div.querySelector(".label").textContent = d.label;
    return div;
  }));
}

function drawDiags() {
  const run = state.runs.get(state.selected);
  const algo = run?.spec.algo ?? null;
  if (algo !== state.diagAlgo) buildDiags(algo);
  if (!algo) return;
  const pts = state.points;
  const xd = [0, Math.max(run.total || 0, pts.at(-1)?.steps ?? 1, 1)];
  for (const d of DIAGS[algo]) {
    const div = document.querySelector(`#tr-diags .diag[data-key="${d.key}"]`);
    if (!div) continue;
    const series = [];
    for (const p of pts) {
      let v = p[d.key];
      if (v === undefined) v = algo === "sac" ? null : 0; // zero values are left out of the JSON
      if (v != null && isFinite(v)) series.push([p.steps, v]);
    }
    div.querySelector(".value").textContent = series.length ? num(series.at(-1)[1], d.digits) : "–";
    const { ctx, w, h } = canvas2d(div.querySelector("canvas"));
    if (!series.length) continue;
    const f = frame(ctx, w, h, xd, extent(series.map((s) => s[1])), { left: 46, bottom: 18, top: 6, right: 6, yticks: 3, xticks: 4, yfmt: axisNum });
    ctx.strokeStyle = d.color;
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    series.forEach(([sx, sy], i) => (i ? ctx.lineTo(f.x(sx), f.y(sy)) : ctx.moveTo(f.x(sx), f.y(sy))));
    ctx.stroke();
  }
}

function renderFigures() {
  const run = state.runs.get(state.selected);
  const eps = state.points.reduce((n, p) => n + (p.episodes?.length ?? 0), 0);
  $("tr-title").textContent = run ? `run ${run.id} · ${runLabel(run)}` : "";
  $("tr-return").textContent = run ? num(state.points.at(-1)?.return ?? run.return, 1) : "–";
  $("tr-eval").textContent = run?.eval_return != null ? num(run.eval_return, 1) : "–";
  $("tr-episodes").textContent = run ? count(eps) : "–";
  const pct = run && run.total ? Math.min(100, (100 * run.steps) / run.total) : 0;
  $("tr-progress").style.width = pct + "%";
  $("tr-progress").dataset.status = run?.status ?? "";
}

const redraw = onFrame(() => {
  renderFigures();
  drawCurve();
  drawHist();
  drawDiags();
  hooks.draws++;
  hooks.points = state.points.length;
});

// --- runs ----------------------------------------------------------------

function checkpointLink(td, r) {
  if ((r.status === "done" || r.status === "stopped") && r.steps > 0) {
    const a = document.createElement("a");
    a.className = "ckpt";
    a.href = `/api/rl/runs/${r.id}/checkpoint`;
    a.download = "";
    a.textContent = "checkpoint";
    a.title = "download the checkpoint: weights, optimiser and RNG state, step counters";
    a.addEventListener("click", (e) => e.stopPropagation());
    td.append(a);
  }
}

const runs = runSection({
  state, hooks, redraw,
  url: "/api/rl/runs",
  progress: "rl.progress",
  table: "tr-runs", empty: "tr-empty", error: "tr-error",
  what: (r) => `${r.spec.algo.toUpperCase()} · ${ENV_SHORT[r.spec.env] ?? r.spec.env}`,
  steps: (r) => `${short(r.steps)}/${short(r.total)}`,
  figures: (r) => `seed ${r.spec.seed} · ` + (r.eval_return != null ? `eval ${num(r.eval_return, 1)}` : `return ${num(r.return, 1)}`),
  resumable: (r) => r.resumable,
  moreActions: checkpointLink,
  clear: () => { state.points = []; },
  loaded: (pts) => { state.points = pts ?? []; },
  // The selected run goes into the address, so a reload opens it again.
  selected: (id) => {
    const url = new URL(location.href);
    url.searchParams.set("run", id);
    history.replaceState(null, "", url);
  },
});

// --- the form ------------------------------------------------------------

function syncForm(changed) {
  const algo = $("tr-algo").value;
  const envSel = $("tr-env");
  for (const o of envSel.options) o.disabled = algo === "sac" && o.value !== "pendulum";
  if (envSel.selectedOptions[0]?.disabled) envSel.value = "pendulum";
  if (changed) {
    const s = SUGGESTED_STEPS[`${algo}/${envSel.value}`];
    if (s) $("tr-steps").value = s;
  }
}

$("tr-algo").addEventListener("change", () => syncForm(true));
$("tr-env").addEventListener("change", () => syncForm(true));
$("tr-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  runs.start({
    algo: f.get("algo"), env: f.get("env"), steps: Number(f.get("steps")), seed: Number(f.get("seed")),
  }, $("tr-start"));
});

// --- live ----------------------------------------------------------------

runs.follow("rl.metrics", "metrics", (m) => {
  pushInOrder(state.points, m, "steps");
  const run = state.runs.get(m.run);
  if (run && m.steps > run.steps) { run.steps = m.steps; run.return = m.return; }
});

window.addEventListener("resize", redraw);
syncForm(false);
const wanted = Number(new URLSearchParams(location.search).get("run"));
api("GET", "/api/rl/runs").then((list) => {
  if (wanted && list.some((r) => r.id === wanted)) {
    state.runs = new Map(list.map((r) => [r.id, r]));
    runs.select(wanted);
  }
  runs.setRuns(list);
}).catch((err) => runs.showError(err.message));
redraw();
