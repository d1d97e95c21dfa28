// research.js: the Research page. It lists the runs (GET /api/research/runs),
// draws a run's concept graph with its gaps as an SVG scene (a small
// force layout, nodes coloured by what the concept is, gaps dashed), the
// gaps and the time-split validation, the hypothesis leaderboard (held-out
// Sharpe ratio with its 95 % interval drawn, raw, BH and Holm p-values,
// DSR, verdict), the memos and the memo view (HTML rendered by the server;
// a click on a citation shows the memory, experiment or trial it cites).
// It stays live from research.progress (the bar and the agent at work),
// research.agents (each message, lighting up its sender) and research.runs
// (a finished run opens).
//
// Tests read window.metastationResearch.
import { live } from "./live.js";
import { api, num } from "./page.js";

const el = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const KIND_COLOR = { signal: "#7cf2c5", regime: "#ff8fab", set: "#6aa8ff", horizon: "#ffc46a", "": "#b694ff" };

const state = {
  runs: [], run: null, summary: null, memo: null, trials: null,
  progress: null, messages: 0, error: "", lastCite: null, citesClicked: 0, gapsDrawn: 0,
};

window.metastationResearch = {
  get run() { return state.summary?.id ?? 0; },
  get runs() { return state.runs.length; },
  get concepts() { return state.summary?.concepts?.length ?? 0; },
  get edges() { return document.querySelectorAll("#rs-graph .rs-edge").length; },
  get gaps() { return state.gapsDrawn; },
  get topGap() { const g = state.summary?.gaps?.[0]; return g ? [g.a_name, g.c_name] : []; },
  get hypotheses() { return document.querySelectorAll("#rs-board tbody tr").length; },
  get memoTitle() { return state.memo?.title ?? ""; },
  get memoVerdict() { return state.memo?.verdict ?? ""; },
  get charts() { return document.querySelectorAll("#rs-memo-charts .rs-forest circle, #rs-memo-charts .rs-curves polyline").length; },
  get citations() { return document.querySelectorAll("#rs-memo a.cite").length; },
  get lastCite() { return state.lastCite; },
  get progress() { return state.progress; },
  get messages() { return state.messages; },
  get error() { return state.error; },
};

function showError(msg) {
  state.error = msg || "";
  el("rs-error").textContent = state.error;
  el("rs-error").hidden = !state.error;
}

function svg(tag, attrs, parent) {
  const n = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  if (parent) parent.append(n);
  return n;
}

function fmtDSR(v) {
  if (v == null || !isFinite(v)) return "–";
  return v < 0.001 ? "< 0.001" : v.toFixed(3);
}

function fmtP(p) {
  if (p == null || !isFinite(p)) return "–";
  return p < 1e-4 ? "< 0.0001" : p.toFixed(4);
}

async function loadRuns(open) {
  const body = await api("GET", "/api/research/runs");
  state.runs = body.runs || [];
  const sel = el("rs-run");
  sel.replaceChildren();
  for (const r of state.runs) {
    const o = document.createElement("option");
    o.value = r.id;
    o.textContent = `#${r.id} · seed ${r.seed} · ${r.status}${r.status === "done" ? ` · ${r.discoveries}/${r.hypotheses} discoveries` : ""}`;
    sel.append(o);
  }
  const want = open ?? state.runs.find((r) => r.status === "done")?.id;
  if (want) {
    sel.value = want;
    await openRun(want);
  } else if (!state.runs.length) {
    el("rs-status").textContent = "no run yet: start one";
  }
}

async function openRun(id) {
  const run = state.runs.find((r) => r.id === Number(id));
  if (run && run.status !== "done") {
    el("rs-graph-note").textContent = run.error ? `run ${id} ${run.status}: ${run.error}` : `run ${id} is ${run.status}`;
    return;
  }
  const s = await api("GET", `/api/research/runs/${id}`);
  state.summary = s;
  state.trials = null;
  drawGraph(s);
  drawGaps(s);
  drawValidation(s.validation);
  drawBoard(s);
  drawMemos(s);
  const first = [...(s.experiments || [])].sort((a, b) => a.p_bh - b.p_bh || a.id - b.id)[0];
  if (first) await openMemo(first.id);
}

