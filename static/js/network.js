// network.js: the 3D agent network. Agents are nodes, coloured by subsystem
// and sized by activity; links are the messages of the last seconds, with
// pulses travelling along them as messages flow. Data comes from the
// analytics.network.state topic (twice a second), or, with
// ?synthetic=NODESxLINKS, from a local synthetic population for load tests.
//
// Why Three.js with instancing rather than 3d-force-graph: 3d-force-graph
// builds one mesh per node and one per link, so 500 nodes and 2,000 links
// cost about 2,500 draw calls a frame. Here every node is an instance of
// one of two InstancedMeshes (spheres for agents, diamonds for showcase
// agents), every link a segment of one LineSegments and every pulse a point
// of one Points: five draw calls whatever the size, and the force layout is
// a few typed-array loops we control (and stop when it has settled).
//
// Tests read window.metastationNetwork: nodes, links, pulses, fps, frame
// times, draw calls.
import * as THREE from "../vendor/three/three.module.js";
import { OrbitControls } from "../vendor/three/OrbitControls.js";
import { live } from "./live.js";
import { $, get, clock } from "./page.js";


const COLORS = {
  market: "#6aa8ff", tournament: "#7cf2c5", rl: "#b694ff", synth: "#ffc46a",
  supply: "#ff8fab", research: "#5ee0ff", system: "#8a93a8", supervisor: "#8a93a8", analytics: "#c9d1e6",
};
const EXTRA = ["#f2a07c", "#a0f27c", "#f27cd9", "#7cd9f2"];
function colorOf(sub) {
  if (!COLORS[sub]) COLORS[sub] = EXTRA[Object.keys(COLORS).length % EXTRA.length];
  return COLORS[sub];
}

const MAX_NODES = 4096;
const MAX_LINKS = 8192;
const MAX_PULSES = 6000;
const REST = 34; // link rest length

const params = new URLSearchParams(location.search);
const synthetic = params.get("synthetic"); // "500x2000"

// ---- State ----
const nodes = []; // {id, sub, role, showcase, n, x, y, z, vx, vy, vz}
const byId = new Map();
let links = []; // {s, t, n, si, ti}
const pulses = []; // {a, b, t, speed}: a message travelling from node a to node b
const hiddenSubs = new Set();
let query = "";
let selected = null;
let paused = false;
let alpha = 1; // layout temperature
let lastState = null;
let prevLinks = 0;
// Instance index -> node, per mesh: each mesh draws only its own nodes.
let agentsOf = [];
let showcaseOf = [];

const stats = {
  nodes: 0, links: 0, pulses: 0, fps: 0, frameMs: 0, frameMsP95: 0, workMs: 0, workMsP95: 0,
  drawCalls: 0, triangles: 0, frames: 0, updates: 0, paused: false, synthetic: !!synthetic,
  webgl: "", selected: null, detailOpen: false, messages: 0,
};
window.metastationNetwork = stats;

// ---- Scene ----
const canvas = $("net-canvas");
const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, alpha: true, powerPreference: "high-performance" });
renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
renderer.info.autoReset = true;
renderer.setClearColor(0x000000, 0); // the page's background shows through
stats.webgl = renderer.capabilities.isWebGL2 ? "webgl2" : "webgl";
const scene = new THREE.Scene();
const camera = new THREE.PerspectiveCamera(55, 1, 1, 6000);
camera.position.set(0, 60, 460);
const controls = new OrbitControls(camera, canvas);
controls.enableDamping = true;
controls.autoRotate = true;
controls.autoRotateSpeed = 0.35;
scene.add(new THREE.AmbientLight(0xffffff, 1.1));
const sun = new THREE.DirectionalLight(0xffffff, 1.6);
sun.position.set(1, 1.5, 2);
scene.add(sun);

function instanced(geometry) {
  const m = new THREE.InstancedMesh(geometry, new THREE.MeshLambertMaterial({ color: 0xffffff }), MAX_NODES);
  m.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
  m.setColorAt(0, new THREE.Color(1, 1, 1));
  m.count = 0;
  m.frustumCulled = false;
  scene.add(m);
  return m;
}
const agentsMesh = instanced(new THREE.IcosahedronGeometry(1, 1));
const showcaseMesh = instanced(new THREE.OctahedronGeometry(1.25, 0));

