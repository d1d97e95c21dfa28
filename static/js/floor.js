// floor.js: the 3D trading floor. Five hero traders at their desks, a crowd
// of 1,000 background traders in one InstancedMesh, a ticker wall with live
// prices and trade tickets flying from the traders to the exchange. Motion
// follows the real tournament: an avatar's pose is its status on
// tournament.state, tickets are its fills on tournament.fills, the crowd
// bobs with the trading activity. Without WebGL it draws a 2D floor.
//
// Frame statistics for tests and curious people: window.metastationFloor.
import { connect, renderBoard, money, pct, profileOf } from "./tournament-common.js";

const stage = document.getElementById("floor");
const stats = (window.metastationFloor = {
  webgl: false, frames: 0, drawCalls: 0, triangles: 0, p50: 0, p95: 0,
  avatars: 0, crowd: 0, tickets: 0, fills: 0, mode: "starting",
});

const CROWD = 1000;
let scene3d = null;
let fallback = null;
let lastState = null;
let activity = 0; // decaying count of recent fills: drives the crowd

connect((s) => {
  lastState = s;
  renderBoard(s, false);
  if (scene3d) scene3d.update(s);
  if (fallback) fallback.update(s);
  renderPanel();
}, (fills) => {
  stats.fills += fills.length;
  activity = Math.min(activity + fills.length, 60);
  if (scene3d) scene3d.fly(fills);
});

function webglAvailable() {
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") || c.getContext("webgl"));
  } catch { return false; }
}

if (webglAvailable() && !new URLSearchParams(location.search).has("2d")) {
  import("../vendor/three/three.module.js")
    .then(async (THREE) => {
      const { OrbitControls } = await import("../vendor/three/OrbitControls.js");
      scene3d = build3D(THREE, OrbitControls);
      if (lastState) scene3d.update(lastState);
    })
    .catch((err) => { console.error("floor: WebGL scene failed, drawing 2D", err); start2D(); });
} else {
  start2D();
}

// ---------------------------------------------------------------- 3D