// drawGraph lays the concepts out with a few hundred steps of
// Fruchterman–Reingold from a deterministic start, so the same run always
// looks the same.
function drawGraph(s) {
  const g = el("rs-graph");
  g.replaceChildren();
  const W = 900, H = 560, cs = s.concepts || [], edges = s.edges || [];
  const n = cs.length;
  el("rs-graph-note").textContent = `${n} concepts, ${edges.length} links, ${s.papers} papers`;
  if (!n) return;
  const pos = cs.map((_, i) => ({ x: W / 2 + 220 * Math.cos((2 * Math.PI * i) / n), y: H / 2 + 200 * Math.sin((2 * Math.PI * i) / n) }));
  const k = Math.sqrt((W * H) / n) * 0.75;
  for (let it = 0, t = 60; it < 300; it++, t *= 0.985) {
    const d = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = pos[i].x - pos[j].x, dy = pos[i].y - pos[j].y, dist = Math.max(1, Math.hypot(dx, dy));
        const f = (k * k) / dist;
        d[i].x += (dx / dist) * f; d[i].y += (dy / dist) * f;
        d[j].x -= (dx / dist) * f; d[j].y -= (dy / dist) * f;
      }
    }
    for (const e of edges) {
      const a = pos[e.a], b = pos[e.b];
      const dx = a.x - b.x, dy = a.y - b.y, dist = Math.max(1, Math.hypot(dx, dy));
      const f = ((dist * dist) / k) * Math.min(1, Math.log1p(e.w) / 3);
      d[e.a].x -= (dx / dist) * f; d[e.a].y -= (dy / dist) * f;
      d[e.b].x += (dx / dist) * f; d[e.b].y += (dy / dist) * f;
    }
    for (let i = 0; i < n; i++) {
      const len = Math.max(1, Math.hypot(d[i].x, d[i].y));
      pos[i].x = Math.min(W - 70, Math.max(70, pos[i].x + (d[i].x / len) * Math.min(len, t)));
      pos[i].y = Math.min(H - 30, Math.max(30, pos[i].y + (d[i].y / len) * Math.min(len, t)));
    }
  }
  // Fill the frame: the layout's shape, scaled to the whole drawing.
  const xs = pos.map((q) => q.x), ys = pos.map((q) => q.y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  for (const q of pos) {
    q.x = 80 + ((q.x - x0) / Math.max(1, x1 - x0)) * (W - 160);
    q.y = 40 + ((q.y - y0) / Math.max(1, y1 - y0)) * (H - 70);
  }
  const maxW = Math.max(1, ...edges.map((e) => e.w));
  const le = svg("g", { class: "rs-edges" }, g);
  for (const e of edges) {
    svg("line", {
      class: "rs-edge", x1: pos[e.a].x, y1: pos[e.a].y, x2: pos[e.b].x, y2: pos[e.b].y,
      "stroke-width": 0.5 + 4 * Math.sqrt(e.w / maxW),
    }, le).append(Object.assign(document.createElementNS(SVGNS, "title"), { textContent: `${cs[e.a].name} – ${cs[e.b].name}: ${e.w} papers since ${e.first}` }));
  }
  const lg = svg("g", { class: "rs-gap-lines" }, g);
  state.gapsDrawn = 0;
  (s.gaps || []).slice(0, 5).forEach((gp, i) => {
    const line = svg("line", {
      class: `rs-gap${i === 0 ? " top" : ""}`, x1: pos[gp.a].x, y1: pos[gp.a].y, x2: pos[gp.c].x, y2: pos[gp.c].y,
    }, lg);
    line.append(Object.assign(document.createElementNS(SVGNS, "title"), { textContent: `gap #${gp.rank}: ${gp.a_name} – ${gp.c_name} (score ${num(gp.scores.combined, 2)})` }));
    state.gapsDrawn++;
  });
  const maxDF = Math.max(1, ...cs.map((c) => c.df));
  const ln = svg("g", { class: "rs-nodes" }, g);
  cs.forEach((c, i) => {
    const node = svg("g", { class: "rs-node", transform: `translate(${pos[i].x},${pos[i].y})`, "data-id": i }, ln);
    svg("circle", { r: 5 + 9 * Math.sqrt(c.df / maxDF), fill: KIND_COLOR[c.kind || ""] || KIND_COLOR[""] }, node);
    const t = svg("text", { y: -12 - 6 * Math.sqrt(c.df / maxDF) }, node);
    t.textContent = c.name;
    node.append(Object.assign(document.createElementNS(SVGNS, "title"), { textContent: `${c.name} (${c.df} papers; forms: ${c.forms.join(", ")})` }));
  });
}