const linkPos = new Float32Array(MAX_LINKS * 6);
const linkCol = new Float32Array(MAX_LINKS * 6);
const linkGeom = new THREE.BufferGeometry();
linkGeom.setAttribute("position", new THREE.BufferAttribute(linkPos, 3).setUsage(THREE.DynamicDrawUsage));
linkGeom.setAttribute("color", new THREE.BufferAttribute(linkCol, 3).setUsage(THREE.DynamicDrawUsage));
const linkLines = new THREE.LineSegments(linkGeom, new THREE.LineBasicMaterial({
  vertexColors: true, transparent: true, opacity: 0.55, blending: THREE.AdditiveBlending, depthWrite: false,
}));
linkLines.frustumCulled = false;
scene.add(linkLines);

function glowTexture() {
  const c = document.createElement("canvas");
  c.width = c.height = 64;
  const g = c.getContext("2d");
  const grad = g.createRadialGradient(32, 32, 0, 32, 32, 32);
  grad.addColorStop(0, "rgba(255,255,255,1)");
  grad.addColorStop(0.3, "rgba(255,255,255,0.7)");
  grad.addColorStop(1, "rgba(255,255,255,0)");
  g.fillStyle = grad;
  g.fillRect(0, 0, 64, 64);
  return new THREE.CanvasTexture(c);
}
const pulsePos = new Float32Array(MAX_PULSES * 3);
const pulseCol = new Float32Array(MAX_PULSES * 3);
const pulseGeom = new THREE.BufferGeometry();
pulseGeom.setAttribute("position", new THREE.BufferAttribute(pulsePos, 3).setUsage(THREE.DynamicDrawUsage));
pulseGeom.setAttribute("color", new THREE.BufferAttribute(pulseCol, 3).setUsage(THREE.DynamicDrawUsage));
const pulsePoints = new THREE.Points(pulseGeom, new THREE.PointsMaterial({
  size: 9, map: glowTexture(), vertexColors: true, transparent: true, depthWrite: false, blending: THREE.AdditiveBlending,
}));
pulsePoints.frustumCulled = false;
scene.add(pulsePoints);

// Subsystem anchors on a ring, so that each subsystem forms a cluster.
const anchors = new Map();
function anchorOf(sub) {
  if (!anchors.has(sub)) {
    const k = anchors.size;
    const a = k * 2.399963; // golden angle
    anchors.set(sub, { x: Math.cos(a) * 150, y: ((k % 3) - 1) * 60, z: Math.sin(a) * 150 });
    // Re-place the ring evenly when a new subsystem appears.
    let i = 0;
    const n = anchors.size;
    for (const v of anchors.values()) {
      const t = (i++ / n) * Math.PI * 2;
      v.x = Math.cos(t) * 160; v.z = Math.sin(t) * 160; v.y = (i % 2 ? 35 : -35);
    }
  }
  return anchors.get(sub);
}

// ---- Data ----
function upsertNode(info) {
  let nd = byId.get(info.id);
  if (!nd) {
    const a = anchorOf(info.sub);
    nd = { id: info.id, sub: info.sub, role: info.role, showcase: !!info.showcase, n: 0,
      x: a.x + (Math.random() - 0.5) * 60, y: a.y + (Math.random() - 0.5) * 60, z: a.z + (Math.random() - 0.5) * 60,
      vx: 0, vy: 0, vz: 0 };
    byId.set(info.id, nd);
    nodes.push(nd);
  }
  nd.n = info.n;
  return nd;
}

// apply takes a snapshot: the nodes and links of the window, and the
// messages since the previous snapshot as pulses.
function apply(st) {
  lastState = st;
  stats.updates++;
  stats.messages = st.messages || stats.messages;
  const seen = new Set();
  let added = 0;
  for (const info of st.nodes) {
    if (!byId.has(info.id)) added++;
    upsertNode(info);
    seen.add(info.id);
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!seen.has(nodes[i].id)) { byId.delete(nodes[i].id); nodes.splice(i, 1); }
  }
  const index = new Map(nodes.map((nd, i) => [nd.id, i]));
  const next = [];
  for (const l of st.links) {
    const si = index.get(l.s), ti = index.get(l.t);
    if (si === undefined || ti === undefined || next.length >= MAX_LINKS) continue;
    next.push({ s: l.s, t: l.t, n: l.n, si, ti });
    for (let k = 0; k < Math.min(l.p, 3) && pulses.length < MAX_PULSES; k++) {
      pulses.push({ a: nodes[si], b: nodes[ti], t: -Math.random() * 0.8, speed: 0.9 + Math.random() * 0.6 });
    }
  }
  links = next;
  // Reheat the layout only when the picture changed: new agents, or many
  // new links.
  if (added) alpha = Math.max(alpha, added > 20 ? 1 : 0.3);
  else if (Math.abs(links.length - prevLinks) > 0.05 * Math.max(20, prevLinks)) alpha = Math.max(alpha, 0.1);
  prevLinks = links.length;
  colorsDirty = true;
  refreshList();
  updateFigures();
}

