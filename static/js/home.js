// home.js: keeps the home page's figures live from system.state and
// system.events.
import { live, everySecond, serverNow } from "./live.js";
import { $, setText as set, get, bytes, count, rate, duration, clock } from "./page.js";
import { Spark } from "./spark.js";


const sparks = {
  bus: new Spark($("spark-bus"), { color: "#7cf2c5" }),
  frames: new Spark($("spark-frames"), { color: "#6aa8ff" }),
  heap: new Spark($("spark-heap"), { color: "#b694ff" }),
  goroutines: new Spark($("spark-goroutines"), { color: "#ffc46a" }),
};

// Tests read this to see that figures are live, not printed once.
window.metastationHome = { updates: 0, last: null };

let startedAt = null;
everySecond((now) => { if (startedAt != null && live.state === "live") set("uptime", duration((now - startedAt) / 1000)); });

live.subscribe("system.state", (s) => {
  window.metastationHome.updates++;
  window.metastationHome.last = s;
  set("seed", s.seed);
  // Uptime ticks each second from the server's clock, between messages too.
  startedAt = serverNow() - s.uptime_s * 1000;
  set("uptime", duration(s.uptime_s));
  set("fig-bus", rate(s.bus_per_s));
  set("fig-bus-total", count(s.bus.published));
  set("fig-bus-dropped", count(s.bus.dropped));
  set("fig-clients", count(s.hub.clients));
  set("fig-frames", rate(s.frames_per_s));
  set("fig-slow", count(s.hub.slow_kicked));
  set("fig-heap", bytes(s.heap_bytes));
  set("fig-sys", bytes(s.sys_bytes));
  set("fig-gc", count(s.num_gc));
  set("fig-goroutines", count(s.goroutines));
  set("fig-writes", rate(s.writes_per_s));
  set("fig-committed", count(s.writer.committed));
  sparks.bus.push(s.bus_per_s);
  sparks.frames.push(s.frames_per_s);
  sparks.heap.push(s.heap_bytes);
  sparks.goroutines.push(s.goroutines);
  renderServices(s.services);
});

// Draw the last two minutes from the database at once, so the charts are
// never empty when the page opens.
get("/api/system/history?seconds=120")
  .then((rows) => {
    rows = rows || [];
    if (window.metastationHome.updates > 0) return; // live data got here first
    rows.forEach((x, i) => {
      const prev = rows[i - 1];
      if (prev) sparks.bus.values.push((x.bus_published - prev.bus_published) / Math.max(0.001, (x.ts_ms - prev.ts_ms) / 1000));
      sparks.heap.values.push(x.heap_bytes);
      sparks.goroutines.values.push(x.goroutines);
    });
    Object.values(sparks).forEach((s) => { s.values.splice(0, Math.max(0, s.values.length - s.max)); s.draw(); });
  })
  .catch(() => {});

function renderServices(services) {
  const body = $("services").tBodies[0];
  body.replaceChildren(...services.map((svc) => {
    const tr = document.createElement("tr");
    tr.dataset.service = svc.name;
    tr.dataset.state = svc.state;
    const cells = [svc.name, svc.state, String(svc.restarts), svc.last_error || ""];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 1) {
        const pill = document.createElement("span");
        pill.className = "pill";
        pill.dataset.state = svc.state;
        pill.textContent = text;
        td.append(pill);
      } else td.textContent = text;
      tr.append(td);
    });
    return tr;
  }));
}

function addEvent(e, prepend = true) {
  const li = document.createElement("li");
  const t = document.createElement("time");
  t.textContent = clock(e.time ?? e.ts_ms);
  const p = e.payload || {};
  const text = document.createElement("span");
  text.textContent = `${p.service ?? e.topic}: ${p.state ?? e.kind}` +
    (p.restarts ? ` (restart ${p.restarts})` : "") + (p.last_error && p.state !== "running" ? ` — ${p.last_error}` : "");
  li.dataset.state = p.state || "";
  li.append(t, text);
  const list = $("events");
  prepend ? list.prepend(li) : list.append(li);
  while (list.children.length > 50) list.lastChild.remove();
}

get("/api/events")
  .then((rows) => (rows || []).forEach((row) => addEvent(row, false)))
  .catch(() => {});

live.subscribe("system.events", (_p, env) => addEvent(env));

// The live line under each tile of the tour.
live.subscribe("market.state", (m) => {
  const q = (m.quotes || [])[0];
  const speed = m.speed === 0 ? "max" : `${m.speed}×`;
  set("live-market", `${String(m.regime).replace("_", " ")} · ${q ? q.symbol + " " + q.last.toLocaleString("en-US", { maximumFractionDigits: 2 }) : ""} · ${speed}`);
});
// Learning: the run training now, single- or multi-agent; at rest, what
// the page offers.
const training = { rl: [], marl: [] };
function setLearning() {
  const rl = training.rl.find((r) => r.status === "running");
  const ma = training.marl.find((r) => r.status === "running" || r.status === "evaluating");
  let text = "PPO · SAC · QMIX · MADDPG";
  if (rl) text = `training ${rl.spec.algo.toUpperCase()} on ${rl.spec.env} · ${count(rl.steps)}/${count(rl.total)} steps`;
  else if (ma) text = `training ${ma.spec.algo.toUpperCase()} on ${ma.spec.env} · ${count(ma.episodes)}/${count(ma.total)} episodes` +
    (ma.stage?.name ? ` · ${ma.stage.name.replace("_", " ")}` : "");
  set("live-learning", text);
}
live.subscribe("rl.progress", (runs) => { training.rl = runs || []; setLearning(); });
live.subscribe("marl.progress", (runs) => { training.marl = runs || []; setLearning(); });
// Data: the job generating now.
live.subscribe("synth.progress", (j) => {
  set("live-data", j.state === "running"
    ? `generating ${j.spec.label || j.spec.kind} · ${count(j.rows)}/${count(j.spec.rows)} rows`
    : "synthetic");
});
live.subscribe("tournament.state", (t) => {
  const lead = (t.leaderboard || []).find((e) => e.rank === 1);
  set("live-tournament", `season ${t.season}, round ${t.round} · ${t.phase}` + (lead ? ` · leading: ${lead.name}` : ""));
  const traders = (t.leaderboard || []).length;
  set("live-floor", traders ? `${traders} traders at their desks · ${String(t.regime || "").replace("_", " ")} · ${t.clock || ""}` : "WebGL");
});
// Dashboard and network: what they would show now, asked now and then.
function askTiles() {
  get("/api/analytics/series").then((s) => set("live-dashboard", `${count((s || []).length)} series live`)).catch(() => {});
  get("/api/analytics/network").then((n) => set("live-network",
    `${count((n.nodes || []).length)} agents · ${count((n.links || n.edges || []).length)} links in the last ${n.window_s || 10} s`)).catch(() => {});
}
askTiles();
setInterval(() => { if (!document.hidden) askTiles(); }, 15000);
// Data at rest: what has been made.
get("/api/synth/jobs").then((jobs) => {
  const done = (jobs || []).filter((j) => j.state === "done").length;
  const el = $("live-data");
  if (el && !el.textContent.startsWith("generating")) el.textContent = done ? `${done} data set${done === 1 ? "" : "s"} made · synthetic` : "synthetic";
}).catch(() => {});