function drawGaps(s) {
  const ol = el("rs-gaps");
  ol.replaceChildren();
  for (const gp of (s.gaps || []).slice(0, 8)) {
    const li = document.createElement("li");
    const br = gp.bridges?.[0];
    li.innerHTML = "<b></b> – <b></b><span class=\"sub\"></span>";
    li.children[0].textContent = gp.a_name;
    li.children[1].textContent = gp.c_name;
    li.children[2].textContent = ` score ${num(gp.scores.combined, 1)}${br ? ` · via ${br.name} (${br.ab} and ${br.bc} papers)` : ""} · AA ${num(gp.scores.adamic, 2)}`;
    ol.append(li);
  }
}

function drawValidation(v) {
  const dl = el("rs-validation");
  dl.replaceChildren();
  if (!v) return;
  if (!v.valid) {
    const dd = document.createElement("dd");
    dd.textContent = `not measured: splitting at ${v.split_year} leaves ${v.positives} pairs linked later and ${v.negatives} never linked`;
    dl.append(dd);
    return;
  }
  const rows = [
    ["split year", v.split_year], ["pairs linked later", v.positives], ["never linked", v.negatives],
    ["AUC gap score (A–B–C)", num(v.auc, 3)], ["AUC Adamic–Adar", num(v.auc_adamic, 3)],
    ["AUC common neighbours", num(v.auc_common, 3)], ["AUC embedding", num(v.auc_embed, 3)],
  ];
  for (const [k, x] of rows) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = x;
    dl.append(dt, dd);
  }
}

// ciBar draws a Sharpe ratio and its interval on a fixed scale (−3..3).
function ciBar(p) {
  const s = document.createElementNS(SVGNS, "svg");
  s.setAttribute("viewBox", "0 0 160 18");
  s.setAttribute("class", "rs-ci");
  const x = (v) => 80 + Math.max(-3, Math.min(3, v)) * (75 / 3);
  svg("line", { x1: 80, y1: 1, x2: 80, y2: 17, class: "zero" }, s);
  svg("line", { x1: x(p.sharpe_lo), y1: 9, x2: x(p.sharpe_hi), y2: 9, class: p.sharpe_lo > 0 ? "ci pos" : "ci" }, s);
  svg("circle", { cx: x(p.sharpe), cy: 9, r: 3.5, class: "pt" }, s);
  return s;
}

function drawBoard(s) {
  const tb = el("rs-board").querySelector("tbody");
  tb.replaceChildren();
  const exps = [...(s.experiments || [])].sort((a, b) => a.p_bh - b.p_bh || a.perf.p - b.perf.p || a.id - b.id);
  const e0 = exps[0];
  const planted = (s.plan?.effects || []).map((x) => `${x.signal} ${x.horizon}d ${x.regime} ${x.set}`).join(", ");
  el("rs-family").textContent = e0 ? `${e0.family} hypotheses share the corrections; N = ${e0.trials} in-sample trials; PBO ${e0.pbo_splits ? num(e0.pbo, 3) : "–"}; ${s.discoveries} BH discoveries` +
    (planted ? ` · the simulator plants: ${planted}` : "") : "";
  for (const e of exps) {
    const tr = document.createElement("tr");
    tr.id = `rs-exp-${e.id}`;
    tr.dataset.verdict = e.verdict;
    const cells = [
      `E${e.id}`, e.hypothesis.statement, num(e.hypothesis.novelty, 2), null,
      num(e.perf.t, 2), fmtP(e.perf.p), fmtP(e.p_bh), fmtP(e.p_holm), fmtDSR(e.dsr), e.verdict,
    ];
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      if (i === 3) {
        td.className = "ci-cell";
        td.append(ciBar(e.perf));
        const sp = document.createElement("span");
        sp.className = "sub";
        sp.textContent = ` ${num(e.perf.sharpe, 2)} [${num(e.perf.sharpe_lo, 2)}, ${num(e.perf.sharpe_hi, 2)}]`;
        td.append(sp);
      } else td.textContent = c;
      if (i === 9) td.className = `verdict v-${e.verdict.replace(/ /g, "-")}`;
      tr.append(td);
    });
    tr.addEventListener("click", () => openMemo(e.id));
    tb.append(tr);
  }
}