function visible(nd) { return !hiddenSubs.has(nd.sub); }

// ---- Layout ----
function layoutStep() {
  if (alpha < 0.01) return;
  const n = nodes.length;
  const k = alpha;
  // Repulsion, all pairs (n <= a few thousand; 500 nodes are 125k pairs).
  for (let i = 0; i < n; i++) {
    const a = nodes[i];
    for (let j = i + 1; j < n; j++) {
      const b = nodes[j];
      let dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
      let d2 = dx * dx + dy * dy + dz * dz;
      if (d2 > 90000) continue; // beyond 300 units: negligible
      if (d2 < 1) { dx = Math.random() - 0.5; dy = Math.random() - 0.5; d2 = 1; }
      const f = (900 * k) / d2;
      a.vx += dx * f; a.vy += dy * f; a.vz += dz * f;
      b.vx -= dx * f; b.vy -= dy * f; b.vz -= dz * f;
    }
  }
  // Springs.
  for (const l of links) {
    const a = nodes[l.si], b = nodes[l.ti];
    const dx = b.x - a.x, dy = b.y - a.y, dz = b.z - a.z;
    const d = Math.sqrt(dx * dx + dy * dy + dz * dz) || 1;
    const f = ((d - REST) / d) * 0.02 * k;
    a.vx += dx * f; a.vy += dy * f; a.vz += dz * f;
    b.vx -= dx * f; b.vy -= dy * f; b.vz -= dz * f;
  }
  // Pull toward the subsystem's anchor, damping, integration.
  for (const a of nodes) {
    const c = anchorOf(a.sub);
    a.vx += (c.x - a.x) * 0.004 * k; a.vy += (c.y - a.y) * 0.004 * k; a.vz += (c.z - a.z) * 0.004 * k;
    a.vx *= 0.6; a.vy *= 0.6; a.vz *= 0.6;
    a.x += a.vx; a.y += a.vy; a.z += a.vz;
  }
  alpha *= 0.975;
}

// ---- Drawing ----
let colorsDirty = true;
const tmpColor = new THREE.Color();
const dim = new THREE.Color("#2a3042");

function matches(nd) { return !query || nd.id.toLowerCase().includes(query); }

function writeInstances() {
  agentsOf = [];
  showcaseOf = [];
  const am = agentsMesh.instanceMatrix.array, sm = showcaseMesh.instanceMatrix.array;
  for (let i = 0; i < nodes.length; i++) {
    const nd = nodes[i];
    const list = nd.showcase ? showcaseOf : agentsOf;
    if (list.length >= MAX_NODES) continue;
    const k = list.length;
    list.push(nd);
    const arr = nd.showcase ? sm : am;
    const s = visible(nd) ? (2 + 1.1 * Math.log2(1 + nd.n)) * (nd === selected ? 1.6 : 1) : 0;
    const o = k * 16;
    arr[o] = s; arr[o + 1] = 0; arr[o + 2] = 0; arr[o + 3] = 0;
    arr[o + 4] = 0; arr[o + 5] = s; arr[o + 6] = 0; arr[o + 7] = 0;
    arr[o + 8] = 0; arr[o + 9] = 0; arr[o + 10] = s; arr[o + 11] = 0;
    arr[o + 12] = nd.x; arr[o + 13] = nd.y; arr[o + 14] = nd.z; arr[o + 15] = 1;
    if (colorsDirty) {
      tmpColor.set(colorOf(nd.sub));
      if (!matches(nd)) tmpColor.copy(dim);
      if (nd === selected) tmpColor.set("#ffffff");
      (nd.showcase ? showcaseMesh : agentsMesh).setColorAt(k, tmpColor);
    }
  }
  agentsMesh.count = agentsOf.length;
  showcaseMesh.count = showcaseOf.length;
  agentsMesh.instanceMatrix.needsUpdate = showcaseMesh.instanceMatrix.needsUpdate = true;
  if (colorsDirty) {
    agentsMesh.instanceColor.needsUpdate = showcaseMesh.instanceColor.needsUpdate = true;
  }
  // Bounding spheres for ray picking, recomputed when picking.
  agentsMesh.boundingSphere = null;
  showcaseMesh.boundingSphere = null;
}

