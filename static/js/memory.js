// memory.js: the Memory page. It searches /api/memory/search and shows each
// result with its scores, lists the agents and their timelines, posts
// notes, and shows consolidation live from memory.state and
// memory.consolidation. It computes no score itself: every number is the
// server's.
import { live } from "./live.js";
import { $, el, get, api, count } from "./page.js";

const form = $("mem-search"), q = $("mem-q"), agentSel = $("mem-agent"), kindSel = $("mem-kind"), modeSel = $("mem-mode");
const stats = { searches: 0, results: 0, timelines: 0, notes: 0, passes: 0, errors: 0 };
window.metastationMemory = stats;

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

// memoryItem draws one memory; why, when given, is its search explanation.
function memoryItem(m, why, score) {
  const li = el("li", "mem-item");
  li.dataset.id = m.id;
  li.dataset.kind = m.kind;
  const head = el("div", "mem-item-head");
  const who = el("a", "mem-agent-link", m.agent);
  who.href = `/memory?agent=${encodeURIComponent(m.agent)}`;
  who.addEventListener("click", (ev) => { ev.preventDefault(); openTimeline(m.agent); });
  head.append(el("span", "pill mem-kind", m.kind), who, el("time", "mem-time", simTime(m.sim_time)));
  if (m.count > 1) head.append(el("span", "pill", `×${m.count}`));
  if (m.superseded_by) head.append(el("span", "pill mem-superseded", `superseded by #${m.superseded_by}`));
  if (m.status !== "active") head.append(el("span", "pill", m.status));
  if (m.pinned) head.append(el("span", "pill", "pinned"));
  li.append(head, el("p", "mem-text", m.text));
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
      s.append(el("b", null, k), document.createTextNode(" " + v));
      w.append(s);
    }
    li.append(w);
  }
  return li;
}

async function search(ev) {
  ev?.preventDefault();
  const params = new URLSearchParams({ q: q.value, mode: modeSel.value });
  if (agentSel.value) params.set("agent", agentSel.value);
  if (kindSel.value) params.set("kind", kindSel.value);
  history.replaceState(null, "", `/memory?${new URLSearchParams({ q: q.value, ...(agentSel.value ? { agent: agentSel.value } : {}) })}`);
  try {
    const body = await get(`/api/memory/search?${params}`);
    showError("");
    const list = $("mem-results");
    list.replaceChildren(...body.results.map((r) => memoryItem(r.memory, r.why, r.score)));
    const who = agentSel.value ? `${agentSel.value} remembers` : "remembered";
    $("mem-results-title").textContent = `What is ${who} about “${q.value}”`;
    $("mem-results-note").textContent = body.results.length
      ? `${body.results.length} memories in ${body.took_ms.toFixed(1)} ms (${body.mode}).`
      : "Nothing matches.";
    stats.searches++;
    stats.results = body.results.length;
  } catch (err) {
    showError(err.message);
  }
}

let timelineAgent = "", timelineBefore = 0;

async function openTimeline(agent, more) {
  if (!more) { timelineAgent = agent; timelineBefore = 0; }
  const params = new URLSearchParams({ limit: "30" });
  if (timelineBefore) params.set("before", String(timelineBefore));
  try {
    const body = await get(`/api/memory/agents/${encodeURIComponent(agent)}?${params}`);
    showError("");
    const panel = $("mem-timeline"), list = $("mem-timeline-list");
    panel.hidden = false;
    $("mem-timeline-title").textContent = `${agent}: timeline`;
    const items = body.memories.map((m) => memoryItem(m));
    if (more) list.append(...items); else list.replaceChildren(...items);
    timelineBefore = body.next_before || 0;
    $("mem-more").hidden = !timelineBefore;
    stats.timelines++;
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
      li.append(b, el("span", "sub", ` ${count(a.memories)} memories, latest ${simTime(a.latest)}`));
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
    await loadAgents();
  } catch (err) {
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
}

form.addEventListener("submit", search);
$("mem-note").addEventListener("submit", note);
$("mem-more").addEventListener("click", () => openTimeline(timelineAgent, true));
live.subscribe("memory.state", showStats);
live.subscribe("memory.consolidation", showPass);

const url = new URLSearchParams(location.search);
get("/api/memory/stats").then((s) => {
  showStats(s);
  if (s.last_consolidation && s.last_consolidation.examined) showPass(s.last_consolidation);
}).catch((err) => showError(err.message));
loadAgents().then(() => {
  const agent = url.get("agent");
  if (agent) {
    agentSel.value = agent;
    $("mem-note-agent").value = agent;
    openTimeline(agent);
  }
  if (url.get("q")) { q.value = url.get("q"); search(); }
});