function drawMemos(s) {
  const ol = el("rs-memos");
  ol.replaceChildren();
  for (const m of s.memos || []) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.exp = m.experiment;
    b.innerHTML = "<span></span><small></small>";
    b.children[0].textContent = `E${m.experiment} · ${m.title}`;
    b.children[1].textContent = m.verdict;
    b.children[1].className = `v-${m.verdict.replace(/ /g, "-")}`;
    b.addEventListener("click", () => openMemo(m.experiment));
    li.append(b);
    ol.append(li);
  }
}

async function openMemo(exp) {
  const run = state.summary?.id;
  if (!run) return;
  const m = await api("GET", `/api/research/runs/${run}/memos/${exp}`);
  state.memo = m;
  const box = el("rs-memo");
  box.innerHTML = m.html; // rendered and escaped by the server from the memo's Markdown
  el("rs-md").href = `/api/research/runs/${run}/memos/${exp}.md`;
  el("rs-md").setAttribute("download", `memo-run${run}-E${exp}.md`);
  el("rs-print").href = `/research/runs/${run}/memos/${exp}/print`;
  for (const b of document.querySelectorAll("#rs-memos button")) b.classList.toggle("on", Number(b.dataset.exp) === Number(exp));
  for (const tr of document.querySelectorAll("#rs-board tbody tr")) tr.classList.toggle("on", tr.id === `rs-exp-${exp}`);
  el("rs-cite").hidden = true;
  drawMemoCharts(Number(exp)).catch((err) => showError(err.message));
}

async function trialsOfRun() {
  if (!state.trials) state.trials = (await api("GET", `/api/research/runs/${state.summary.id}/trials`)).trials || [];
  return state.trials;
}

