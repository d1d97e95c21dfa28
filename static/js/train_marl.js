// train_marl.js: the Training page's multi-agent section. The list of runs
// comes from marl.progress (a snapshot of every run, with the curriculum
// stage), learning-curve points from marl.metrics (every few episodes: the
// team's and each agent's mean return over the last 100 training
// episodes), promotions from marl.events. A run opened mid-way is first
// filled from /api/marl/runs/{id}/metrics.
import { $, api, count, num } from "./page.js";
import { onFrame, pushInOrder, runSection, actionButton } from "./runs.js";
import uPlot from "../vendor/uplot/uPlot.esm.js";

const css = getComputedStyle(document.documentElement);
const color = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
const C = {
  text: color("--text", "#e6e9f2"), muted: color("--muted", "#8a93a8"), line: color("--line", "#232a3b"),
  accent: color("--accent", "#7cf2c5"), accent2: color("--accent-2", "#6aa8ff"),
  violet: color("--violet", "#b694ff"), warn: color("--warn", "#ffc46a"), bad: color("--bad", "#ff6b7a"),
};
const AGENT_COLORS = [C.accent2, C.violet, C.warn, "#ff8fb1", "#5ee0f0", "#c9e66b"];

const WORLDS = {
  "trading-ma": { name: "Trading", agents: (i) => `trader ${i + 1}` },
  spread: { name: "Spread", agents: (i) => `agent ${i + 1}` },
  supply: { name: "Supply chain", agents: (i) => ["retailer", "distributor", "manufacturer", "supplier"][i] ?? `firm ${i + 1}` },
  allocation: { name: "Allocation", agents: (i) => `agent ${i + 1}` },
  matrix2: { name: "Two-step game", agents: (i) => `agent ${i + 1}` },
};
const SUGGESTED = { "trading-ma": 800, spread: 3000, supply: 3000, allocation: 3000, matrix2: 600 };
const STAGE_LABEL = { calm: "calm", volatile: "volatile", crisis: "crisis", black_swan: "black swan" };

const state = {
  runs: new Map(), // id -> RunInfo
  selected: null,
  points: [], // learning-curve points of the selected run
  events: [], // its curriculum promotions
  loading: false,
  buffer: [], // live points and events that arrived while the history was loading
};
// Tests and curious people look here.
const hooks = { progress: 0, metrics: 0, events: 0, draws: 0, points: 0, lines: 0, selected: null, status: "", stage: "", entered: "", state };
window.metastationTrainMARL = hooks;

// --- helpers -------------------------------------------------------------

const world = (env) => WORLDS[env] ?? { name: env, agents: (i) => `agent ${i + 1}` };

function runLabel(r) {
  const cur = r.spec.curriculum ? " · curriculum" : "";
  return `${r.spec.algo.toUpperCase()} · ${world(r.spec.env).name}${cur} · seed ${r.spec.seed}`;
}

// --- the chart -----------------------------------------------------------

let plot = null; // uPlot instance
let plotKey = ""; // run id and agent count it was built for

function buildPlot(run) {
  const box = $("ma-chart");
  if (plot) { plot.destroy(); plot = null; }
  box.replaceChildren();
  const n = run?.agents ?? 0;
  plotKey = run ? `${run.id}/${n}` : "";
  const names = Array.from({ length: n }, (_, i) => world(run.spec.env).agents(i));
  const axis = { stroke: C.muted, grid: { stroke: "#1b2130" }, ticks: { stroke: C.line } };
  const series = [
    { label: "episode" },
    { label: "team", stroke: C.accent, width: 2.4 },
    ...names.map((name, i) => ({ label: name, stroke: AGENT_COLORS[i % AGENT_COLORS.length], width: 1.5 })),
  ];
  const opts = {
    width: Math.max(300, box.clientWidth || 600),
    height: Math.max(300, box.clientHeight || 340),
    legend: { show: false },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: false, range: (u, lo, hi) => [0, Math.max(hi ?? 1, state.runs.get(state.selected)?.total ?? 1, 1)] } },
    axes: [{ ...axis, label: "episode", labelSize: 18, labelFont: "11px monospace", font: "11px monospace" },
      { ...axis, size: 56, font: "11px monospace", label: "mean return, last 100 episodes", labelSize: 18, labelFont: "11px monospace" }],
    series,
  };
  plot = new uPlot(opts, data(n), box);
  // The legend below the chart.
  const legend = $("ma-legend");
  legend.replaceChildren(...series.slice(1).map((s, i) => {
    const span = document.createElement("span");
    span.dataset.series = i === 0 ? "team" : `agent-${i - 1}`;
    span.innerHTML = `<i class="swatch${i === 0 ? " team" : ""}"></i><span class="name"></span> <b class="val">–</b>`;
    span.querySelector("i").style.background = s.stroke;
    span.querySelector(".name").textContent = s.label;
    return span;
  }));
}