function build3D(THREE, OrbitControls) {
  // Software renderers (SwiftShader in headless browsers, old laptops)
  // get no antialiasing and fewer pixels than CSS pixels.
  const probe = document.createElement("canvas").getContext("webgl2");
  const dbg = probe && probe.getExtension("WEBGL_debug_renderer_info");
  const gpu = dbg ? String(probe.getParameter(dbg.UNMASKED_RENDERER_WEBGL)) : "";
  const software = /swiftshader|llvmpipe|software/i.test(gpu);
  stats.gpu = gpu;
  const renderer = new THREE.WebGLRenderer({ antialias: !software, preserveDrawingBuffer: true });
  renderer.setPixelRatio(software ? 0.75 : Math.min(window.devicePixelRatio || 1, 2));
  renderer.info.autoReset = false;
  stage.prepend(renderer.domElement);
  renderer.domElement.id = "floor-3d";
  stats.webgl = true;
  stats.mode = "webgl";

  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0x0b0e14);
  scene.fog = new THREE.Fog(0x0b0e14, 40, 90);
  const camera = new THREE.PerspectiveCamera(50, 1, 0.1, 200);
  camera.position.set(0, 11, 21);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.target.set(0, 2, -2);
  controls.enableDamping = true;
  controls.maxPolarAngle = Math.PI * 0.48;
  controls.minDistance = 8;
  controls.maxDistance = 60;

  scene.add(new THREE.HemisphereLight(0xbfd4ff, 0x202533, 1.1));
  const sun = new THREE.DirectionalLight(0xffffff, 1.6);
  sun.position.set(8, 20, 12);
  scene.add(sun);

  const floor = new THREE.Mesh(new THREE.CircleGeometry(44, 64), new THREE.MeshStandardMaterial({ color: 0x151a26, roughness: 0.9 }));
  floor.rotation.x = -Math.PI / 2;
  scene.add(floor);
  const grid = new THREE.GridHelper(88, 44, 0x232a3b, 0x1a2030);
  grid.position.y = 0.01;
  scene.add(grid);

  // The exchange: a tower at the back with the ticker wall on it.
  const exchange = new THREE.Mesh(new THREE.BoxGeometry(14, 7, 1.2), new THREE.MeshStandardMaterial({ color: 0x1e2636, roughness: 0.6 }));
  exchange.position.set(0, 3.5, -10);
  scene.add(exchange);
  const tickerCanvas = document.createElement("canvas");
  tickerCanvas.width = 1024; tickerCanvas.height = 512;
  const tickerTex = new THREE.CanvasTexture(tickerCanvas);
  tickerTex.colorSpace = THREE.SRGBColorSpace;
  const ticker = new THREE.Mesh(new THREE.PlaneGeometry(13, 6.5), new THREE.MeshBasicMaterial({ map: tickerTex }));
  ticker.position.set(0, 3.5, -9.35);
  scene.add(ticker);
  const exchangePoint = new THREE.Vector3(0, 3.5, -9.3);

  // Desks: one InstancedMesh for every strategy; trained learners can join
  // the five house strategies, up to the tournament's cap of 10.
  const MAX_HEROES = 10;
  const deskGeo = new THREE.BoxGeometry(3, 1, 1.6);
  const desks = new THREE.InstancedMesh(deskGeo, new THREE.MeshStandardMaterial({ color: 0x2a3246, roughness: 0.5 }), MAX_HEROES);
  desks.count = 0;
  scene.add(desks);

  // The crowd: 1,000 capsules in one draw call, each a supporter of one of
  // the five traders (its colour), standing in rings around the desks.
  const crowdGeo = new THREE.CapsuleGeometry(0.22, 0.6, 2, 6);
  const crowd = new THREE.InstancedMesh(crowdGeo, new THREE.MeshStandardMaterial({ roughness: 0.7 }), CROWD);
  const crowdBase = [];
  const m = new THREE.Matrix4();
  const col = new THREE.Color();
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < CROWD; i++) {
    const ring = 16 + rnd() * 22, a = Math.PI * (0.05 + 0.9 * rnd()) + Math.PI; // the front half-disc
    const x = Math.cos(a) * ring, z = -Math.sin(a) * ring * 0.75 + 2;
    crowdBase.push({ x, z, phase: rnd() * Math.PI * 2, team: i, speed: 0.6 + rnd() });
    m.makeTranslation(x, 0.55, z);
    crowd.setMatrixAt(i, m);
    crowd.setColorAt(i, col.set(0x555b6e));
  }
  scene.add(crowd);
  stats.crowd = CROWD;

  // Trade tickets flying to the exchange: a pool in one InstancedMesh.
  const TICKETS = 96;
  const tickets = new THREE.InstancedMesh(new THREE.OctahedronGeometry(0.22), new THREE.MeshBasicMaterial(), TICKETS);
  tickets.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
  const flights = [];
  const hidden = new THREE.Matrix4().makeScale(0, 0, 0);
  for (let i = 0; i < TICKETS; i++) { tickets.setMatrixAt(i, hidden); tickets.setColorAt(i, col.set(0xffffff)); }
  let nextTicket = 0;
  scene.add(tickets);

  // The five heroes.
  const heroes = new Map(); // strategy id -> {group, body, plate, desk, status}
  function shapeGeometry(shape) {
    switch (shape) {
      case "cone": return new THREE.ConeGeometry(0.7, 1.8, 24);
      case "box": return new THREE.BoxGeometry(1.1, 1.6, 1.1);
      case "sphere": return new THREE.SphereGeometry(0.8, 24, 16);
      case "torus": return new THREE.TorusGeometry(0.6, 0.25, 12, 32);
      default: return new THREE.CapsuleGeometry(0.5, 0.9, 4, 16);
    }
  }
  function namePlate(text, color) {
    const c = document.createElement("canvas");
    c.width = 512; c.height = 96;
    const g = c.getContext("2d");
    g.fillStyle = "rgba(11,14,20,.85)";
    g.fillRect(0, 0, 512, 96);
    g.fillStyle = color; g.fillRect(0, 0, 10, 96);
    g.font = "bold 44px system-ui, sans-serif"; g.fillStyle = "#e6e9f2"; g.textBaseline = "middle";
    g.fillText(text, 28, 50);
    const tex = new THREE.CanvasTexture(c);
    tex.colorSpace = THREE.SRGBColorSpace;
    const sp = new THREE.Sprite(new THREE.SpriteMaterial({ map: tex, depthTest: false }));
    sp.scale.set(3.4, 0.64, 1);
    return sp;
  }
  // ensureHeroes keeps one avatar and one desk per strategy in s.profiles:
  // a newcomer gets its own, a withdrawn entrant loses both, and the arc is
  // laid out again for all, in profile order.
  let laidOut = "";
  function ensureHeroes(all) {
    const profiles = all.slice(0, MAX_HEROES);
    const key = profiles.map((p) => p.id).join("\n");
    if (key === laidOut) return;
    laidOut = key;
    const ids = new Set(profiles.map((p) => p.id));
    for (const [id, h] of heroes) {
      if (ids.has(id)) continue;
      scene.remove(h.group);
      h.body.geometry.dispose();
      h.body.material.dispose();
      h.plate.material.map.dispose();
      h.plate.material.dispose();
      heroes.delete(id);
    }
    profiles.forEach((p, i) => {
      const known = heroes.get(p.id);
      if (known) { known.index = i; return; }
      const group = new THREE.Group();
      const body = new THREE.Mesh(shapeGeometry(p.shape), new THREE.MeshStandardMaterial({ color: p.color, roughness: 0.35, metalness: 0.2, emissive: p.color, emissiveIntensity: 0.15 }));
      body.position.y = 1.9;
      body.userData.strategy = p.id;
      group.add(body);
      const plate = namePlate(p.name, p.color);
      plate.position.y = 3.6;
      group.add(plate);
      scene.add(group);
      heroes.set(p.id, { group, body, plate, status: "idle", index: i, baseColor: new THREE.Color(p.color) });
    });
    // Lay every hero out again: a newcomer or a leaver re-spaces the arc.
    const n = heroes.size;
    for (const h of heroes.values()) {
      const angle = Math.PI * (0.2 + 0.6 * (h.index / Math.max(n - 1, 1)));
      const x = -Math.cos(angle) * 10, z = Math.sin(angle) * 5 - 1;
      h.group.position.set(x, 0, z);
      h.group.lookAt(0, 0, -10);
      m.compose(new THREE.Vector3(x, 0.5, z + 1.2), h.group.quaternion, new THREE.Vector3(1, 1, 1));
      desks.setMatrixAt(h.index, m);
    }
    desks.count = n;
    desks.instanceMatrix.needsUpdate = true;
    if (n) {
      crowdBase.forEach((c, i) => crowd.setColorAt(i, col.set(profiles[c.team % n].color).multiplyScalar(0.7)));
      crowd.instanceColor.needsUpdate = true;
    }
    stats.avatars = heroes.size;
    stats.desks = desks.count;
  }

  function drawTicker(s) {
    const g = tickerCanvas.getContext("2d");
    g.fillStyle = "#0d1118"; g.fillRect(0, 0, 1024, 512);
    g.font = "bold 40px ui-monospace, monospace"; g.textBaseline = "middle";
    g.fillStyle = "#8a93a8";
    g.fillText(`ROUND ${s.round || "–"}  ${s.clock || ""}  ${(s.regime || "").toUpperCase().replace("_", " ")}`, 40, 50);
    (s.prices || []).forEach((p, i) => {
      const y = 130 + i * 72;
      g.fillStyle = "#e6e9f2"; g.fillText(p.symbol.padEnd(6), 40, y);
      g.fillText(p.mid.toFixed(2).padStart(10), 260, y);
      g.fillStyle = p.change >= 0 ? "#7cf2c5" : "#ff6b7a";
      g.fillText(((p.change >= 0 ? "▲ +" : "▼ ") + (p.change * 100).toFixed(2) + "%").padStart(12), 620, y);
    });
    tickerTex.needsUpdate = true;
  }

  function update(s) {
    ensureHeroes(s.profiles || []);
    for (const e of s.leaderboard || []) {
      const h = heroes.get(e.strategy);
      if (h) { h.status = e.status; h.rank = e.rank; }
    }
    drawTicker(s);
  }

  function fly(fills) {
    for (const f of fills.slice(-24)) {
      const h = heroes.get(f.strategy);
      if (!h) continue;
      const from = h.group.position.clone().setY(2.4);
      flights.push({ i: nextTicket, from, t: 0, dur: 0.9 + Math.random() * 0.4 });
      tickets.setColorAt(nextTicket, col.copy(h.baseColor).multiplyScalar(f.side === "buy" ? 1.2 : 0.8));
      nextTicket = (nextTicket + 1) % TICKETS;
      h.lastTrade = performance.now();
    }
    if (tickets.instanceColor) tickets.instanceColor.needsUpdate = true;
  }

  // Clicking an avatar opens its panel.
  const ray = new THREE.Raycaster();
  const pointer = new THREE.Vector2();
  renderer.domElement.addEventListener("click", (ev) => {
    const r = renderer.domElement.getBoundingClientRect();
    pointer.set(((ev.clientX - r.left) / r.width) * 2 - 1, -((ev.clientY - r.top) / r.height) * 2 + 1);
    ray.setFromCamera(pointer, camera);
    const hit = ray.intersectObjects([...heroes.values()].map((h) => h.body))[0];
    if (hit) openPanel(hit.object.userData.strategy);
  });

  function resize() {
    const w = stage.clientWidth, h = stage.clientHeight;
    renderer.setSize(w, h, false);
    camera.aspect = w / Math.max(h, 1);
    camera.updateProjectionMatrix();
  }
  new ResizeObserver(resize).observe(stage);
  resize();

  const frameTimes = [];
  const tmp = new THREE.Vector3();
  let last = performance.now();
  function frame(now) {
    const dt = Math.min((now - last) / 1000, 0.1);
    last = now;
    const t = now / 1000;
    activity *= Math.pow(0.5, dt / 1.5);
    // Heroes: pose by status.
    for (const h of heroes.values()) {
      const b = h.body;
      const recent = h.lastTrade && now - h.lastTrade < 400;
      let y = 1.9, spin = 0, sx = 1, sy = 1;
      switch (h.status) {
        case "celebrating": y += Math.abs(Math.sin(t * 6)) * 1.2; spin = 4; break;
        case "winning": y += 0.4 + Math.sin(t * 3) * 0.15; spin = 1.2; break;
        case "losing": y -= 0.3; sy = 0.8; sx = 1.1; break;
        case "stopped": y -= 0.7; sy = 0.5; sx = 1.3; break;
        case "trading": y += Math.abs(Math.sin(t * 10)) * 0.3; break;
        default: y += Math.sin(t * 1.5 + h.index) * 0.08;
      }
      if (recent) y += 0.25;
      b.position.y += (y - b.position.y) * Math.min(1, dt * 8);
      b.rotation.y += spin * dt;
      b.scale.x += (sx - b.scale.x) * Math.min(1, dt * 6);
      b.scale.z = b.scale.x;
      b.scale.y += (sy - b.scale.y) * Math.min(1, dt * 6);
      b.material.color.copy(h.baseColor);
      if (h.status === "stopped") b.material.color.multiplyScalar(0.35);
    }
    // The crowd bobs with the trading activity; supporters of the leader jump.
    const leader = lastState?.leaderboard?.[0]?.strategy;
    const leaderTeam = leader ? heroes.get(leader)?.index : -1;
    const amp = 0.05 + Math.min(activity / 40, 1) * 0.35;
    for (let i = 0; i < CROWD; i++) {
      const c = crowdBase[i];
      const cheer = c.team % Math.max(heroes.size, 1) === leaderTeam ? 1.8 : 1;
      const y = 0.55 + Math.abs(Math.sin(t * 3 * c.speed + c.phase)) * amp * cheer;
      m.makeTranslation(c.x, y, c.z);
      crowd.setMatrixAt(i, m);
    }
    crowd.instanceMatrix.needsUpdate = true;
    // Tickets.
    for (let k = flights.length - 1; k >= 0; k--) {
      const f = flights[k];
      f.t += dt / f.dur;
      if (f.t >= 1) { tickets.setMatrixAt(f.i, hidden); flights.splice(k, 1); continue; }
      tmp.lerpVectors(f.from, exchangePoint, f.t);
      tmp.y += Math.sin(f.t * Math.PI) * 3;
      m.makeTranslation(tmp.x, tmp.y, tmp.z);
      tickets.setMatrixAt(f.i, m);
    }
    tickets.instanceMatrix.needsUpdate = true;
    stats.tickets = flights.length;
    controls.update();
    renderer.info.reset();
    const t0 = performance.now();
    renderer.render(scene, camera);
    stats.renderMs = performance.now() - t0;
    if (frame.prev) frameTimes.push(now - frame.prev); // frame time: between two frames
    frame.prev = now;
    stats.frames++;
    stats.drawCalls = renderer.info.render.calls;
    stats.triangles = renderer.info.render.triangles;
    if (frameTimes.length > 240) frameTimes.shift();
    if (stats.frames % 10 === 0) {
      const s = [...frameTimes].sort((a, b) => a - b);
      stats.p50 = s[Math.floor(s.length * 0.5)];
      stats.p95 = s[Math.floor(s.length * 0.95)];
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  return { update, fly };
}

// ---------------------------------------------------------------- 2D fallback

function start2D() {
  stats.mode = "2d";
  const c = document.getElementById("floor-2d");
  c.hidden = false;
  const g = c.getContext("2d");
  function update(s) {
    const w = (c.width = stage.clientWidth), h = (c.height = stage.clientHeight);
    g.fillStyle = "#0b0e14"; g.fillRect(0, 0, w, h);
    g.fillStyle = "#1e2636"; g.fillRect(w * 0.2, 20, w * 0.6, 110);
    g.font = "bold 15px ui-monospace, monospace"; g.fillStyle = "#e6e9f2";
    (s.prices || []).forEach((p, i) => {
      g.fillStyle = p.change >= 0 ? "#7cf2c5" : "#ff6b7a";
      g.fillText(`${p.symbol} ${p.mid.toFixed(2)} ${(p.change * 100).toFixed(2)}%`, w * 0.22 + (i % 3) * w * 0.19, 52 + Math.floor(i / 3) * 34);
    });
    const board = s.leaderboard || [];
    (s.profiles || []).forEach((p, i) => {
      const x = w * (0.15 + 0.7 * (i / Math.max(s.profiles.length - 1, 1))), y = h * 0.62;
      const e = board.find((b) => b.strategy === p.id);
      g.fillStyle = p.color;
      g.beginPath(); g.arc(x, y - (e?.status === "winning" || e?.status === "celebrating" ? 18 : 0), 26, 0, Math.PI * 2); g.fill();
      g.fillStyle = "#e6e9f2"; g.textAlign = "center";
      g.fillText(p.name, x, y + 50);
      g.fillText(e ? money(e.pnl) : "", x, y + 70);
      g.textAlign = "left";
    });
    stats.avatars = (s.profiles || []).length;
    stats.frames++;
  }
  fallback = { update };
  if (lastState) update(lastState);
}

// ---------------------------------------------------------------- the side panel

let panelFor = null;
function openPanel(id) {
  panelFor = id;
  document.getElementById("ap-memory").href = `/memory?agent=${encodeURIComponent(id)}`;
  document.getElementById("avatar-panel").hidden = false;
  renderPanel();
}
document.getElementById("avatar-close").addEventListener("click", () => {
  panelFor = null;
  document.getElementById("avatar-panel").hidden = true;
});
window.metastationFloor.open = openPanel;

function renderPanel() {
  if (!panelFor || !lastState) return;
  const p = profileOf(panelFor);
  const e = (lastState.leaderboard || []).find((x) => x.strategy === panelFor);
  if (!p) return;
  document.getElementById("ap-name").textContent = p.name;
  document.getElementById("ap-name").style.color = p.color;
  document.getElementById("ap-style").textContent = `${p.style} · risk ${p.risk} · holds ${p.holding}`;
  document.getElementById("ap-bio").textContent = p.bio;
  document.getElementById("ap-pnl").textContent = e ? `${money(e.pnl)} (${pct(e.return)})` : "–";
  document.getElementById("ap-meta").textContent = e ? `rank ${e.rank} · ${e.status} · turnover ${e.turnover.toFixed(1)}× · fees ${money(e.fees).slice(1)}` : "";
  const body = document.getElementById("ap-positions").tBodies[0];
  const prices = lastState.prices || [];
  body.replaceChildren(...(e?.position || []).map((q, i) => ({ q, sym: prices[i]?.symbol, mid: prices[i]?.mid }))
    .filter((r) => Math.abs(r.q) > 1e-9)
    .map((r) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td></td><td></td><td></td>`;
      tr.children[0].textContent = r.sym;
      tr.children[1].textContent = r.q.toLocaleString("en-US");
      tr.children[2].textContent = money(r.q * r.mid).replace("+", "");
      return tr;
    }));
  const cv = document.getElementById("ap-curve");
  const g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  const curve = e?.curve || [];
  if (curve.length > 1) {
    const lo = Math.min(...curve), hi = Math.max(...curve), span = Math.max(hi - lo, 1);
    g.strokeStyle = p.color; g.lineWidth = 2; g.beginPath();
    curve.forEach((v, i) => {
      const x = (i / (curve.length - 1)) * cv.width, y = cv.height - 4 - ((v - lo) / span) * (cv.height - 8);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }
}