function writeLinks() {
  let m = 0;
  for (const l of links) {
    const a = nodes[l.si], b = nodes[l.ti];
    if (!visible(a) || !visible(b)) continue;
    const o = m * 6;
    linkPos[o] = a.x; linkPos[o + 1] = a.y; linkPos[o + 2] = a.z;
    linkPos[o + 3] = b.x; linkPos[o + 4] = b.y; linkPos[o + 5] = b.z;
    if (colorsDirty) {
      const w = 0.25 + 0.75 * Math.min(1, l.n / 15);
      const lit = !query || matches(a) || matches(b);
      tmpColor.set(colorOf(a.sub)).multiplyScalar(lit ? w : 0.08);
      linkCol[o] = tmpColor.r; linkCol[o + 1] = tmpColor.g; linkCol[o + 2] = tmpColor.b;
      tmpColor.set(colorOf(b.sub)).multiplyScalar(lit ? w : 0.08);
      linkCol[o + 3] = tmpColor.r; linkCol[o + 4] = tmpColor.g; linkCol[o + 5] = tmpColor.b;
    }
    m++;
  }
  linkGeom.setDrawRange(0, m * 2);
  linkGeom.attributes.position.needsUpdate = true;
  if (colorsDirty) linkGeom.attributes.color.needsUpdate = true;
  stats.visibleLinks = m;
}

function writePulses(dt) {
  let m = 0;
  for (let i = pulses.length - 1; i >= 0; i--) {
    const p = pulses[i];
    if (!paused) p.t += dt * p.speed;
    if (p.t >= 1) { pulses[i] = pulses[pulses.length - 1]; pulses.pop(); continue; }
  }
  for (const p of pulses) {
    if (p.t < 0) continue;
    const a = p.a, b = p.b;
    if (!visible(a) || !visible(b) || !byId.has(a.id) || !byId.has(b.id)) continue;
    const o = m * 3;
    pulsePos[o] = a.x + (b.x - a.x) * p.t;
    pulsePos[o + 1] = a.y + (b.y - a.y) * p.t;
    pulsePos[o + 2] = a.z + (b.z - a.z) * p.t;
    tmpColor.set(colorOf(a.sub));
    pulseCol[o] = 0.5 + tmpColor.r * 0.5; pulseCol[o + 1] = 0.5 + tmpColor.g * 0.5; pulseCol[o + 2] = 0.5 + tmpColor.b * 0.5;
    m++;
  }
  pulseGeom.setDrawRange(0, m);
  pulseGeom.attributes.position.needsUpdate = true;
  pulseGeom.attributes.color.needsUpdate = true;
  stats.pulses = m;
}

// ---- Frame loop and statistics ----
const intervals = [];
const works = [];
let lastFrame = performance.now();
function percentile(xs, q) {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function resize() {
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.floor(w * renderer.getPixelRatio()) || canvas.height !== Math.floor(h * renderer.getPixelRatio())) {
    renderer.setSize(w, h, false);
    camera.aspect = w / Math.max(1, h);
    camera.updateProjectionMatrix();
  }
}

// fitCamera keeps the whole network in view until the user zooms or pans.
let userMoved = false;
controls.addEventListener("start", () => { userMoved = true; });
canvas.addEventListener("wheel", () => { userMoved = true; }, { passive: true });
function fitCamera() {
  if (userMoved || paused || nodes.length === 0) return;
  let cx = 0, cy = 0, cz = 0;
  for (const nd of nodes) { cx += nd.x; cy += nd.y; cz += nd.z; }
  cx /= nodes.length; cy /= nodes.length; cz /= nodes.length;
  // Frame the 90 % of agents nearest the centre; a few outliers may leave the picture.
  const d2 = nodes.map((nd) => (nd.x - cx) ** 2 + (nd.y - cy) ** 2 + (nd.z - cz) ** 2).sort((a, b) => a - b);
  const r = Math.sqrt(d2[Math.floor(0.9 * (d2.length - 1))]) + 15;
  const fov = (camera.fov * Math.PI) / 180;
  const want = r / Math.tan(Math.min(fov, fov * camera.aspect) / 2);
  controls.target.lerp(new THREE.Vector3(cx, cy, cz), 0.05);
  const dir = camera.position.clone().sub(controls.target);
  const dist = dir.length();
  dir.setLength(dist + (want - dist) * 0.05);
  camera.position.copy(controls.target).add(dir);
}
stats.fit = () => { userMoved = false; };