function data(n) {
  const pts = state.points;
  const cols = [pts.map((p) => p.episode), pts.map((p) => p.team)];
  for (let i = 0; i < n; i++) cols.push(pts.map((p) => p.agents?.[i] ?? null));
  return cols;
}

function drawChart() {
  const run = state.runs.get(state.selected);
  const key = run ? `${run.id}/${run.agents}` : "";
  if (key !== plotKey || !plot) buildPlot(run);
  const note = $("ma-chart-note");
  if (note) {
    note.hidden = !!run && state.points.length > 0;
    note.textContent = run ? "waiting for the first episodes…" : "no run selected";
  }
  if (!run) { hooks.lines = 0; return; }
  const d = data(run.agents);
  plot.setData(d);
  hooks.lines = d.slice(1).filter((col) => col.some((v) => v != null)).length;
  // The latest values in the legend.
  const vals = [run.team, ...(run.agent_returns ?? [])];
  $("ma-legend").querySelectorAll(".val").forEach((b, i) => { b.textContent = num(vals[i], 2); });
}

function resizeChart() {
  if (!plot) return;
  const box = $("ma-chart");
  plot.setSize({ width: Math.max(300, box.clientWidth), height: Math.max(300, box.clientHeight || 340) });
}

// --- the curriculum strip ------------------------------------------------

function drawStages() {
  const run = state.runs.get(state.selected);
  const st = run?.stage;
  const list = $("ma-stages");
  list.dataset.off = String(!st);
  const lastForgot = new Set(state.events.at(-1)?.forgot ?? []);
  const passedAt = new Map(state.events.map((e) => [e.stage, e.episode]));
  for (const [i, li] of [...list.children].entries()) {
    const name = li.dataset.stage;
    let s = "";
    let note = "";
    if (st) {
      if (i < st.passed) { s = "passed"; note = passedAt.has(name) ? `ep ${passedAt.get(name)}` : "passed"; }
      else if (i === st.index) {
        // The stage a run is on says "training" only while it trains.
        const live = run.status === "running" || run.status === "queued" || run.status === "evaluating";
        s = "current";
        note = live ? "training" : run.status === "done" ? "reached" : `${run.status} here`;
      }
      if (s === "passed" && lastForgot.has(name)) { s = "forgotten"; note = "forgotten"; }
    }
    li.dataset.state = s;
    li.querySelector("small").textContent = note;
    li.setAttribute("aria-current", s === "current" ? "step" : "false");
  }
  let text = "";
  if (!run) text = "";
  else if (!st) text = "· only trading-world runs with the curriculum have stages";
  else if (st.index >= st.names.length) text = "· all stages passed";
  else text = `· stage ${st.index + 1} of ${st.names.length}: ${STAGE_LABEL[st.name] ?? st.name}` +
    (run.status === "running" ? "" : run.status === "done" ? ", where the run ended" : `, where the run ${run.status === "failed" ? "failed" : "stopped"}`);
  $("ma-stage-note").textContent = text;
  hooks.stage = st ? (st.name || "done") : "";

  const ul = $("ma-events");
  ul.replaceChildren(...state.events.slice().reverse().map((e) => {
    const li = document.createElement("li");
    const to = e.next ? ` → ${STAGE_LABEL[e.next] ?? e.next}` : " → all stages passed";
    li.innerHTML = `<span class="ep"></span> <b></b><span class="what"></span>`;
    li.querySelector(".ep").textContent = `ep ${e.episode}`;
    li.querySelector("b").textContent = `${STAGE_LABEL[e.stage] ?? e.stage} passed`;
    li.querySelector(".what").textContent = `${to} · score ${num(e.score, 2)} (smoothed ${num(e.smoothed, 2)}), drawdown ${num(100 * e.drawdown, 1)}%`;
    if (e.forgot?.length) {
      li.classList.add("forgot");
      const f = document.createElement("b");
      f.className = "forgot";
      f.textContent = ` · forgot ${e.forgot.map((s) => STAGE_LABEL[s] ?? s).join(", ")}`;
      li.append(f);
    }
    li.title = e.text;
    return li;
  }));
  $("ma-events-empty").hidden = state.events.length > 0 || !st;
}

// --- figures -------------------------------------------------------------

function renderFigures() {
  const run = state.runs.get(state.selected);
  $("ma-title").textContent = run ? `run ${run.id} · ${runLabel(run)}` : "";
  $("ma-team").textContent = run ? num(run.team, 2) : "–";
  $("ma-eval").textContent = run?.eval ? `${num(run.eval.team, 2)} ± ${num(run.eval.ci, 2)}` : "–";
  $("ma-eval").title = run?.eval ? `greedy team on ${run.eval.episodes} held-out episodes (95% CI); a random team scores ${num(run.eval.random, 2)} on the same episodes` : "";
  $("ma-episodes-done").textContent = run ? `${count(run.episodes)}/${count(run.total)}` : "–";
  $("ma-eps").textContent = run?.epsilon != null ? num(run.epsilon, 2) : "–";
  const pct = run && run.total ? Math.min(100, (100 * run.episodes) / run.total) : 0;
  $("ma-progress").style.width = pct + "%";
  $("ma-progress").dataset.status = run?.status ?? "";
}

