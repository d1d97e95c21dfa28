// supply.js: the supply-chain crisis room. It draws the network as an SVG
// scene (nodes with their stock against the twin's and what they owe,
// lanes with their lead times and crises, shipments moving along them),
// the six agents and their latest messages, the narration of each
// decision, the KPIs of the run beside its no-disruption twin as tiles and
// uPlot charts (crisis periods shaded), the crisis form, and the many-seed
// comparison with its confidence intervals. It loads GET /api/supply/state
// and stays live from supply.state (one snapshot per period),
// supply.agents (each message, to light up its sender) and
// supply.progress (the running comparison).
//
// Tests read window.metastationSupply: the period, the run's and the
// twin's cost, whether they diverged, the crises, the shipments drawn, the
// messages shown, the comparisons and the last error.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { live } from "./live.js";
import { api, count, num } from "./page.js";
import { onFrame } from "./runs.js";

const el = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const W = 1000, PAD = 70;
let H = 460;
const ROLE_COLOR = {
  supplier: "#ffc46a", manufacturer: "#b694ff", logistics: "#6aa8ff",
  distributor: "#5ee0ff", retailer: "#7cf2c5", coordinator: "#ff8fab",
};
const KIND_TEXT = {
  port_closure: "port closure", demand_spike: "demand spike",
  supplier_failure: "supplier failure", logistics_loss: "logistics capacity loss",
};

const state = {
  st: null, // the latest RoomState
  at: 0, // performance.now() when it came
  room: 0, // the room the scene was built for
  shipments: [], // {edge, qty, born, arrive}: drawn moving along their lane
  error: "",
  frames: 0,
  choicesFor: "", // preset the form's choices were filled for
  progress: null,
};
const hooks = {
  get t() { return state.st?.t ?? -1; },
  get room() { return state.st?.room ?? 0; },
  get preset() { return state.st?.preset ?? ""; },
  get cost() { return state.st?.kpis?.total_cost ?? 0; },
  get twinCost() { return state.st?.twin?.total_cost ?? 0; },
  get fill() { return state.st?.kpis?.fill_rate ?? 0; },
  get twinFill() { return state.st?.twin?.fill_rate ?? 0; },
  // diverged: the run's cost or unmet demand has left its twin's.
  get diverged() {
    const k = state.st?.kpis, w = state.st?.twin;
    return !!k && !!w && (Math.abs(k.total_cost - w.total_cost) > 1e-6 || Math.abs(k.unmet - w.unmet) > 1e-6);
  },
  get crises() { return (state.st?.crises || []).map((c) => ({ id: c.id, kind: c.kind, start: c.start, end: c.end, active: c.active, kpi: c.kpi || null })); },
  get shipments() { return state.shipments.length; },
  get messages() { return document.querySelectorAll("#sc-messages li").length; },
  get narration() { return document.querySelectorAll("#sc-narration li").length; },
  get agents() { return document.querySelectorAll("#sc-agents li").length; },
  get results() { return (state.st?.results || []).map((r) => r.scenario.name); },
  get comparing() { return !!state.progress?.running; },
  get error() { return state.error; },
  get frames() { return state.frames; },
};
window.metastationSupply = hooks;

function showError(msg) {
  state.error = msg || "";
  el("sc-error").textContent = state.error;
  el("sc-error").hidden = !state.error;
}

function svg(tag, attrs = {}, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.append(e);
  return e;
}

function text(parent, x, y, s, cls) {
  const t = svg("text", { x, y, class: cls || "" }, parent);
  t.textContent = s;
  return t;
}

// ---- The network scene ----

