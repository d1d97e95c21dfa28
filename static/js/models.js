// models.js: the Models page. It lists the registry's models and, for the
// selected one, its deployment (canary share, shadow), a chart of the
// canary's live metric against the champion's, the shadow comparison, the
// versions with lineage and metrics, each alias's history as a timeline
// and the decisions with their statistics. It loads /api/models/{name} and
// stays live from mlops.state (every second), mlops.events and
// mlops.aliases. Promote and roll back ask first.
//
// Tests read window.metastationModels: selected model, its champion, the
// points drawn and the last error.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { live } from "./live.js";
import { $, api, num } from "./page.js";
import { onFrame } from "./runs.js";

const state = { models: [], selected: null, detail: null, live: null, error: "" };
const hooks = { get selected() { return state.selected; }, get champion() { return state.detail?.model.aliases?.champion || 0; },
  get challenger() { return state.detail?.model.aliases?.challenger || 0; }, get points() { return state.live?.series?.length || 0; },
  get error() { return state.error; }, get shadowCompared() { return state.live?.shadow?.compared || 0; },
  get trading() { return state.detail?.trading?.version || 0; } };
window.metastationModels = hooks;

function showError(msg) {
  state.error = msg || "";
  $("ml-error").textContent = state.error;
  $("ml-error").hidden = !state.error;
}

async function loadList() {
  try {
    const d = await api("GET", "/api/models");
    state.models = d.models || [];
    renderList();
    if (!state.selected && state.models.length) {
      const want = new URLSearchParams(location.search).get("model");
      select(state.models.some((m) => m.name === want) ? want : state.models[0].name);
    }
  } catch (e) { showError(e.message); }
}

function renderList() {
  const ul = $("ml-list");
  $("ml-empty").hidden = state.models.length > 0;
  ul.querySelectorAll("li.ml-model").forEach((li) => li.remove());
  for (const m of state.models) {
    const li = document.createElement("li");
    li.className = "ml-model";
    li.dataset.name = m.name;
    if (m.name === state.selected) li.setAttribute("aria-current", "true");
    const a = m.aliases || {};
    li.innerHTML = `<button type="button"><b></b><span class="pill"></span><span class="sub"></span></button>`;
    li.querySelector("b").textContent = m.name;
    li.querySelector(".pill").textContent = m.kind;
    li.querySelector(".sub").textContent = `${m.versions} version${m.versions === 1 ? "" : "s"} · champion ${a.champion ? "v" + a.champion : "–"} · challenger ${a.challenger ? "v" + a.challenger : "–"}`;
    li.querySelector("button").addEventListener("click", () => select(m.name));
    ul.append(li);
  }
}

async function select(name) {
  state.selected = name;
  renderList();
  await loadDetail();
}

async function loadDetail() {
  if (!state.selected) return;
  try {
    state.detail = await api("GET", `/api/models/${encodeURIComponent(state.selected)}`);
    state.live = state.detail.live;
    showError("");
    renderDetail();
  } catch (e) { showError(e.message); }
}

function v(n) { return n ? `v${n}` : "–"; }

function renderDetail() {
  const d = state.detail;
  for (const id of ["ml-deploy", "ml-canary-panel", "ml-shadow-panel", "ml-versions-panel", "ml-history-panel", "ml-events-panel"]) $(id).hidden = false;
  $("ml-name").textContent = d.model.name;
  const dep = d.deployment;
  $("ml-canary").value = Math.round(dep.canary_share * 100);
  $("ml-canary-value").textContent = `${Math.round(dep.canary_share * 100)} %`;
  $("ml-shadow").checked = dep.shadow;
  renderLive();
  renderVersions();
  renderTimeline();
  renderEvents();
}

function renderLive() {
  const d = state.detail, l = state.live || {};
  if (!d) return;
  const a = d.model.aliases || {};
  $("ml-champion").textContent = v(a.champion);
  $("ml-challenger").textContent = v(a.challenger);
  $("ml-playing-box").hidden = !d.trading;
  if (d.trading) $("ml-playing").textContent = v(d.trading.version);
  $("ml-state").textContent = (l.deployment || d.deployment).state.replace("_", " ");
  const lat = l.latency || {};
  $("ml-latency").textContent = lat.window ? `${num(lat.p50_us, 0)} / ${num(lat.p99_us, 0)} µs` : "–";
  $("ml-promote").disabled = !a.challenger || a.challenger === a.champion;
  $("ml-evaluate").disabled = $("ml-promote").disabled;
  const c = l.canary || {};
  $("ml-canary-stats").textContent = c.challenger_n || c.champion_n
    ? `challenger ${num(c.challenger_mean, 4)} over ${c.challenger_n} outcomes, champion ${num(c.champion_mean, 4)} over ${c.champion_n}; difference ${num(c.diff, 4)} ± ${num(c.se, 4)}, log Λ ${num(c.log_lr, 2)} (rollback at ${num(c.log_threshold, 2)}, α ${c.alpha}), verdict: ${c.verdict}`
    : "No live outcomes yet: they arrive through POST /api/models/{name}/feedback.";
  const s = l.shadow || {};
  $("ml-shadow-stats").textContent = s.compared
    ? `v${s.challenger} shadowing v${s.champion}: ${s.compared} answers compared, agreement ${(100 * s.agreement).toFixed(1)} %, mean |difference| ${num(s.mean_abs_diff, 4)}, largest ${num(s.max_abs_diff, 4)}, ${s.dropped} dropped`
    : (d.deployment.shadow ? "Shadow is on; no champion traffic compared yet." : "Shadow is off.");
  drawCanary();
  drawShadow();
}