function frame(now) {
  const dt = Math.min(0.1, (now - lastFrame) / 1000);
  intervals.push(now - lastFrame);
  lastFrame = now;
  const t0 = performance.now();
  resize();
  if (!paused) layoutStep();
  writeInstances();
  writeLinks();
  writePulses(dt);
  colorsDirty = false;
  fitCamera();
  controls.update();
  renderer.render(scene, camera);
  works.push(performance.now() - t0);
  if (intervals.length > 120) intervals.shift();
  if (works.length > 120) works.shift();
  stats.frames++;
  stats.drawCalls = renderer.info.render.calls;
  stats.triangles = renderer.info.render.triangles;
  stats.nodes = nodes.length;
  stats.links = links.length;
  if (stats.frames % 15 === 0) {
    const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
    stats.frameMs = +mean.toFixed(2);
    stats.fps = +(1000 / mean).toFixed(1);
    stats.frameMsP95 = +percentile(intervals, 0.95).toFixed(2);
    stats.workMs = +(works.reduce((a, b) => a + b, 0) / works.length).toFixed(2);
    stats.workMsP95 = +percentile(works, 0.95).toFixed(2);
    $("net-fps").textContent = stats.fps.toFixed(0);
    $("net-calls").textContent = stats.drawCalls;
  }
  requestAnimationFrame(frame);
}

// ---- Page furniture ----
let prevMessages = null, prevTime = null;
function updateFigures() {
  $("net-nodes").textContent = nodes.length;
  $("net-links").textContent = links.length;
  if (lastState && prevTime != null && lastState.messages != null) {
    const dt = (new Date(lastState.time) - prevTime) / 1000;
    if (dt > 0) $("net-rate").textContent = Math.round((lastState.messages - prevMessages) / dt);
  }
  if (lastState) { prevMessages = lastState.messages; prevTime = new Date(lastState.time); }
  renderLegend();
}

function renderLegend() {
  const subs = [...new Set(nodes.map((nd) => nd.sub))].sort();
  const box = $("net-legend");
  const have = [...box.children].map((b) => b.dataset.sub).join(",");
  if (have === subs.join(",")) return;
  box.replaceChildren(...subs.map((sub) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.sub = sub;
    b.setAttribute("aria-pressed", String(!hiddenSubs.has(sub)));
    const dot = document.createElement("i");
    dot.style.background = colorOf(sub);
    b.append(dot, sub);
    b.onclick = () => {
      if (hiddenSubs.has(sub)) hiddenSubs.delete(sub); else hiddenSubs.add(sub);
      b.setAttribute("aria-pressed", String(!hiddenSubs.has(sub)));
      colorsDirty = true;
      stats.hidden = [...hiddenSubs];
    };
    return b;
  }));
}

let listStamp = 0;
function refreshList() {
  if (performance.now() - listStamp < 3000) return;
  listStamp = performance.now();
  $("net-ids").replaceChildren(...nodes.slice(0, 1000).map((nd) => new Option(nd.id)));
}

$("net-search").addEventListener("input", (e) => {
  query = e.target.value.trim().toLowerCase();
  colorsDirty = true;
  stats.matching = query ? nodes.filter(matches).length : nodes.length;
  const exact = byId.get(e.target.value.trim());
  if (exact) select(exact);
});
$("net-pause").onclick = () => {
  paused = !paused;
  stats.paused = paused;
  controls.autoRotate = !paused;
  $("net-pause").textContent = paused ? "Resume" : "Pause";
};
$("net-close").onclick = () => { selected = null; colorsDirty = true; $("net-detail").hidden = true; stats.detailOpen = false; };

// ---- Picking and details ----
const ray = new THREE.Raycaster();
const pointer = new THREE.Vector2();
let downAt = null;
canvas.addEventListener("pointerdown", (e) => { downAt = [e.clientX, e.clientY]; });
canvas.addEventListener("pointerup", (e) => {
  if (!downAt || Math.hypot(e.clientX - downAt[0], e.clientY - downAt[1]) > 5) return;
  const r = canvas.getBoundingClientRect();
  pointer.set(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1);
  const nd = pick(pointer);
  if (nd) select(nd);
});

function pick(p) {
  ray.setFromCamera(p, camera);
  agentsMesh.computeBoundingSphere();
  showcaseMesh.computeBoundingSphere();
  const hits = ray.intersectObjects([agentsMesh, showcaseMesh], false);
  for (const h of hits) {
    const nd = (h.object === showcaseMesh ? showcaseOf : agentsOf)[h.instanceId];
    if (nd && visible(nd)) return nd;
  }
  return null;
}