// fit maps the presets' node places ([0, 1]²) onto the drawing, using its
// whole width (less room for the market on the right) and a height that
// suits how many rows the network has.
let fit = { x0: 0, x1: 1, y0: 0, y1: 1 };
function fitTo(nodes) {
  const xs = nodes.map((n) => n.x), ys = nodes.map((n) => n.y);
  fit = { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  H = fit.y1 - fit.y0 < 0.05 ? 220 : 470;
}
const pos = (n) => ({
  x: PAD + ((n.x - fit.x0) / (fit.x1 - fit.x0 || 1)) * (W - 2 * PAD - 100),
  y: fit.y1 - fit.y0 < 0.05 ? H / 2 : 70 + ((n.y - fit.y0) / (fit.y1 - fit.y0)) * (H - 140),
});

// scene holds the SVG elements built once per room and updated per state.
let scene = null;

function buildScene(st) {
  const root = el("sc-net");
  fitTo(st.nodes);
  root.setAttribute("viewBox", `0 0 ${W} ${H}`);
  root.replaceChildren();
  const defs = svg("defs", {}, root);
  const m = svg("marker", { id: "sc-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, defs);
  svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#3a4460" }, m);
  const byId = new Map(st.nodes.map((n) => [n.id, n]));
  const lanes = svg("g", { class: "sc-lanes" }, root);
  const ships = svg("g", { class: "sc-ships" }, root);
  const nodesG = svg("g", { class: "sc-nodes" }, root);
  // Lanes between the same two columns bend apart so both stay visible.
  const edges = st.edges.map((e, i) => {
    const a = pos(byId.get(e.from)), b = pos(byId.get(e.to));
    const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
    const bend = 18 * (i % 2 ? 1 : -1) * (Math.abs(dy) < 1 ? 1 : 0.3);
    const c = { x: mx - (dy / len) * bend, y: my + (dx / len) * bend };
    // Shorten the ends so arrows stop at the node boxes.
    const from = byId.get(e.from).kind === "source" ? 30 : 66;
    const a2 = { x: a.x + (dx / len) * from, y: a.y + (dy / len) * 36 };
    const b2 = { x: b.x - (dx / len) * 70, y: b.y - (dy / len) * 38 };
    const g = svg("g", { class: "sc-lane", "data-lane": e.lane }, lanes);
    const path = svg("path", { d: `M${a2.x},${a2.y} Q${c.x},${c.y} ${b2.x},${b2.y}`, class: "sc-lane-path", "marker-end": "url(#sc-arrow)" }, g);
    // Short lanes (between neighbours) get a short label and no second line.
    const short = Math.hypot(b2.x - a2.x, b2.y - a2.y) < 160;
    const label = text(g, c.x, c.y - 8, "", "sc-lane-label");
    const order = short ? null : text(g, c.x, c.y + 16, "", "sc-lane-order");
    return { e, a: a2, b: b2, c, g, path, label, order, short };
  });
  const nodes = st.nodes.map((n) => {
    const p = pos(n);
    const g = svg("g", { class: `sc-node ${n.kind}`, "data-node": n.id, transform: `translate(${p.x},${p.y})` }, nodesG);
    const color = ROLE_COLOR[n.role] || "#8a93a8";
    if (n.kind === "source") {
      svg("circle", { r: 26, class: "sc-src", stroke: color }, g);
      text(g, 0, 4, "∞", "sc-src-mark");
      text(g, 0, 44, n.name, "sc-node-name");
      const open = text(g, 0, 58, "", "sc-node-open sc-src-open");
      return { n, g, open };
    }
    svg("rect", { x: -64, y: -34, width: 128, height: 68, rx: 10, class: "sc-box", stroke: color }, g);
    text(g, 0, -42, n.name, "sc-node-name");
    // Stock bar (run) with the twin's level as a tick, and the backlog bar.
    svg("rect", { x: -56, y: -24, width: 12, height: 48, class: "sc-bar-bg" }, g);
    const bar = svg("rect", { x: -56, y: 24, width: 12, height: 0, class: "sc-bar" }, g);
    const twin = svg("line", { x1: -60, x2: -40, y1: 24, y2: 24, class: "sc-twin" }, g);
    svg("rect", { x: -38, y: -24, width: 7, height: 48, class: "sc-bar-bg" }, g);
    const owed = svg("rect", { x: -38, y: 24, width: 7, height: 0, class: "sc-owed" }, g);
    const stock = text(g, -24, -8, "", "sc-node-stock");
    const sub = text(g, -24, 8, "", "sc-node-sub");
    const open = text(g, -24, 23, "", "sc-node-open");
    const bw = text(g, 0, 48, "", "sc-node-bw");
    return { n, g, bar, twin, owed, stock, sub, open, bw };
  });
  // Markets hang off their retail node on the right.
  const markets = [];
  for (const id of st.choices.markets || []) {
    const r = st.nodes.find((n) => n.role === "retailer") || st.nodes[0];
    const p = pos(r);
    const x = Math.min(W - 30, p.x + 110), y = p.y;
    svg("line", { x1: p.x + 66, y1: p.y, x2: x - 18, y2: y, class: "sc-lane-path", "marker-end": "url(#sc-arrow)" }, lanes);
    const g = svg("g", { class: "sc-market", transform: `translate(${x},${y})` }, nodesG);
    svg("path", { d: "M-12,8 a12,12 0 0 1 24,0 z M0,-10 m-6,0 a6,6 0 1 0 12,0 a6,6 0 1 0 -12,0", class: "sc-customer" }, g);
    const d = text(g, 0, 24, "", "sc-market-demand");
    markets.push({ id, g, d });
  }
  scene = { edges, nodes, markets, ships, dots: [] };
  state.room = st.room;
  state.shipments = [];
  seedShipments(st);
}

// seedShipments spreads what is in transit on each lane evenly over its
// lead time, for a room seen for the first time mid-run.
function seedShipments(st) {
  st.edges.forEach((e, i) => {
    if (e.in_transit <= 0 || e.lead_now <= 0) return;
    const lead = e.lead_now;
    for (let k = 0; k < lead; k++) {
      state.shipments.push({ edge: i, qty: e.in_transit / lead, born: st.t - k, arrive: st.t - k + lead });
    }
  });
}

// addShipments adds last period's shipments and drops those arrived. A
// shipment sent in the period just played (seen at state t) is in its
// buyer's stock at state t + lead: it glides from u = 0 to u = 1 meanwhile.
function addShipments(st, prevT) {
  if (st.t <= prevT) return;
  st.edges.forEach((e, i) => {
    if (e.shipped > 0 && e.lead_now > 0) state.shipments.push({ edge: i, qty: e.shipped, born: st.t, arrive: st.t + e.lead_now });
  });
  state.shipments = state.shipments.filter((s) => s.arrive > st.t);
  if (state.shipments.length > 600) state.shipments.splice(0, state.shipments.length - 600);
}

function quad(a, c, b, u) {
  const v = 1 - u;
  return { x: v * v * a.x + 2 * v * u * c.x + u * u * b.x, y: v * v * a.y + 2 * v * u * c.y + u * u * b.y };
}

// The scene's time in periods, between snapshots: shipments glide.
function sceneTime() {
  const st = state.st;
  if (!st) return 0;
  if (st.paused || st.finished) return st.t;
  return st.t + Math.min(1, (performance.now() - state.at) / Math.max(50, st.tick_ms));
}

function drawShipments() {
  if (!scene || !state.st) return;
  const now = sceneTime();
  const flow = Math.max(1, ...state.st.edges.map((e) => e.shipped || 0));
  while (scene.dots.length < state.shipments.length) scene.dots.push(svg("circle", { class: "sc-ship", r: 3 }, scene.ships));
  scene.dots.forEach((d, i) => {
    const s = state.shipments[i];
    if (!s) { d.setAttribute("visibility", "hidden"); return; }
    const ed = scene.edges[s.edge];
    const u = Math.min(1, Math.max(0, (now - s.born) / Math.max(1, s.arrive - s.born)));
    const p = quad(ed.a, ed.c, ed.b, u);
    d.setAttribute("visibility", "visible");
    d.setAttribute("cx", p.x.toFixed(1));
    d.setAttribute("cy", p.y.toFixed(1));
    d.setAttribute("r", (2 + 6 * Math.sqrt(Math.min(1, s.qty / flow))).toFixed(1));
  });
}

function animate() {
  drawShipments();
  state.frames++;
  requestAnimationFrame(animate);
}

function updateScene(st) {
  if (!scene || state.room !== st.room) buildScene(st);
  const bullwhipOf = new Map((st.kpis.bullwhip || []).map((b) => [b.node, b.ratio]));
  let top = 1;
  for (const n of st.nodes) top = Math.max(top, n.stock, n.twin_stock, n.init, n.owed);
  st.nodes.forEach((n, i) => {
    const v = scene.nodes[i];
    v.g.classList.toggle("hit", n.disrupted || n.open < 1);
    if (n.kind === "source") {
      v.open.textContent = n.open < 1 ? `${Math.round(100 * n.open)} % capacity` : "";
      return;
    }
    const h = (x) => Math.max(0, Math.min(48, (48 * x) / top));
    v.bar.setAttribute("y", 24 - h(n.stock));
    v.bar.setAttribute("height", h(n.stock));
    v.twin.setAttribute("y1", 24 - h(n.twin_stock));
    v.twin.setAttribute("y2", 24 - h(n.twin_stock));
    v.owed.setAttribute("y", 24 - h(n.owed));
    v.owed.setAttribute("height", h(n.owed));
    v.stock.textContent = `${num(n.stock, 0)} in stock`;
    v.sub.textContent = n.owed > 0.5 ? `owes ${num(n.owed, 0)}` : `twin ${num(n.twin_stock, 0)}`;
    v.sub.classList.toggle("bad", n.owed > 0.5);
    const bw = bullwhipOf.get(n.id);
    v.open.textContent = n.kind === "factory" && n.open < 1 ? `${Math.round(100 * n.open)} % capacity` : `on order ${num(n.on_order, 0)}`;
    v.bw.textContent = bw != null ? `bullwhip ${num(bw, 2)}` : "";
  });
  st.edges.forEach((e, i) => {
    const v = scene.edges[i];
    const hit = e.open < 1 || e.lead_now > e.lead;
    v.g.classList.toggle("hit", hit);
    v.g.classList.toggle("closed", e.open <= 0);
    v.g.classList.toggle("rerouted", e.rerouted);
    const lead = e.lead_now > e.lead ? `${e.lead}+${e.lead_now - e.lead}` : `${e.lead}`;
    const cap = e.open < 1 ? ` · ${Math.round(100 * e.open)} %` : "";
    v.label.textContent = v.short ? `${lead}p${cap}` : `${e.lane || ""} ${lead}p${cap}${e.rerouted ? " · rerouted" : ""}`;
    if (v.order) v.order.textContent = `ships ${num(e.shipped, 0)} · ${num(e.in_transit, 0)} en route`;
    v.g.querySelector("title")?.remove();
    svg("title", {}, v.g).textContent = `${e.lane}: ${e.from} → ${e.to}, lead ${lead} periods, ${Math.round(100 * e.open)} % open, shipped ${num(e.shipped, 0)}, ${num(e.in_transit, 0)} in transit`;
  });
  const last = st.series.demand.length ? st.series.demand[st.series.demand.length - 1] : 0;
  for (const m of scene.markets) m.d.textContent = `demand ${num(last, 0)}`;
}

// ---- Panels ----

function renderHead(st) {
  el("sc-title").textContent = `${st.title} · seed ${st.seed} · room ${st.room}`;
  el("sc-t").textContent = `${st.t} / ${st.periods}`;
  el("sc-t-bar").style.width = `${(100 * st.t) / Math.max(1, st.periods)}%`;
  const co = st.strategy.coordinated ? "coordinated" : "uncoordinated";
  el("sc-status").textContent = st.finished ? `finished · ${co}${st.next_in ? ` · the next seed starts in ${Math.ceil(st.next_in)} s` : ""}` : st.paused ? `paused · ${co}` : `running, ${st.tick_ms} ms a period · ${co}${st.random ? ` · random crises ${Math.round(100 * st.random)} %/period` : ""}`;
  el("sc-pause").textContent = st.paused ? "Resume" : "Pause";
  el("sc-pause").disabled = st.finished;
}

function fillSelect(sel, values, labels) {
  const cur = sel.value;
  sel.replaceChildren();
  values.forEach((v, i) => {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = labels ? labels[i] : v;
    sel.append(o);
  });
  if (values.includes(cur)) sel.value = cur;
}

function renderChoices(st) {
  const key = `${st.room}`;
  if (state.choicesFor === key) return;
  const first = !state.choicesFor;
  state.choicesFor = key;
  const ch = st.choices;
  fillSelect(el("sc-preset"), ch.presets);
  el("sc-preset").value = st.preset;
  for (const sel of document.querySelectorAll(".sc-policy")) {
    fillSelect(sel, ch.policies);
    sel.value = st.strategy.policies?.[sel.name] || "basestock";
  }
  el("sc-coordinated").checked = st.strategy.coordinated;
  el("sc-random").value = st.random;
  if (first) el("sc-seed").value = st.seed;
  fillSelect(el("sc-lane"), ch.lanes);
  fillSelect(el("sc-node"), ch.failable);
  const mk = el("sc-market");
  fillSelect(mk, ["", ...ch.markets], ["every market", ...ch.markets]);
  const sc = el("sc-scenario");
  if (!sc.options.length) fillSelect(sc, ch.scenarios.map((s) => s.name), ch.scenarios.map((s) => `${s.name}: ${s.title}`));
  renderQuick(ch);
  showKindFields();
}

// Quick crises: one click each, 10 periods from now.
function renderQuick(ch) {
  const box = el("sc-quick");
  box.replaceChildren();
  const quick = [];
  const lane = ch.lanes.includes("pacific") ? "pacific" : ch.lanes[0];
  if (lane) quick.push({ label: `Close ${lane}`, body: { kind: "port_closure", lane, duration: 10, lead: 3, capacity: 0 } });
  quick.push({ label: "Demand ×2", body: { kind: "demand_spike", duration: 8, factor: 2 } });
  const fac = ch.failable.find((id) => /factory|^[456]$/.test(id)) || ch.failable[0];
  if (fac) quick.push({ label: `${fac} fails`, body: { kind: "supplier_failure", node: fac, duration: 10, capacity: 0 } });
  quick.push({ label: "Logistics −50 %", body: { kind: "logistics_loss", duration: 12, capacity: 0.5 } });
  for (const q of quick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "danger";
    b.textContent = q.label;
    b.dataset.kind = q.body.kind;
    b.addEventListener("click", () => inject({ delay: 0, ...q.body }));
    box.append(b);
  }
}

function showKindFields() {
  const kind = el("sc-kind").value;
  for (const lab of document.querySelectorAll("#sc-crisis label[data-for]")) {
    lab.hidden = !lab.dataset.for.split(" ").includes(kind);
  }
}

function kpiTile(name, run, twin, fmt, worseIfHigher, note) {
  const d = run - twin;
  const worse = worseIfHigher ? d > 1e-9 : d < -1e-9;
  const better = worseIfHigher ? d < -1e-9 : d > 1e-9;
  const div = document.createElement("div");
  div.className = "sc-kpi";
  div.dataset.state = worse ? "worse" : better ? "better" : "same";
  div.innerHTML = `<span class="label"></span><b></b><span class="sc-twin-fig"></span><span class="sc-delta"></span>`;
  div.querySelector(".label").textContent = name;
  div.querySelector("b").textContent = fmt(run);
  div.querySelector(".sc-twin-fig").textContent = `twin ${fmt(twin)}`;
  div.querySelector(".sc-delta").textContent = note || (Math.abs(d) < 1e-9 ? "same as the twin" : `${d > 0 ? "+" : "−"}${fmt(Math.abs(d))} vs twin`);
  return div;
}

function topBullwhip(k) {
  const bw = k.bullwhip || [];
  if (!bw.length) return 0;
  const top = Math.max(...bw.map((b) => b.tier));
  const xs = bw.filter((b) => b.tier === top).map((b) => b.ratio);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function renderKPIs(st) {
  const k = st.kpis, w = st.twin;
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  const box = el("sc-kpis");
  const active = (st.crises || []).filter((c) => c.active).length;
  box.replaceChildren(
    kpiTile("total cost", k.total_cost, w.total_cost, count, true),
    kpiTile("fill rate", k.fill_rate, w.fill_rate, pct, false),
    kpiTile("cycle service level", k.cycle_service, w.cycle_service, pct, false),
    kpiTile("unmet demand (cumulative)", k.unmet, w.unmet, count, true),
    kpiTile("bullwhip, top echelon", topBullwhip(k), topBullwhip(w), (x) => num(x, 2), true),
    kpiTile("crises", (st.crises || []).length, 0, (x) => String(x), true, `${active} active now`),
  );
}

// speaking: until when each agent's card glows after it sent a message.
const speaking = new Map();

function renderAgents(st) {
  const ul = el("sc-agents");
  const items = st.agents.map((a) => {
    const li = document.createElement("li");
    li.dataset.role = a.role;
    li.style.setProperty("--role", ROLE_COLOR[a.role] || "#8a93a8");
    li.innerHTML = `<div class="sc-agent-head"><b></b><span class="pill"></span></div><span class="sub sc-agent-nodes"></span><p class="sc-agent-last"></p>`;
    li.querySelector("b").textContent = a.role;
    li.querySelector(".pill").textContent = a.policy;
    li.querySelector(".sc-agent-nodes").textContent = (a.nodes || []).join(", ");
    const last = li.querySelector(".sc-agent-last");
    last.textContent = a.last ? `p${a.last.t} ${a.last.kind.replace("_", " ")}${a.last.to ? " → " + a.last.to : ""}: ${a.last.text}` : "no message yet";
    if ((speaking.get(a.role) || 0) > performance.now()) li.classList.add("speaking");
    return li;
  });
  ul.replaceChildren(...items);
}

function renderNarration(st) {
  const ol = el("sc-narration");
  ol.replaceChildren(...(st.narration || []).map((d) => {
    const li = document.createElement("li");
    li.style.setProperty("--role", ROLE_COLOR[d.role] || "#8a93a8");
    li.innerHTML = `<b></b> <span class="pill"></span> <span></span>`;
    li.querySelector("b").textContent = d.node;
    li.querySelector(".pill").textContent = `${d.role} · ${d.policy}`;
    li.querySelector("span:last-child").textContent = d.why;
    return li;
  }));
  const ms = el("sc-messages");
  const list = (st.messages || []).slice(-30).reverse();
  ms.replaceChildren(...list.map((m) => {
    const li = document.createElement("li");
    li.dataset.kind = m.kind;
    li.style.setProperty("--role", ROLE_COLOR[m.from] || "#8a93a8");
    li.innerHTML = `<time></time><span class="pill"></span><span></span>`;
    li.querySelector("time").textContent = `p${m.t}`;
    li.querySelector(".pill").textContent = `${m.from} → ${m.to || "all"} · ${m.kind.replace("_", " ")}`;
    li.querySelector("span:last-child").textContent = m.text;
    return li;
  }));
}

function renderCrises(st) {
  const ol = el("sc-crises");
  const cs = [...(st.crises || [])].reverse();
  el("sc-crises-empty").hidden = cs.length > 0;
  ol.replaceChildren(...cs.map((c) => {
    const li = document.createElement("li");
    li.dataset.id = c.id;
    li.dataset.kind = c.kind;
    const when = c.active ? "active" : c.start > st.t ? "scheduled" : "over";
    li.dataset.state = when;
    li.innerHTML = `<div><span class="pill"></span> <b></b> <span class="sub"></span></div><p></p><dl class="sc-ckpi"></dl>`;
    li.querySelector(".pill").textContent = when;
    li.querySelector("b").textContent = KIND_TEXT[c.kind] || c.kind;
    li.querySelector(".sub").textContent = `${c.origin || ""} · ${c.scope}`;
    li.querySelector("p").textContent = c.text;
    const dl = li.querySelector("dl");
    const k = c.kpi;
    if (k) {
      const rows = [
        ["time to survive", k.survived ? `≥ ${k.time_to_survive} periods (no extra shortage yet)` : `${k.time_to_survive} periods`],
        ["time to recover", c.active ? "crisis still on" : k.recovered ? `${k.time_to_recover} periods after its end` : `not yet (${k.time_to_recover}+ periods)`],
        ["extra cost vs twin", num(k.extra_cost, 0)],
        ["extra unmet demand", num(k.extra_unmet, 0)],
      ];
      for (const [a, b] of rows) {
        const dt = document.createElement("dt"); dt.textContent = a;
        const dd = document.createElement("dd"); dd.textContent = b;
        dl.append(dt, dd);
      }
    }
    return li;
  }));
}

// ---- Charts ----

// crisisBands shades each crisis's periods on a chart.
function crisisBands() {
  return {
    hooks: {
      drawAxes: [(u) => {
        const cs = state.st?.crises || [];
        const ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = "rgba(255, 107, 122, 0.12)";
        const { left, top, width, height } = u.bbox;
        for (const c of cs) {
          const x0 = Math.max(left, u.valToPos(c.start, "x", true));
          const x1 = Math.min(left + width, u.valToPos(c.end, "x", true));
          if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, height);
        }
        ctx.restore();
      }],
    },
  };
}

const charts = {};
const AXES = [{ stroke: "#8a93a8", grid: { stroke: "#232a3b" } }, { stroke: "#8a93a8", grid: { stroke: "#232a3b" }, size: 56 }];

function chart(id, series, data) {
  const box = el(id);
  let c = charts[id];
  if (c && c.series.length !== series.length + 1) { c.destroy(); c = null; }
  if (!c) {
    c = new uPlot({
      width: Math.max(280, box.clientWidth - 8), height: 200, plugins: [crisisBands()],
      scales: { x: { time: false } }, legend: { live: false },
      series: [{ label: "period" }, ...series], axes: AXES,
    }, data, box);
    charts[id] = c;
  } else c.setData(data);
}

const drawCharts = onFrame(() => {
  const st = state.st;
  if (!st) return;
  const s = st.series;
  const run = { stroke: "#ff8fab", width: 2 };
  const twin = { stroke: "#8a93a8", width: 1.5, dash: [6, 4] };
  chart("sc-chart-cost", [{ label: "run", ...run }, { label: "twin", ...twin }], [s.t, s.cost, s.twin_cost]);
  chart("sc-chart-cum", [{ label: "run", ...run }, { label: "twin", ...twin }], [s.t, s.cum_cost, s.twin_cum_cost]);
  chart("sc-chart-fill", [{ label: "run", ...run }, { label: "twin", ...twin }], [s.t, s.fill, s.twin_fill]);
  const ids = Object.keys(s.orders || {}).filter((id) => st.nodes.find((n) => n.id === id && n.kind !== "source"));
  const palette = ["#7cf2c5", "#5ee0ff", "#6aa8ff", "#b694ff", "#ffc46a", "#f2a07c", "#a0f27c"];
  const byTier = ids.map((id) => st.nodes.find((n) => n.id === id));
  chart("sc-chart-orders", [{ label: "demand", stroke: "#e6e9f2", width: 2 }, ...byTier.map((n, i) => ({ label: n.name, stroke: palette[i % palette.length], width: 1.3 }))],
    [s.t, s.demand, ...ids.map((id) => s.orders[id])]);
});

// ---- The comparison ----

function ci(m, h, d = 1) { return `${num(m, d)} ± ${num(h, d)}`; }

function forest(c) {
  // One row per arm: mean cost with its 95 % interval, on one axis.
  const arms = c.arms || [];
  const w = 520, rowH = 26, h = 30 + rowH * arms.length;
  let lo = Infinity, hi = -Infinity;
  for (const a of arms) { lo = Math.min(lo, a.cost - a.cost_ci95, a.twin_cost); hi = Math.max(hi, a.cost + a.cost_ci95); }
  if (!isFinite(lo)) return null;
  lo = Math.max(0, lo - 0.05 * (hi - lo)); hi += 0.05 * (hi - lo);
  const x = (v) => 120 + ((v - lo) / (hi - lo || 1)) * (w - 140);
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "sc-forest", role: "img", "aria-label": "mean cost per arm with 95 % intervals" });
  arms.forEach((a, i) => {
    const y = 18 + i * rowH;
    text(root, 6, y + 4, a.arm, "sc-forest-arm");
    svg("line", { x1: x(a.cost - a.cost_ci95), x2: x(a.cost + a.cost_ci95), y1: y, y2: y, class: "sc-forest-ci" }, root);
    svg("circle", { cx: x(a.cost), cy: y, r: 4.5, class: `sc-forest-pt ${a.arm}` }, root);
    svg("line", { x1: x(a.twin_cost), x2: x(a.twin_cost), y1: y - 7, y2: y + 7, class: "sc-forest-twin" }, root);
  });
  const y = h - 8;
  text(root, x(lo), y, num(lo, 0), "sc-forest-axis");
  text(root, x(hi) - 30, y, num(hi, 0), "sc-forest-axis");
  text(root, (x(lo) + x(hi)) / 2 - 60, y, "mean total cost (| = its twin)", "sc-forest-axis");
  return root;
}

function table(head, rows) {
  const t = document.createElement("table");
  t.className = "sc-table";
  const tr = document.createElement("tr");
  for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.append(th); }
  const thead = document.createElement("thead"); thead.append(tr); t.append(thead);
  const tb = document.createElement("tbody");
  for (const r of rows) {
    const row = document.createElement("tr");
    for (const v of r) { const td = document.createElement("td"); td.textContent = v; row.append(td); }
    tb.append(row);
  }
  t.append(tb);
  const wrap = document.createElement("div");
  wrap.className = "table-scroll";
  wrap.append(t);
  return wrap;
}