// drawMemoCharts draws, above the memo, every trial of its experiment as a
// Sharpe ratio with its 95 % interval (the DSR's benchmark dashed), and the
// held-out and real out-of-sample equity curves.
async function drawMemoCharts(exp) {
  const box = el("rs-memo-charts");
  box.replaceChildren();
  const e = state.summary.experiments.find((x) => x.id === exp);
  const ts = (await trialsOfRun()).filter((t) => t.hypothesis === exp);
  if (!e || !ts.length) return;
  // Forest plot.
  const W = 420, row = 18, H = 28 + row * ts.length;
  const f = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "rs-forest", role: "img", "aria-label": "Sharpe ratio of every trial with its 95 % interval" }, box);
  const lo = Math.min(-1, ...ts.map((t) => t.perf.sharpe_lo), e.sr0), hi = Math.max(1, ...ts.map((t) => t.perf.sharpe_hi), e.sr0);
  const x = (v) => 130 + ((v - lo) / (hi - lo)) * (W - 145);
  svg("line", { x1: x(0), y1: 4, x2: x(0), y2: H - 18, class: "zero" }, f);
  svg("line", { x1: x(e.sr0), y1: 4, x2: x(e.sr0), y2: H - 18, class: "sr0" }, f)
    .append(Object.assign(document.createElementNS(SVGNS, "title"), { textContent: `DSR benchmark: the best Sharpe ratio of ${e.trials} noise trials, ${num(e.sr0, 2)}` }));
  ts.forEach((t, i) => {
    const y = 12 + i * row;
    const lab = svg("text", { x: 4, y: y + 4, class: "lab" }, f);
    lab.textContent = `T${t.id} ${t.phase}${t.phase === "select" ? ` ${t.rule.lookback}d` : t.phase === "real" ? ` ${t.data[0].replace("real:", "")}` : ""}`;
    svg("line", { x1: x(t.perf.sharpe_lo), y1: y, x2: x(t.perf.sharpe_hi), y2: y, class: `ci ${t.phase}` }, f);
    svg("circle", { cx: x(t.perf.sharpe), cy: y, r: 3.5, class: `pt ${t.phase}` }, f);
  });
  for (const v of [lo, 0, hi]) {
    const tx = svg("text", { x: x(v), y: H - 4, class: "axis" }, f);
    tx.textContent = num(v, 1);
  }
  // Equity curves: held out (bold) and each real file.
  const curves = ts.filter((t) => t.curve && t.curve.length > 1);
  if (!curves.length) return;
  const CW = 420, CH = 170;
  const c = svg("svg", { viewBox: `0 0 ${CW} ${CH}`, class: "rs-curves", role: "img", "aria-label": "cumulative net log-return out of sample" }, box);
  const all = curves.flatMap((t) => t.curve);
  const ymin = Math.min(0, ...all), ymax = Math.max(0, ...all);
  const yy = (v) => CH - 16 - ((v - ymin) / Math.max(1e-9, ymax - ymin)) * (CH - 30);
  svg("line", { x1: 30, y1: yy(0), x2: CW - 4, y2: yy(0), class: "zero" }, c);
  for (const t of curves) {
    const n = t.curve.length;
    const pts = t.curve.map((v, i) => `${(30 + (i / (n - 1)) * (CW - 36)).toFixed(1)},${yy(v).toFixed(1)}`).join(" ");
    svg("polyline", { points: pts, class: `curve ${t.phase}` }, c)
      .append(Object.assign(document.createElementNS(SVGNS, "title"), { textContent: `T${t.id} ${t.phase} ${t.data.join(", ")}: ${num(t.curve[n - 1], 3)} over ${t.perf.days} days` }));
  }
  const top = svg("text", { x: 2, y: 12, class: "axis" }, c); top.textContent = num(ymax, 2);
  const bot = svg("text", { x: 2, y: CH - 18, class: "axis" }, c); bot.textContent = num(ymin, 2);
  const lg = svg("text", { x: CW - 4, y: 12, class: "axis end" }, c);
  lg.textContent = "held out (bold), real files (thin): cumulative log-return";
}