const redraw = onFrame(() => {
  renderFigures();
  drawChart();
  drawStages();
  hooks.draws++;
  hooks.points = state.points.length;
});

// --- runs ----------------------------------------------------------------

function notResumable(td, r) {
  if ((r.status === "stopped" || r.status === "failed") && !r.resumable) {
    const s = document.createElement("small");
    s.className = "muted";
    s.textContent = "cannot be resumed";
    s.title = "this run has no checkpoint to continue from";
    td.append(s);
  }
}

// A finished trading-world QMIX or VDN learner can trade in the tournament:
// its row offers to enter it, and once in, links to the trading floor.
function tournamentAction(td, r) {
  if (r.status !== "done" || r.spec.env !== "trading-ma" || r.spec.algo === "maddpg") return;
  const onFloor = (title) => {
    td.querySelector("button.enter")?.remove();
    const a = document.createElement("a");
    a.className = "entered";
    a.href = "/floor";
    a.textContent = "on the floor";
    a.title = title;
    a.addEventListener("click", (e) => e.stopPropagation());
    td.append(a);
  };
  actionButton(td, "→ tournament", "enter", async () => {
    const b = td.querySelector("button.enter");
    b.disabled = true; // one request at a time
    try {
      const res = await api("POST", "/api/tournament/entrants", { run: r.id });
      runs.showError("");
      hooks.entered = res.profile.id;
      onFloor(`${res.profile.name} trades from round ${res.from_round}`);
    } catch (err) {
      // Entered before (this page does not know which learners are in):
      // it is on the floor all the same.
      if (/is already in the tournament/.test(err.message)) {
        runs.showError("");
        onFloor(err.message);
        return;
      }
      b.disabled = false;
      runs.showError(err.message);
    }
  });
}

function figures(r) {
  const stage = r.stage ? ` · ${r.stage.name ? STAGE_LABEL[r.stage.name] ?? r.stage.name : "all stages passed"}` : "";
  return `seed ${r.spec.seed} · ` + (r.eval ? `eval ${num(r.eval.team, 1)} (random ${num(r.eval.random, 1)})` : `team ${num(r.team, 1)}`) + stage;
}

const runs = runSection({
  state, hooks, redraw,
  url: "/api/marl/runs",
  progress: "marl.progress",
  table: "ma-runs", empty: "ma-empty", error: "ma-error",
  what: (r) => `${r.spec.algo.toUpperCase()} · ${world(r.spec.env).name}${r.spec.curriculum ? " · curriculum" : ""}`,
  steps: (r) => `${count(r.episodes)}/${count(r.total)}`,
  figures,
  resumable: (r) => r.resumable,
  moreActions: (td, r) => { notResumable(td, r); tournamentAction(td, r); },
  clear: () => { state.points = []; state.events = []; },
  loaded: (h) => {
    state.points = h.points ?? [];
    state.events = h.events ?? [];
    if (h.run) state.runs.set(h.run.id, { ...state.runs.get(h.run.id), ...h.run });
  },
});

// --- the form ------------------------------------------------------------

function syncForm(changed) {
  const env = $("ma-env").value, algo = $("ma-algo").value;
  const box = $("ma-curriculum");
  const can = env === "trading-ma" && algo !== "maddpg";
  box.disabled = !can;
  if (!can) box.checked = false;
  box.closest("label").setAttribute("aria-disabled", String(!can));
  if (changed === "env" || changed === "algo") {
    // On simple_spread QMIX and VDN need about 8000 episodes to beat a
    // random team by 30 % (docs/notes/issue-7.md); MADDPG 3000.
    const s = env === "spread" && algo !== "maddpg" ? 8000 : SUGGESTED[env];
    if (s) $("ma-episodes").value = s;
  }
  if (changed === "env" && can) box.checked = true;
}

$("ma-env").addEventListener("change", () => syncForm("env"));
$("ma-algo").addEventListener("change", () => syncForm("algo"));
$("ma-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  runs.start({
    env: f.get("env"), algo: f.get("algo"), episodes: Number(f.get("episodes")), seed: Number(f.get("seed")),
    curriculum: $("ma-curriculum").checked,
  }, $("ma-start"));
});

// --- live ----------------------------------------------------------------

runs.follow("marl.metrics", "metrics", (p) => pushInOrder(state.points, p, "episode"));
runs.follow("marl.events", "events", (e) => pushInOrder(state.events, e, "episode"));

window.addEventListener("resize", () => { resizeChart(); redraw(); });
syncForm();
api("GET", "/api/marl/runs").then(runs.setRuns).catch((err) => runs.showError(err.message));
redraw();