let plot = null;
const drawCanary = onFrame(() => {
  const pts = state.live?.series || [];
  // An arm with no outcomes yet has no mean: a gap, not a zero.
  const data = [pts.map((p) => p.t / 1000), pts.map((p) => (p.champion_n ? p.champion : null)), pts.map((p) => (p.challenger_n ? p.challenger : null))];
  const box = $("ml-canary-chart");
  if (!plot) {
    plot = new uPlot({
      width: Math.max(300, box.clientWidth - 8), height: 220,
      series: [{}, { label: "champion", stroke: "#7cf2c5", width: 2 }, { label: "canary", stroke: "#ffc46a", width: 2 }],
      axes: [{ stroke: "#8a93a8", grid: { stroke: "#232a3b" } }, { stroke: "#8a93a8", grid: { stroke: "#232a3b" } }],
    }, data, box);
  } else plot.setData(data);
});

const drawShadow = onFrame(() => {
  const c = $("ml-shadow-chart"), g = c.getContext("2d");
  const pts = state.live?.shadow?.points || [];
  const w = c.width, h = c.height, pad = 24;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#232a3b";
  g.strokeRect(pad, 4, w - pad - 4, h - pad - 4);
  if (!pts.length) return;
  let lo = Infinity, hi = -Infinity;
  for (const p of pts) { lo = Math.min(lo, p.champion, p.challenger); hi = Math.max(hi, p.champion, p.challenger); }
  if (hi === lo) { hi += 1; lo -= 1; }
  const x = (v) => pad + ((v - lo) / (hi - lo)) * (w - pad - 8);
  const y = (v) => h - pad - ((v - lo) / (hi - lo)) * (h - pad - 8);
  g.strokeStyle = "#3a4460";
  g.beginPath(); g.moveTo(x(lo), y(lo)); g.lineTo(x(hi), y(hi)); g.stroke();
  g.fillStyle = "rgba(182, 148, 255, .75)";
  for (const p of pts) { g.beginPath(); g.arc(x(p.champion), y(p.challenger), 2.5, 0, 2 * Math.PI); g.fill(); }
  g.fillStyle = "#8a93a8";
  g.font = "11px system-ui";
  g.fillText("champion →", w - 80, h - 6);
  g.fillText("challenger ↑", pad + 4, 14);
});

function renderVersions() {
  const tb = $("ml-versions");
  tb.replaceChildren();
  for (const ver of state.detail.versions || []) {
    const tr = document.createElement("tr");
    tr.dataset.version = ver.version;
    const lin = ver.lineage || {};
    const metrics = Object.entries(ver.metrics || {}).map(([k, x]) => `${k} ${num(x, 3)}`).join(", ");
    const cells = [`v${ver.version}`, (ver.aliases || []).join(", "), new Date(ver.created).toLocaleString("en-GB"),
      [lin.source, lin.run, lin.seed != null ? `seed ${lin.seed}` : "", lin.data_hash ? `data ${lin.data_hash.slice(0, 10)}…` : ""].filter(Boolean).join(" · "),
      metrics || "–", ver.sha256.slice(0, 12) + "…"];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    if (!(ver.aliases || []).includes("challenger") && !(ver.aliases || []).includes("champion")) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Make challenger";
      b.addEventListener("click", () => act("PUT", `aliases/challenger`, { version: ver.version, reason: "chosen on the Models page" }));
      td.append(b);
    }
    tr.append(td);
    tb.append(tr);
  }
}