function verdict(c) {
  const p = (c.paired || []).find((q) => q.arm === "coordinated" && q.versus === "uncoordinated");
  if (!p) return "";
  const pct = (x) => `${(100 * (1 - x)).toFixed(0)} %`;
  if (p.p_holm < 0.05 && p.ratio_hi < 1) return `Coordination helps here: the coordinated team's cost is ${num(p.ratio, 3)} of the uncoordinated one's (95 % CI ${num(p.ratio_lo, 3)}–${num(p.ratio_hi, 3)}), ${pct(p.ratio)} less, lower on ${p.wins} of ${c.seeds} seeds (Holm p ${p.p_holm.toExponential(1)}).`;
  if (p.p_holm < 0.05 && p.ratio_lo > 1) return `Coordination hurts here: cost ratio ${num(p.ratio, 3)} (95 % CI ${num(p.ratio_lo, 3)}–${num(p.ratio_hi, 3)}), Holm p ${p.p_holm.toExponential(1)}.`;
  return `No clear difference: cost ratio ${num(p.ratio, 3)} (95 % CI ${num(p.ratio_lo, 3)}–${num(p.ratio_hi, 3)}), Holm p ${num(p.p_holm, 2)}.`;
}

let openScenario = "";
function renderResults(st) {
  const box = el("sc-results");
  const rs = st.results || [];
  el("sc-results-empty").hidden = rs.length > 0;
  const key = JSON.stringify(rs.map((r) => [r.scenario.name, r.elapsed_s]));
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(...rs.map((c) => {
    const d = document.createElement("details");
    d.className = "sc-result";
    d.dataset.scenario = c.scenario.name;
    d.open = c.scenario.name === (openScenario || rs[0].scenario.name);
    const s = document.createElement("summary");
    s.innerHTML = `<b></b> <span class="sub"></span>`;
    s.querySelector("b").textContent = c.scenario.name;
    s.querySelector(".sub").textContent = `${c.scenario.title} — ${c.seeds} seeds, base-stock tuned on ${c.tune_seeds} others, ${num(c.elapsed_s, 1)} s`;
    const v = document.createElement("p");
    v.className = "sc-verdict";
    v.textContent = verdict(c);
    const arms = table(["arm", "total cost", "fill rate", "cycle service", "unmet", "bullwhip (top)", "time to survive", "time to recover", "unrecovered", "twin cost"],
      (c.arms || []).map((a) => [a.arm, ci(a.cost, a.cost_ci95, 0), ci(a.fill_rate, a.fill_ci95, 3), num(a.cycle_service, 3), num(a.unmet, 0),
        ci(a.bullwhip, a.bullwhip_ci95, 2), a.disruptions ? num(a.time_to_survive, 1) : "–", a.disruptions ? num(a.time_to_recover, 1) : "–",
        a.disruptions ? `${a.unrecovered} / ${a.disruptions}` : "–", num(a.twin_cost, 0)]));
    const pairs = table(["pair", "cost ratio [95 % CI]", "mean difference", "wins", "p", "p (Holm)"],
      (c.paired || []).map((q) => [`${q.arm} / ${q.versus}`, `${num(q.ratio, 3)} [${num(q.ratio_lo, 3)}, ${num(q.ratio_hi, 3)}]`,
        ci(q.mean_diff, q.diff_ci95, 0), `${q.wins} / ${c.seeds}`, q.p < 1e-3 ? q.p.toExponential(1) : num(q.p, 3), q.p_holm < 1e-3 ? q.p_holm.toExponential(1) : num(q.p_holm, 3)]));
    const learned = document.createElement("p");
    learned.className = "sub";
    learned.textContent = `learned arm: ${c.learned}`;
    const f = forest(c);
    d.append(s, v, ...(f ? [f] : []), arms, pairs, learned);
    return d;
  }));
}