// screenOf returns a node's position in CSS pixels relative to the canvas
// (tests click there).
function screenOf(nd) {
  const v = new THREE.Vector3(nd.x, nd.y, nd.z).project(camera);
  return { x: ((v.x + 1) / 2) * canvas.clientWidth, y: ((1 - v.y) / 2) * canvas.clientHeight };
}

async function select(nd) {
  selected = nd;
  colorsDirty = true;
  stats.selected = nd.id;
  const box = $("net-detail");
  box.hidden = false;
  stats.detailOpen = true;
  $("net-detail-title").textContent = nd.id;
  const facts = [["subsystem", nd.sub], ["role", nd.role], ["messages (window)", nd.n],
    ["source", nd.showcase ? "showcase (seeded stand-in)" : synthetic ? "synthetic (load test)" : "bus"]];
  let detail = null;
  if (!synthetic) {
    try {
      detail = await get(`/api/analytics/agents/${encodeURIComponent(nd.id)}`);
    } catch { /* shown from local data */ }
  }
  if (selected !== nd) return;
  if (detail) facts.push(["total", detail.total], ["first seen", clock(detail.first_seen)], ["last seen", clock(detail.last_seen)]);
  $("net-detail-facts").replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
  const peers = detail ? detail.peers : links.filter((l) => l.s === nd.id || l.t === nd.id).sort((a, b) => b.n - a.n)
    .map((l) => ({ s: l.s, t: l.t, n: l.n }));
  $("net-detail-peers").replaceChildren(...peers.slice(0, 12).map((l) => {
    const li = document.createElement("li");
    li.textContent = `${l.s === nd.id ? "→ " + l.t : "← " + l.s} (${l.n})`;
    return li;
  }));
  const recent = detail ? detail.recent : [];
  $("net-detail-recent").replaceChildren(...recent.map((m) => {
    const li = document.createElement("li");
    const t = document.createElement("time");
    t.textContent = clock(m.time);
    const s = document.createElement("span");
    s.textContent = `${m.kind || m.topic} ${m.from} → ${m.to || m.topic}`;
    li.append(t, s);
    return li;
  }));
  stats.detailRecent = recent.length;
}

// ---- Synthetic population (load tests) ----
function startSynthetic(spec) {
  const [nn, nl] = spec.split("x").map((v) => parseInt(v, 10));
  const subs = ["market", "tournament", "rl", "synth", "supply", "research"];
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const ns = [];
  for (let i = 0; i < nn; i++) {
    const sub = subs[i % subs.length];
    ns.push({ id: `synthetic:${sub}-${String(i).padStart(4, "0")}`, sub, role: sub + "-agent", n: 1 + Math.floor(rnd() * 40) });
  }
  const ls = [];
  const seen = new Set();
  while (ls.length < nl) {
    const a = Math.floor(rnd() * nn);
    // Mostly within the subsystem, some across.
    let b = rnd() < 0.7 ? (a + subs.length * (1 + Math.floor(rnd() * 8))) % nn : Math.floor(rnd() * nn);
    if (a === b || seen.has(a + ":" + b)) continue;
    seen.add(a + ":" + b);
    ls.push({ s: ns[a].id, t: ns[b].id, n: 1 + Math.floor(rnd() * 20), p: 0 });
  }
  let messages = 0;
  const tick = () => {
    for (const l of ls) l.p = rnd() < 0.15 ? 1 : 0;
    messages += ls.reduce((a, l) => a + l.p, 0);
    if (!paused) apply({ time: new Date().toISOString(), nodes: ns, links: ls, messages, window_s: 10 });
  };
  tick();
  setInterval(tick, 500);
}

// Tests use these (and the scene's objects, to measure what each costs).
stats.objects = { agentsMesh, showcaseMesh, linkLines, pulsePoints, renderer };
stats.screenOf = (id) => { const nd = byId.get(id); return nd ? screenOf(nd) : null; };
stats.ids = () => nodes.map((nd) => nd.id);
stats.select = (id) => { const nd = byId.get(id); if (nd) select(nd); return !!nd; };

if (synthetic) {
  $("net-note").textContent = `Synthetic load test: ${synthetic.replace("x", " agents, ")} links generated in the page, not from the bus.`;
  startSynthetic(synthetic);
} else {
  live.subscribe("analytics.network.state", (st) => { if (!paused) apply(st); });
}
requestAnimationFrame(frame);