// renderTimeline draws each alias as a lane of segments, one per stint of
// a version, from its first move to now.
function renderTimeline() {
  const box = $("ml-timeline");
  box.replaceChildren();
  const moves = state.detail.history || [];
  if (!moves.length) { box.textContent = "No alias has been set yet."; return; }
  const t0 = new Date(moves[0].at).getTime(), t1 = Date.now();
  const span = Math.max(1, t1 - t0);
  const lanes = new Map();
  for (const m of moves) {
    if (!lanes.has(m.alias)) lanes.set(m.alias, []);
    lanes.get(m.alias).push(m);
  }
  for (const [alias, ms] of lanes) {
    const lane = document.createElement("div");
    lane.className = "ml-lane";
    lane.dataset.alias = alias;
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = alias;
    const track = document.createElement("div");
    track.className = "ml-track";
    ms.forEach((m, i) => {
      if (!m.version) return;
      const from = new Date(m.at).getTime(), to = i + 1 < ms.length ? new Date(ms[i + 1].at).getTime() : t1;
      const seg = document.createElement("span");
      seg.className = "ml-seg" + (m.rollback ? " rollback" : "");
      seg.style.left = `${(100 * (from - t0)) / span}%`;
      seg.style.width = `${Math.max(0.8, (100 * (to - from)) / span)}%`;
      seg.style.setProperty("--hue", String((m.version * 67) % 360));
      seg.textContent = `v${m.version}`;
      seg.title = `${alias} → v${m.version} at ${new Date(m.at).toLocaleString("en-GB")} by ${m.actor}${m.reason ? ": " + m.reason : ""}`;
      track.append(seg);
    });
    lane.append(name, track);
    box.append(lane);
  }
}

function renderEvents() {
  const ol = $("ml-events");
  ol.replaceChildren();
  for (const e of state.detail.events || []) {
    const li = document.createElement("li");
    li.className = `ml-event ${e.kind}`;
    li.innerHTML = `<span class="pill"></span> <time></time> <span class="who"></span><p></p>`;
    li.querySelector(".pill").textContent = e.kind;
    li.querySelector("time").textContent = new Date(e.at).toLocaleTimeString("en-GB", { hour12: false });
    li.querySelector(".who").textContent = e.actor;
    li.querySelector("p").textContent = e.decision;
    if (e.stats && Object.keys(e.stats).length) {
      const det = document.createElement("details");
      det.innerHTML = "<summary>statistics</summary><pre></pre>";
      det.querySelector("pre").textContent = JSON.stringify(e.stats, null, 2);
      li.append(det);
    }
    ol.append(li);
  }
}

async function act(method, path, body) {
  try {
    await api(method, `/api/models/${encodeURIComponent(state.selected)}/${path}`, body);
    showError("");
  } catch (e) { showError(e.message); }
  await Promise.all([loadList(), loadDetail()]);
}

function confirmThen(text, fn) {
  const dlg = $("ml-confirm");
  $("ml-confirm-text").textContent = text;
  dlg.returnValue = "";
  dlg.onclose = () => { if (dlg.returnValue === "ok") fn(); };
  dlg.showModal();
}

$("ml-canary").addEventListener("input", () => { $("ml-canary-value").textContent = `${$("ml-canary").value} %`; });
$("ml-canary-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const share = Number($("ml-canary").value) / 100;
  act(share > 0 ? "POST" : "DELETE", "canary", share > 0 ? { share } : undefined);
});
$("ml-shadow").addEventListener("change", () => act($("ml-shadow").checked ? "POST" : "DELETE", "shadow"));
$("ml-evaluate").addEventListener("click", async () => {
  $("ml-evaluate").disabled = true;
  $("ml-evaluate").textContent = "Evaluating…";
  await act("POST", "evaluate", { promote: false });
  $("ml-evaluate").textContent = "Evaluate on held-out data";
});
$("ml-promote").addEventListener("click", () => {
  const a = state.detail.model.aliases || {};
  confirmThen(`Make v${a.challenger} the champion of ${state.selected} (now v${a.champion})? A trading policy trades in the tournament from the next round.`,
    () => act("POST", "promote", { reason: "promoted by hand on the Models page" }));
});
$("ml-rollback").addEventListener("click", () => {
  confirmThen(`Roll the champion of ${state.selected} back to the version before v${state.detail.model.aliases?.champion}?`,
    () => act("POST", "rollback", { reason: "rolled back by hand on the Models page" }));
});

// Register a finished run or data job by hand (those not opted out
// register themselves when they finish).
const defaultModel = { marl: "trading-policy", synth: "fraud-detector", rl: "" };
$("ml-reg-source").addEventListener("change", () => {
  $("ml-reg-model").placeholder = defaultModel[$("ml-reg-source").value] || "rl-cartpole";
});
$("ml-register").addEventListener("submit", async (e) => {
  e.preventDefault();
  const source = $("ml-reg-source").value, id = $("ml-reg-id").value.trim();
  const name = $("ml-reg-model").value.trim() || $("ml-reg-model").placeholder;
  try {
    const ver = await api("POST", `/api/models/${encodeURIComponent(name)}/versions`, { run: { source, id }, alias: "auto" });
    showError("");
    $("ml-reg-result").textContent = `Registered ${ver.model} v${ver.version}${ver.aliases?.length ? " (" + ver.aliases.join(", ") + ")" : ""}.`;
    await loadList();
    await select(ver.model);
  } catch (err) { showError(err.message); }
});

live.subscribe("mlops.state", (all) => {
  const l = (all || []).find((x) => x.model === state.selected);
  if (l && state.detail) { state.live = l; renderLive(); }
});
const refresh = () => { loadList(); loadDetail(); };
live.subscribe("mlops.events", refresh);
live.subscribe("mlops.aliases", refresh);
loadList();