function renderProgress(p) {
  state.progress = p;
  const bar = el("sc-compare-progress");
  bar.hidden = !p.running;
  bar.max = Math.max(1, p.total || 1);
  bar.value = p.done || 0;
  el("sc-compare-run").disabled = !!p.running;
  el("sc-compare-status").textContent = p.running ? `${p.scenario}: ${p.done || 0} / ${p.total || "…"} runs` : p.error ? `failed: ${p.error}` : p.scenario ? `${p.scenario} done in ${num(p.elapsed_s, 1)} s` : "";
}

// ---- State in, commands out ----

// render draws a snapshot. Snapshots of the same room older than the one
// drawn are dropped (a topic frame sent before the API's answer to a
// pause); a fresh load after a reconnect is always drawn (force), since a
// restarted server counts again.
function render(st, force = false) {
  if (!force && state.st && st.room === state.st.room && st.seq <= state.st.seq) return;
  const prevT = state.st && state.st.room === st.room ? state.st.t : -1;
  const newRoom = !state.st || state.st.room !== st.room;
  state.st = st;
  state.at = performance.now();
  renderHead(st);
  renderChoices(st);
  updateScene(st);
  if (!newRoom) addShipments(st, prevT);
  renderKPIs(st);
  renderAgents(st);
  renderNarration(st);
  renderCrises(st);
  renderResults(st);
  renderProgress(st.compare || {});
  drawCharts();
  autoCompare(st);
}

