// memory.js: the Memory page. It searches /api/memory/search and shows each
// result with the scores of each retriever, lists the agents and draws an
// agent's stream as a timeline (live from memory.memories), opens a memory
// with its evidence (a reflection's summarised memories, a merge's
// duplicates), posts notes, and shows consolidation live from memory.state
// and memory.consolidation. It computes no score itself: every number is
// the server's.
import { live } from "./live.js";
import { $, el, get, api, count } from "./page.js";

const form = $("mem-search"), q = $("mem-q"), agentSel = $("mem-agent"), kindSel = $("mem-kind"), modeSel = $("mem-mode");
const stats = { searches: 0, results: 0, timelines: 0, notes: 0, passes: 0, details: 0, live: 0, errors: 0 };
window.metastationMemory = stats;
const SVG = "http://www.w3.org/2000/svg";

function simTime(t) {
  const d = new Date(t);
  return isNaN(d) ? "–" : d.toLocaleString("en-GB", { timeZone: "UTC", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function showError(msg) {
  const e = $("mem-error");
  e.textContent = msg || "";
  e.hidden = !msg;
  if (msg) stats.errors++;
}

// linksLine says what a memory rests on, in a few words.
function linksLine(m) {
  if (!m.links || !m.links.length) return null;
  const by = {};
  for (const l of m.links) by[l.kind] = (by[l.kind] || 0) + 1;
  const many = (k, n) => (n === 1 ? k : k === "memory" ? "memories" : `${k}s`);
  const parts = Object.entries(by).map(([k, n]) => (k === "round" && n === 1 ? `round ${m.links.find((l) => l.kind === "round").ref}` : `${n} ${many(k, n)}`));
  return el("p", "mem-links", `evidence: ${parts.join(", ")}`);
}

// memoryItem draws one memory; why, when given, is its search explanation.
// Clicking it opens the memory with its evidence.
function memoryItem(m, why, score) {
  const li = el("li", "mem-item");
  li.dataset.id = m.id;
  li.dataset.kind = m.kind;
  const head = el("div", "mem-item-head");
  const who = el("a", "mem-agent-link", m.agent);
  who.href = `/memory?agent=${encodeURIComponent(m.agent)}`;
  who.addEventListener("click", (ev) => { ev.preventDefault(); ev.stopPropagation(); openTimeline(m.agent); });
  head.append(el("span", "pill mem-kind", m.kind), who, el("time", "mem-time", simTime(m.sim_time)), el("span", "mem-time", `#${m.id}`));
  if (m.count > 1) head.append(el("span", "pill", `×${m.count}`));
  if (m.superseded_by) head.append(el("span", "pill mem-superseded", `superseded by #${m.superseded_by}`));
  if (m.status !== "active") head.append(el("span", "pill", m.status));
  if (m.pinned) head.append(el("span", "pill", "pinned"));
  li.append(head, el("p", "mem-text", m.text));
  const links = linksLine(m);
  if (links) li.append(links);
  if (why) {
    const w = el("div", "mem-why");
    const parts = [
      ["score", score.toFixed(3)],
      ["words", why.lexical_rank ? `#${why.lexical_rank} (bm25 ${why.bm25.toFixed(2)}, ${Math.round(100 * why.coord)}% of words)` : "no match"],
      ["meaning", why.vector_rank ? `#${why.vector_rank} (cosine ${why.cosine.toFixed(3)})` : `cosine ${why.cosine.toFixed(3)}`],
      ["relevance", why.relevance.toFixed(2)],
      ["recency", why.recency.toFixed(2)],
      ["importance", why.importance.toFixed(2)],
    ];
    for (const [k, v] of parts) {
      const s = el("span", "mem-why-part");
      s.dataset.part = k;
      s.append(el("b", null, k), document.createTextNode(" " + v));
      w.append(s);
    }
    li.append(w);
  }
  li.addEventListener("click", (ev) => { if (!ev.target.closest("a")) openDetail(m.id); });
  return li;
}

// rangeValue turns a datetime-local value into the API's form (UTC, as the
// simulated calendar is).
function rangeValue(input) { return input.value; }

async function search(ev) {
  ev?.preventDefault();
  const params = new URLSearchParams({ q: q.value, mode: modeSel.value });
  if (agentSel.value) params.set("agent", agentSel.value);
  if (kindSel.value) params.set("kind", kindSel.value);
  if (rangeValue($("mem-from"))) params.set("from", rangeValue($("mem-from")));
  if (rangeValue($("mem-to"))) params.set("to", rangeValue($("mem-to")));
  history.replaceState(null, "", `/memory?${new URLSearchParams({ q: q.value, ...(agentSel.value ? { agent: agentSel.value } : {}) })}`);
  try {
    const body = await get(`/api/memory/search?${params}`);
    showError("");
    const list = $("mem-results");
    list.replaceChildren(...body.results.map((r) => memoryItem(r.memory, r.why, r.score)));
    $("mem-results-title").textContent = agentSel.value
      ? `What ${agentSel.value} remembers about “${q.value}”` : `What is remembered about “${q.value}”`;
    const n = body.results.length;
    $("mem-results-note").textContent = n
      ? `${n} ${n === 1 ? "memory" : "memories"} in ${body.took_ms.toFixed(2)} ms (${body.mode}).`
      : agentSel.value ? `${agentSel.value} remembers nothing about this yet.` : "Nothing matches.";
    stats.searches++;
    stats.results = body.results.length;
  } catch (err) {
    showError(err.message);
  }
}

// The open timeline: its agent, the memories shown (newest first) and the
// id the next older page starts before.
let timelineAgent = "", timelineBefore = 0, timeline = [];

async function openTimeline(agent, more) {
  if (!more) { timelineAgent = agent; timelineBefore = 0; timeline = []; }
  const params = new URLSearchParams({ limit: "30" });
  if (timelineBefore) params.set("before", String(timelineBefore));
  try {
    const body = await get(`/api/memory/agents/${encodeURIComponent(agent)}?${params}`);
    if (agent !== timelineAgent) return; // another agent was opened meanwhile
    showError("");
    const panel = $("mem-timeline"), list = $("mem-timeline-list");
    panel.hidden = false;
    $("mem-timeline-title").textContent = `${agent}: timeline`;
    const items = body.memories.map((m) => memoryItem(m));
    if (more) list.append(...items); else list.replaceChildren(...items);
    timeline = more ? timeline.concat(body.memories) : body.memories.slice();
    timelineBefore = body.next_before || 0;
    $("mem-more").hidden = !timelineBefore;
    timelineNote();
    drawStrip();
    stats.timelines++;
  } catch (err) {
    showError(err.message);
  }
}

function timelineNote() {
  $("mem-timeline-note").textContent = timeline.length
    ? `${count(timeline.length)} ${timeline.length === 1 ? "memory" : "memories"} shown, newest first; new ones arrive live.`
    : `${timelineAgent} has no memories yet; they arrive here live as it trades.`;
}

// drawStrip draws the shown stream over simulated time: one dot per
// memory, higher for more important, coloured by kind.
function drawStrip() {
  const svg = $("mem-strip");
  const w = Math.max(300, svg.clientWidth || 1000), h = 90, pad = 8;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.replaceChildren();
  if (!timeline.length) return;
  const ts = timeline.map((m) => Date.parse(m.sim_time));
  const lo = Math.min(...ts), hi = Math.max(...ts), span = Math.max(hi - lo, 1);
  const axis = document.createElementNS(SVG, "line");
  Object.entries({ x1: pad, x2: w - pad, y1: h - 14, y2: h - 14, stroke: "#2b3548" }).forEach(([k, v]) => axis.setAttribute(k, v));
  svg.append(axis);
  for (const [x, label] of [[pad, simTime(lo)], [w - pad, simTime(hi)]]) {
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", x);
    t.setAttribute("y", h - 2);
    t.setAttribute("text-anchor", x === pad ? "start" : "end");
    t.textContent = label;
    svg.append(t);
  }
  timeline.forEach((m, i) => {
    const c = document.createElementNS(SVG, "circle");
    c.setAttribute("cx", pad + ((ts[i] - lo) / span) * (w - 2 * pad));
    c.setAttribute("cy", h - 20 - m.importance * (h - 32));
    c.setAttribute("r", m.kind === "reflection" ? 5 : 3.5);
    c.dataset.kind = m.kind;
    c.dataset.id = m.id;
    const title = document.createElementNS(SVG, "title");
    title.textContent = `#${m.id} ${m.kind}, ${simTime(m.sim_time)}, importance ${m.importance.toFixed(2)}: ${m.text}`;
    c.append(title);
    c.addEventListener("click", () => openDetail(m.id));
    svg.append(c);
  });
}

// liveMemories adds memories just written to the open timeline (and the
// agent list when a new agent appears).
function liveMemories(ms) {
  let newAgent = false;
  for (const m of ms) {
    if (![...agentSel.options].some((o) => o.value === m.agent)) newAgent = true;
    if (m.agent !== timelineAgent) continue;
    const li = memoryItem(m);
    li.classList.add("fresh");
    $("mem-timeline-list").prepend(li);
    timeline.unshift(m);
    stats.live++;
  }
  if (ms.some((m) => m.agent === timelineAgent)) {
    while (timeline.length > 300) { timeline.pop(); $("mem-timeline-list").lastChild.remove(); timelineBefore = timeline[timeline.length - 1].id; $("mem-more").hidden = false; }
    timelineNote();
    drawStrip();
  }
  if (newAgent) loadAgents();
}

// openDetail shows one memory with its evidence resolved: the memories a
// reflection summarises or a merge gathered, and the rounds, trades and
// files it points at.
async function openDetail(id) {
  try {
    const d = await get(`/api/memory/${id}`);
    showError("");
    const m = d.memory;
    $("mem-detail").hidden = false;
    $("mem-detail-title").textContent = `${m.agent}: ${m.kind} #${m.id}`;
    const body = $("mem-detail-body");
    body.replaceChildren(el("ol", "mem-list", memoryItem(m)));
    const facts = el("p", "sub",
      `source ${m.source || "–"} · topic ${m.topic || "–"}${m.stance ? " · stance " + m.stance : ""} · importance ${m.importance.toFixed(2)}` +
      `${m.value ? " · value " + m.value : ""} · stands for ${m.count} · vectors ${m.vec_version}`);
    body.append(facts);
    for (const [label, other] of [["merged into", d.merged_into], ["superseded by", d.superseded_by]]) {
      if (!other) continue;
      const p = el("p", "sub", `${label} `);
      const a = el("a", null, `#${other.id}`);
      a.href = "#";
      a.addEventListener("click", (ev) => { ev.preventDefault(); openDetail(other.id); });
      p.append(a, document.createTextNode(`: ${other.text}`));
      body.append(p);
    }
    const list = $("mem-evidence");
    list.replaceChildren();
    let other = 0;
    for (const e of d.evidence) {
      if (e.memory) { list.append(memoryItem(e.memory)); continue; }
      const li = el("li", "mem-item mem-link", `${e.kind} ${e.ref}`);
      li.dataset.kind = "link";
      list.append(li);
      other++;
    }
    $("mem-evidence-note").textContent = d.evidence.length
      ? `${d.evidence.length} links${other ? `, ${other} to rounds, trades or files` : ""}.`
      : "It rests on no other memory.";
    document.querySelectorAll(".mem-item.selected").forEach((x) => x.classList.remove("selected"));
    document.querySelectorAll(`.mem-item[data-id="${m.id}"]`).forEach((x) => x.classList.add("selected"));
    $("mem-detail").scrollIntoView({ block: "nearest" });
    stats.details++;
  } catch (err) {
    showError(err.message);
  }
}

async function loadAgents() {
  try {
    const body = await get("/api/memory/agents");
    const keep = agentSel.value;
    agentSel.replaceChildren(el("option", null, "every agent"));
    agentSel.firstChild.value = "";
    const ul = $("mem-agents");
    ul.replaceChildren();
    for (const a of body.agents) {
      const o = el("option", null, a.agent);
      o.value = a.agent;
      agentSel.append(o);
      const li = el("li");
      const b = el("button", "mem-agent-button", a.agent);
      b.type = "button";
      b.dataset.agent = a.agent;
      b.addEventListener("click", () => openTimeline(a.agent));
      li.append(b, el("span", "sub", a.memories ? ` ${count(a.memories)} ${a.memories === 1 ? "memory" : "memories"}, latest ${simTime(a.latest)}` : " no memories yet"));
      ul.append(li);
    }
    agentSel.value = keep;
  } catch (err) {
    showError(err.message);
  }
}

async function note(ev) {
  ev.preventDefault();
  const agent = $("mem-note-agent").value, text = $("mem-note-text").value;
  try {
    const m = await api("POST", "/api/memory", { agent, text });
    showError("");
    $("mem-note-status").textContent = `Remembered as #${m.id}.`;
    $("mem-note-text").value = "";
    stats.notes++;
    stats.lastNote = m.id;
    await loadAgents();
  } catch (err) {
    $("mem-note-status").textContent = "";
    showError(err.message);
  }
}

function showStats(s) {
  $("mem-count").textContent = count(s.memories);
  $("mem-active").textContent = count(s.active);
  $("mem-agents-count").textContent = count(s.agents);
  $("mem-searches").textContent = count(s.searches);
}

function showPass(r) {
  const li = el("li", "mem-pass",
    `${new Date(r.at).toLocaleTimeString("en-GB")}: ${count(r.examined)} examined, ${r.merged} merged, ` +
    `${r.superseded} superseded, ${r.reflections} reflections, ${r.forgotten} forgotten in ${(r.took_ns / 1e6).toFixed(0)} ms`);
  const list = $("mem-passes");
  list.prepend(li);
  while (list.children.length > 8) list.lastChild.remove();
  $("mem-passes-note").hidden = true;
  stats.passes++;
  $("mem-cons-status").textContent = "";
  $("mem-consolidate").disabled = false;
  if (timelineAgent && (r.merged || r.reflections || r.superseded || r.forgotten)) openTimeline(timelineAgent);
}

async function consolidate() {
  $("mem-consolidate").disabled = true;
  try {
    await api("POST", "/api/memory/consolidation");
    showError("");
    $("mem-cons-status").textContent = "A pass is running…";
  } catch (err) {
    $("mem-consolidate").disabled = false;
    showError(err.message);
  }
}

form.addEventListener("submit", search);
$("mem-note").addEventListener("submit", note);
$("mem-more").addEventListener("click", () => openTimeline(timelineAgent, true));
$("mem-consolidate").addEventListener("click", consolidate);
live.subscribe("memory.state", showStats);
live.subscribe("memory.consolidation", showPass);
live.subscribe("memory.memories", liveMemories);
addEventListener("resize", () => { if (timeline.length) drawStrip(); });

const url = new URLSearchParams(location.search);
get("/api/memory/stats").then((s) => {
  showStats(s);
  if (s.last_consolidation && s.last_consolidation.examined) showPass(s.last_consolidation);
}).catch((err) => showError(err.message));
get("/api/memory/consolidation").then((cs) => {
  if (cs.running || cs.requested) {
    $("mem-cons-status").textContent = "A pass is running…";
    $("mem-consolidate").disabled = true;
  }
}).catch((err) => showError(err.message));
loadAgents().then(() => {
  const agent = url.get("agent");
  if (agent) {
    if (![...agentSel.options].some((o) => o.value === agent)) {
      const o = el("option", null, agent);
      o.value = agent;
      agentSel.append(o);
    }
    agentSel.value = agent;
    $("mem-note-agent").value = agent;
    openTimeline(agent);
  }
  if (url.get("q")) { q.value = url.get("q"); search(); }
});