// showCite explains one citation beside the memo: the memory (a paper, a
// finding, an outcome), the experiment or the trial.
async function showCite(ref) {
  const kind = ref[0], id = Number(ref.slice(1));
  const box = el("rs-cite");
  box.replaceChildren();
  const h = document.createElement("h3");
  const pre = document.createElement("div");
  pre.className = "rs-cite-body";
  box.append(h, pre);
  const close = document.createElement("button");
  close.type = "button"; close.textContent = "×"; close.className = "rs-cite-close";
  close.addEventListener("click", () => { box.hidden = true; });
  box.append(close);
  try {
    if (kind === "M") {
      const m = await api("GET", `/api/research/memories/${id}`);
      h.textContent = `Memory ${m.id} · ${m.agent} · ${m.kind} · ${String(m.sim_time).slice(0, 10)}`;
      pre.textContent = m.text;
      state.lastCite = { kind, id, agent: m.agent, memoryKind: m.kind };
    } else if (kind === "E") {
      const e = state.summary.experiments.find((x) => x.id === id);
      h.textContent = `Experiment ${id} · ${e.verdict}`;
      pre.textContent = `${e.hypothesis.statement}\nchosen rule: ${e.chosen.signal}, lookback ${e.chosen.lookback}, ${e.chosen.regime}\n` +
        `held-out Sharpe ${num(e.perf.sharpe, 2)} [${num(e.perf.sharpe_lo, 2)}, ${num(e.perf.sharpe_hi, 2)}], t ${num(e.perf.t, 2)}, ` +
        `BH p ${fmtP(e.p_bh)}, Holm p ${fmtP(e.p_holm)}, DSR ${num(e.dsr, 3)} (N = ${e.trials})\n${(e.reasons || []).join("\n")}`;
      el(`rs-exp-${id}`)?.scrollIntoView({ block: "nearest" });
      el(`rs-exp-${id}`)?.classList.add("flash");
      state.lastCite = { kind, id, verdict: e.verdict };
    } else {
      const t = (await trialsOfRun()).find((x) => x.id === id);
      h.textContent = `Trial ${id} · ${t.phase} · experiment ${t.hypothesis}`;
      pre.textContent = `rule: ${t.rule.signal}, lookback ${t.rule.lookback}, ${t.rule.regime}\ndata: ${t.data.join(", ")}\n` +
        `seeds: ${(t.seeds || []).join(", ") || "none"} · data hash ${t.data_hash}\n` +
        `${t.perf.days} days from day ${t.from}: Sharpe ${num(t.perf.sharpe, 2)}, t ${num(t.perf.t, 2)}, max drawdown ${num(t.perf.max_drawdown, 4)}`;
      state.lastCite = { kind, id, phase: t.phase, hash: t.data_hash };
    }
    state.citesClicked++;
  } catch (err) {
    h.textContent = `Citation ${ref}`;
    pre.textContent = err.message;
  }
  box.hidden = false;
}

el("rs-memo").addEventListener("click", (ev) => {
  const a = ev.target.closest("a.cite");
  if (!a) return;
  ev.preventDefault();
  showCite(a.dataset.cite);
});

el("rs-run").addEventListener("change", (ev) => openRun(ev.target.value).catch((e) => showError(e.message)));

el("rs-start").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("");
  const seed = Number(el("rs-seed").value);
  const dir = el("rs-dir").value.trim();
  try {
    await api("POST", "/api/research/runs", { seed, dir });
    el("rs-status").textContent = "queued";
  } catch (err) {
    showError(err.message);
  }
});

function renderProgress(p) {
  state.progress = p;
  el("rs-bar").style.width = `${Math.round(100 * (p.share || 0))}%`;
  el("rs-go").disabled = p.state === "running";
  const who = (p.stage || "").replace("research.", "");
  el("rs-status").textContent = p.state === "running"
    ? `run ${p.run}: ${who}${p.total ? ` ${p.done}/${p.total}` : ""} · ${Math.round(100 * p.share)} %`
    : p.state === "failed" ? `run ${p.run} failed: ${p.error}` : `run ${p.run} done`;
  for (const li of document.querySelectorAll("#rs-agents li")) li.classList.toggle("busy", p.state === "running" && li.dataset.agent === p.stage);
  if (p.state === "failed") showError(p.error);
}

function addMessage(m) {
  state.messages++;
  const li = document.createElement("li");
  li.innerHTML = "<b></b><span></span>";
  li.children[0].textContent = `${m.from.replace("research.", "")} → ${(m.to || "everyone").replace("research.", "")}`;
  li.children[1].textContent = ` run ${m.run}: ${m.text}`;
  const ol = el("rs-messages");
  ol.prepend(li);
  while (ol.children.length > 30) ol.lastChild.remove();
  const a = document.querySelector(`#rs-agents li[data-agent="${m.from}"]`);
  if (a) { a.classList.remove("lit"); void a.offsetWidth; a.classList.add("lit"); }
}

live.subscribe("research.progress", renderProgress);
live.subscribe("research.agents", addMessage);
live.subscribe("research.runs", (h) => loadRuns(h.id).catch((e) => showError(e.message)));
live.onState((s) => {
  if (s === "live" && !state.progress) el("rs-status").textContent = "idle";
});

api("GET", "/api/research/progress").then((p) => { if (p && p.run) renderProgress(p); }).catch(() => {});
const want = Number(new URLSearchParams(location.search).get("run")) || undefined;
loadRuns(want).catch((e) => showError(e.message));