// autoCompare runs the headline comparison (30 seeds of the port closure)
// once, when the server has none yet, so the page answers its question
// without a click; its progress shows like any other.
let autoAsked = false;
async function autoCompare(st) {
  if (autoAsked || (st.results || []).length || st.compare?.running || st.compare?.error) return;
  autoAsked = true;
  try {
    renderProgress(await api("POST", "/api/supply/compare", { scenario: "port-closure", seeds: 30 }));
  } catch (e) {
    if (e.status !== 409) showError(e.message);
  }
}

async function load() {
  try {
    render(await api("GET", "/api/supply/state"), true);
    showError("");
  } catch (e) { showError(e.message); }
}

async function inject(body) {
  const status = el("sc-inject-status");
  status.textContent = "…";
  try {
    const c = await api("POST", "/api/supply/crises", body);
    status.textContent = `injected #${c.id}: periods ${c.start}–${c.end - 1}`;
    showError("");
    await load();
  } catch (e) {
    status.textContent = "";
    showError(e.message);
  }
}

function numberOf(id) { return Number(el(id).value); }

el("sc-crisis").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const kind = el("sc-kind").value;
  const body = { kind, delay: numberOf("sc-delay"), duration: numberOf("sc-duration") };
  if (kind === "port_closure") Object.assign(body, { lane: el("sc-lane").value, lead: numberOf("sc-lead"), capacity: numberOf("sc-capacity") });
  if (kind === "supplier_failure") Object.assign(body, { node: el("sc-node").value, capacity: numberOf("sc-capacity") });
  if (kind === "logistics_loss") body.capacity = numberOf("sc-capacity");
  if (kind === "demand_spike") Object.assign(body, { market: el("sc-market").value, factor: numberOf("sc-factor") });
  inject(body);
});
el("sc-kind").addEventListener("change", showKindFields);

el("sc-room").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const policies = {};
  for (const sel of document.querySelectorAll(".sc-policy")) policies[sel.name] = sel.value;
  const body = { preset: el("sc-preset").value, seed: numberOf("sc-seed"), policies, coordinated: el("sc-coordinated").checked, random: numberOf("sc-random") };
  try {
    render(await api("POST", "/api/supply/room", body));
    showError("");
  } catch (e) { showError(e.message); }
});

el("sc-pause").addEventListener("click", async () => {
  try {
    render(await api("POST", "/api/supply/pause", { paused: !state.st?.paused }));
    showError("");
  } catch (e) { showError(e.message); }
});

el("sc-compare-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  openScenario = el("sc-scenario").value;
  try {
    renderProgress(await api("POST", "/api/supply/compare", { scenario: openScenario, seeds: numberOf("sc-seeds") }));
    showError("");
  } catch (e) { showError(e.message); }
});

live.subscribe("supply.state", (st) => render(st));
live.subscribe("supply.progress", (p) => renderProgress(p));
live.subscribe("supply.agents", (m) => {
  speaking.set(m.from, performance.now() + 700);
  document.querySelector(`#sc-agents li[data-role="${m.from}"]`)?.classList.add("speaking");
});
live.onState((s) => { if (s === "live") load(); });
window.addEventListener("resize", () => {
  for (const [id, c] of Object.entries(charts)) c.setSize({ width: Math.max(280, el(id).clientWidth - 8), height: 200 });
});

load();
requestAnimationFrame(animate);
