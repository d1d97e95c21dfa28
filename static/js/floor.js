// floor.js: the 3D trading floor. The traders stand at their desks as
// procedural humanoids (static/js/avatars.js), one look and colour per
// strategy; 1,000 background traders fill the stands around them; a ticker
// wall shows live prices and trade tickets fly from the traders' hands to
// the exchange's order slot, under the ticker. Motion follows the real
// tournament: a trader types when it places orders and fills, celebrates
// when it leads, despairs when it loses or is stopped, and walks to the
// ticker wall after a big fill; the crowd cheers or sags with the trader
// it supports and turns agitated in a crisis. Without WebGL it draws a 2D
// floor.
//
// Frame statistics for tests and curious people: window.metastationFloor
// (drawCalls, frameMs, fps, visibleCrowd, ...).
import { connect, renderBoard, profileOf } from "./tournament-common.js";
import { $, el, get, money, dollars, pct, count, price } from "./page.js";

const stage = $("floor");
const stats = (window.metastationFloor = {
  webgl: false, frames: 0, drawCalls: 0, triangles: 0, p50: 0, p95: 0, frameMs: 0, fps: 0,
  avatars: 0, crowd: 0, visibleCrowd: 0, tickets: 0, fills: 0, mode: "starting",
  looks: 0, heroAnims: {}, crowdAnims: {}, agitation: 0, walks: 0, ticketsOverTicker: 0, pixelRatio: 0,
  fillsBy: {}, // fills seen on this page per strategy
  crisisAgitation: 0, // the crowd's highest agitation while a crisis was on
});

const CROWD = 1000;
let scene3d = null;
let fallback = null;
let lastState = null;
let activity = 0; // decaying count of recent fills: drives the crowd

// The last fills of each strategy seen on this page: its card's "last
// decisions".
const decisions = new Map();

connect((s) => {
  lastState = s;
  renderBoard(s, false);
  if (scene3d) scene3d.update(s);
  if (fallback) fallback.update(s);
  renderPanel();
}, (fills) => {
  stats.fills += fills.length;
  activity = Math.min(activity + fills.length, 60);
  const clock = lastState?.clock || "";
  for (const f of fills) {
    stats.fillsBy[f.strategy] = (stats.fillsBy[f.strategy] || 0) + 1;
    const list = decisions.get(f.strategy) || [];
    list.push({ ...f, clock });
    if (list.length > 12) list.shift();
    decisions.set(f.strategy, list);
  }
  if (scene3d) scene3d.fly(fills);
  if (panelFor && fills.some((f) => f.strategy === panelFor)) renderPanel();
});

function webglAvailable() {
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") || c.getContext("webgl"));
  } catch { return false; }
}

if (webglAvailable() && !new URLSearchParams(location.search).has("2d")) {
  Promise.all([import("../vendor/three/three.module.js"), import("../vendor/three/OrbitControls.js"), import("./avatars.js")])
    .then(([THREE, { OrbitControls }, avatars]) => {
      scene3d = build3D(THREE, OrbitControls, avatars);
      if (lastState) scene3d.update(lastState);
    })
    .catch((err) => { console.error("floor: WebGL scene failed, drawing 2D", err); start2D(); });
} else {
  start2D();
}

// ---------------------------------------------------------------- 3D

// Each strategy's look, by the shape its profile names.
const LOOKS = { cone: "cap", box: "suit", sphere: "round", torus: "headset", capsule: "bot" };
const lookOf = (p) => LOOKS[p.shape] || "bot";

// What a trader's status makes it do.
function heroAnim(status, ANIM) {
  switch (status) {
    case "trading": return [ANIM.typing, 1];
    case "winning": return [ANIM.celebrating, 0.5];
    case "celebrating": return [ANIM.celebrating, 1];
    case "losing": return [ANIM.despairing, 0.5];
    case "stopped": return [ANIM.despairing, 1];
    default: return [ANIM.idle, 1];
  }
}

function build3D(THREE, OrbitControls, { ANIM, figure, crowdMaterial, heroMaterial, heroPoser, animate, crowdSprites }) {
  const ANIM_NAME = Object.fromEntries(Object.entries(ANIM).map(([name, v]) => [v, name]));
  // Software renderers (SwiftShader in headless browsers, old laptops) get
  // no antialiasing, at most SOFT_PIXELS pixels and a resolution that
  // adapts to hold the frame rate. The drawing buffer is not preserved
  // (that is a copy of it every frame); tests read pixels through
  // metastationFloor.sample(), right after a frame is drawn.
  const probe = document.createElement("canvas").getContext("webgl2");
  const dbg = probe && probe.getExtension("WEBGL_debug_renderer_info");
  const gpu = dbg ? String(probe.getParameter(dbg.UNMASKED_RENDERER_WEBGL)) : "";
  const software = /swiftshader|llvmpipe|software/i.test(gpu);
  stats.gpu = gpu;
  stats.software = software;
  const renderer = new THREE.WebGLRenderer({ antialias: !software, powerPreference: "high-performance" });
  const SOFT_PIXELS = 640 * 380;
  const maxRatioFor = (w, h) => software ? Math.min(0.75, Math.sqrt(SOFT_PIXELS / Math.max(w * h, 1))) : Math.min(window.devicePixelRatio || 1, 2);
  let maxRatio = maxRatioFor(stage.clientWidth, stage.clientHeight);
  let ratio = maxRatio;
  let held = 0; // a pixel ratio held by holdPixelRatio, or 0
  renderer.setPixelRatio(ratio);
  renderer.info.autoReset = false;
  stage.prepend(renderer.domElement);
  renderer.domElement.id = "floor-3d";
  stats.webgl = true;
  stats.mode = "webgl";

  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0x0b0e14);
  scene.fog = new THREE.Fog(0x0b0e14, 45, 95);
  const camera = new THREE.PerspectiveCamera(50, 1.5, 0.1, 200);
  const HOME_CAM = new THREE.Vector3(0, 10, 16), HOME_TARGET = new THREE.Vector3(0, 1.6, -4);
  camera.position.copy(HOME_CAM);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.target.copy(HOME_TARGET);
  controls.enableDamping = true;
  controls.maxPolarAngle = Math.PI * 0.47;
  controls.minDistance = 6;
  controls.maxDistance = 60;

  scene.add(new THREE.HemisphereLight(0xc8d8ff, 0x262b38, 1.6));
  const sun = new THREE.DirectionalLight(0xffffff, 1.5);
  sun.position.set(6, 20, 14);
  scene.add(sun);

  // Flat surfaces under these two lights have one colour each: they are
  // drawn unlit in it (a Lambert floor filling half the canvas cost more
  // than all the traders under SwiftShader).
  const lit = (hex, nx, ny, nz) => {
    const n = new THREE.Vector3(nx, ny, nz).normalize();
    const sky = new THREE.Color(0xc8d8ff), ground = new THREE.Color(0x262b38);
    const irr = ground.lerp(sky, 0.5 * n.y + 0.5).multiplyScalar(1.6);
    const dotNL = Math.max(0, n.dot(sun.position.clone().normalize()));
    irr.add(new THREE.Color(1, 1, 1).multiplyScalar(1.5 * dotNL));
    return new THREE.Color(hex).multiply(irr).multiplyScalar(1 / Math.PI);
  };
  const floor = new THREE.Mesh(new THREE.CircleGeometry(48, 48), new THREE.MeshBasicMaterial({ color: lit(0x151a26, 0, 1, 0) }));
  floor.rotation.x = -Math.PI / 2;
  scene.add(floor);
  const grid = new THREE.GridHelper(96, 48, 0x232a3b, 0x1a2030);
  grid.position.y = 0.01;
  scene.add(grid);

  // The exchange: a wall with the ticker on it and, under the ticker, the
  // order slot the tickets fly into (so they never cover the prices).
  const WALL_Z = -12;
  const wall = new THREE.Mesh(new THREE.BoxGeometry(18, 10, 1), new THREE.MeshBasicMaterial({ color: lit(0x1e2636, 0, 0, 1) }));
  wall.position.set(0, 5, WALL_Z);
  scene.add(wall);
  const TICKER = { w: 15, h: 7.5, y: 5.6 };
  const ticker = new THREE.Mesh(new THREE.PlaneGeometry(TICKER.w, TICKER.h), new THREE.MeshBasicMaterial({ color: 0x0d1118, fog: false }));
  ticker.position.set(0, TICKER.y, WALL_Z + 0.52);
  scene.add(ticker);
  const tickerText = textGrid(THREE, TICKER_COLS, TICKER_ROWS, TICKER.w, TICKER.h);
  tickerText.mesh.position.set(0, TICKER.y, WALL_Z + 0.54);
  scene.add(tickerText.mesh);
  stats.tickerLine = (row) => tickerText.text(row);
  const slot = new THREE.Mesh(new THREE.BoxGeometry(14, 0.35, 0.3), new THREE.MeshBasicMaterial({ color: 0x2b8f76 }));
  slot.position.set(0, 0.9, WALL_Z + 0.6);
  scene.add(slot);
  const SLOT_Y = 0.9, SLOT_Z = WALL_Z + 0.7;

  // Desks and monitors: one InstancedMesh each for every trader.
  const MAX_HEROES = 10;
  const desks = new THREE.InstancedMesh(new THREE.BoxGeometry(2.2, 0.85, 1), new THREE.MeshLambertMaterial({ color: 0x2a3246 }), MAX_HEROES);
  const monitors = new THREE.InstancedMesh(new THREE.BoxGeometry(0.9, 0.55, 0.06), new THREE.MeshBasicMaterial({ color: 0xffffff }), MAX_HEROES * 2);
  const consoles = new THREE.InstancedMesh(new THREE.BoxGeometry(0.5, 0.92, 0.3), new THREE.MeshLambertMaterial({ color: 0x3a4460 }), MAX_HEROES);
  const tilt = new THREE.Quaternion().setFromAxisAngle(new THREE.Vector3(1, 0, 0), -0.12);
  desks.count = 0; monitors.count = 0; consoles.count = 0;
  scene.add(desks, monitors, consoles);

  // Shared by every avatar material: the clock and the crowd's agitation.
  const uniforms = { uTime: { value: 0 }, uAgitation: { value: 0 } };
  const crowdMat = crowdMaterial(THREE, uniforms);
  const poseHero = heroPoser(THREE);

  // ------------------------------------------------------------ the crowd
  // 1,000 supporters in the stands: two wings rising to the sides and a
  // pit in front, placed so the whole crowd is in the opening view. Two
  // levels of detail: near the camera the rounded figure, farther a boxy
  // one of ~120 triangles; members move between them as the camera moves.
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const members = [];
  {
    const cam = new THREE.PerspectiveCamera(50, 1.3, 0.1, 200); // narrower than the page: all in view at any wider aspect
    cam.position.copy(HOME_CAM); cam.lookAt(HOME_TARGET); cam.updateMatrixWorld(); cam.updateProjectionMatrix();
    const fr = new THREE.Frustum().setFromProjectionMatrix(new THREE.Matrix4().multiplyMatrices(cam.projectionMatrix, cam.matrixWorldInverse));
    const p = new THREE.Vector3();
    const inView = (x, y, z) => fr.containsPoint(p.set(x, y + 0.2, z)) && fr.containsPoint(p.set(x, y + 1.9, z));
    for (let tries = 0; members.length < CROWD && tries < 200000; tries++) {
      const r = rnd();
      let x, z, y = 0;
      if (r < 0.5) { // the wings: rows rising outwards
        const side = rnd() < 0.5 ? -1 : 1, row = Math.floor(rnd() * 12);
        x = side * (10.5 + row * 0.75 + rnd() * 0.25);
        z = -15 + rnd() * 16;
        y = row * 0.22;
      } else if (r < 0.65) { // beside the exchange, clear of the traders' path
        const side = rnd() < 0.5 ? -1 : 1;
        x = side * (7.8 + rnd() * 3.4);
        z = -11 + rnd() * 5;
      } else { // the pit in front
        x = (rnd() * 2 - 1) * 14;
        z = 1.2 + rnd() * 9;
      }
      if (!inView(x, y, z)) continue;
      if (members.some((m) => Math.abs(m.x - x) < 0.34 && Math.abs(m.z - z) < 0.34 && Math.abs(m.y - y) < 0.2)) continue;
      const yaw = Math.atan2(-x * 0.8, 0 - z - 3) + (rnd() - 0.5) * 0.6; // face the desks
      members.push({ x, y, z, yaw, team: members.length, phase: rnd(), tempo: 0.8 + rnd() * 0.5,
        anim: ANIM.idle, k: 1, since: 0, mesh: -1, slot: -1, pick: rnd() });
    }
  }
  // Nearest first: the billboards are drawn front to back, so the depth
  // test throws away most of the rows behind before they are shaded.
  const d2 = (m) => (m.x - HOME_CAM.x) ** 2 + (m.y + 1 - HOME_CAM.y) ** 2 + (m.z - HOME_CAM.z) ** 2;
  members.sort((a, b) => d2(a) - d2(b));
  // Near the camera a supporter is a 3D figure; farther, a billboard.
  const near3D = (() => {
    const mesh = new THREE.InstancedMesh(figure(THREE, "fan", 1), crowdMat, CROWD);
    mesh.frustumCulled = false; // the vertex shader moves the limbs
    mesh.count = 0;
    mesh.setColorAt(0, new THREE.Color(1, 1, 1));
    scene.add(mesh);
    return { mesh, anim: animate(THREE, mesh, CROWD) };
  })();
  const sprites = crowdSprites(THREE, CROWD, uniforms);
  scene.add(sprites.mesh);
  stats.crowd = members.length;
  // For measuring what the crowd costs: metastationFloor.showCrowd(false).
  stats.showCrowd = (on, far = on) => { near3D.mesh.visible = !!on; sprites.mesh.visible = !!far; return on; };
  const LOD_NEAR = 13; // metres from the camera: the front row or so
  const mat4 = new THREE.Matrix4(), quat = new THREE.Quaternion(), vec = new THREE.Vector3(), one = new THREE.Vector3(1, 1, 1);
  const col = new THREE.Color(), up = new THREE.Vector3(0, 1, 0);
  // The traders and their desks are drawn a third larger than the crowd:
  // they are who the audience came to see.
  const S = 1.35, big = new THREE.Vector3(S, S, S);
  let teamColors = [];
  function memberColor(m) {
    return teamColors.length ? col.copy(teamColors[m.team % teamColors.length]).multiplyScalar(0.85) : col.set(0x6b7286);
  }
  function writeAnim(m) {
    if (m.mesh === 1) near3D.anim.to(m.slot, m.anim, m.since, m.k);
    else sprites.anim(m.slot, m.anim, m.k, m.phase, m.tempo);
  }
  // placeCrowd (re)assigns every member to a level of detail by its
  // distance to the camera and writes its instance data there.
  let placedFrom = new THREE.Vector3(1e9, 0, 0);
  function placeCrowd(force) {
    if (!force && placedFrom.distanceToSquared(camera.position) < 1) return;
    placedFrom.copy(camera.position);
    const n = [0, 0];
    for (const m of members) {
      const near = camera.position.distanceTo(vec.set(m.x, m.y + 1, m.z)) < LOD_NEAR ? 1 : 0;
      const i = n[near]++;
      m.mesh = near; m.slot = i;
      if (near) {
        mat4.compose(vec.set(m.x, m.y, m.z), quat.setFromAxisAngle(up, m.yaw), one);
        near3D.mesh.setMatrixAt(i, mat4);
        near3D.mesh.setColorAt(i, memberColor(m));
        near3D.anim.init(i, m.phase, m.tempo);
        near3D.anim.state[i] = -1;
      } else {
        sprites.set(i, m.x, m.y, m.z, memberColor(m));
      }
      writeAnim(m);
    }
    near3D.mesh.count = n[1];
    near3D.mesh.instanceMatrix.needsUpdate = true;
    if (near3D.mesh.instanceColor) near3D.mesh.instanceColor.needsUpdate = true;
    sprites.count = n[0];
    stats.crowdNear = n[1];
    stats.crowdFar = n[0];
  }
  function setMember(m, anim, k, now) {
    if (m.anim === anim && m.k === k) return;
    m.anim = anim; m.k = k; m.since = now;
    if (m.mesh >= 0) writeAnim(m);
  }

  // ------------------------------------------------------------ the traders
  // One mesh per trader (at most ten draw calls), its geometry shared by
  // its look, its skeleton posed once a frame in JavaScript.
  const lookGeometry = new Map(); // look -> BufferGeometry
  function traderMesh(look, color) {
    if (!lookGeometry.has(look)) lookGeometry.set(look, figure(THREE, look, 2));
    const hm = heroMaterial(THREE, color);
    const mesh = new THREE.Mesh(lookGeometry.get(look), hm.material);
    mesh.frustumCulled = false; // arms raised reach out of the rest pose's bounds
    mesh.scale.setScalar(S);
    scene.add(mesh);
    return { mesh, bones: hm.bones };
  }
  const heroes = new Map(); // strategy id -> hero
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
    const sp = new THREE.Sprite(new THREE.SpriteMaterial({ map: tex, depthTest: false, fog: false }));
    sp.scale.set(2.9, 0.55, 1);
    return sp;
  }
  // ensureHeroes keeps one avatar, desk and plate per strategy in
  // s.profiles: a newcomer gets its own, a withdrawn entrant loses them, and
  // the arc is laid out again for all, in profile order.
  let laidOut = "";
  function ensureHeroes(all) {
    const profiles = all.slice(0, MAX_HEROES);
    const key = profiles.map((p) => p.id).join("\n");
    if (key === laidOut) return;
    laidOut = key;
    const ids = new Set(profiles.map((p) => p.id));
    for (const [id, h] of heroes) {
      if (ids.has(id)) continue;
      scene.remove(h.plate, h.mesh);
      h.plate.material.map.dispose();
      h.plate.material.dispose();
      h.mesh.material.dispose();
      heroes.delete(id);
    }
    profiles.forEach((p, i) => {
      const known = heroes.get(p.id);
      if (known) { known.index = i; return; }
      const plate = namePlate(p.name, p.color);
      scene.add(plate);
      const look = lookOf(p);
      const { mesh, bones } = traderMesh(look, p.color);
      heroes.set(p.id, { id: p.id, look, color: new THREE.Color(p.color), plate, mesh, bones, index: i, status: "idle",
        pos: new THREE.Vector3(), home: new THREE.Vector3(), yaw: 0, homeYaw: 0, anim: ANIM.idle, from: ANIM.idle, since: 0, k: 1,
        phase: i * 0.37, walk: null, lastTrade: 0, lastWalk: -1e9, sizes: [] });
    });
    // Lay every trader out again: a newcomer or a leaver re-spaces the arc.
    const n = heroes.size;
    let k = 0;
    for (const h of [...heroes.values()].sort((a, b) => a.index - b.index)) {
      const a = Math.PI * (0.22 + 0.56 * (n > 1 ? h.index / (n - 1) : 0.5));
      h.home.set(-Math.cos(a) * 9, 0, -Math.sin(a) * 2.5 - 1.5);
      h.homeYaw = Math.atan2(-h.home.x * 0.5, 14 - h.home.z); // face the audience
      if (!h.walk) { h.pos.copy(h.home); h.yaw = h.homeYaw; }
      h.phase = h.index * 0.37;
      // Behind the trader its desk with two screens facing the audience
      // (its colour, dimmed); in front, the console it types on.
      quat.setFromAxisAngle(up, h.homeYaw);
      const fwd = new THREE.Vector3(Math.sin(h.homeYaw), 0, Math.cos(h.homeYaw));
      const side = new THREE.Vector3(fwd.z, 0, -fwd.x);
      mat4.compose(vec.copy(h.home).addScaledVector(fwd, -0.9 * S).setY(0.425 * S), quat, big);
      desks.setMatrixAt(k, mat4);
      for (const s of [-0.48, 0.48]) {
        mat4.compose(vec.copy(h.home).addScaledVector(fwd, -1.15 * S).addScaledVector(side, s * S).setY(1.15 * S), quat, big);
        monitors.setMatrixAt(2 * k + (s < 0 ? 0 : 1), mat4);
        monitors.setColorAt(2 * k + (s < 0 ? 0 : 1), col.copy(h.color).lerp(new THREE.Color(0x0d1118), 0.45));
      }
      mat4.compose(vec.copy(h.home).addScaledVector(fwd, 0.62 * S).setY(0.46 * S), quat.multiply(tilt), big);
      consoles.setMatrixAt(k, mat4);
      k++;
    }
    desks.count = n; monitors.count = 2 * n; consoles.count = n;
    desks.instanceMatrix.needsUpdate = true;
    consoles.instanceMatrix.needsUpdate = true;
    monitors.instanceMatrix.needsUpdate = true;
    if (monitors.instanceColor) monitors.instanceColor.needsUpdate = true;
    // The crowd wears its trader's colour.
    teamColors = profiles.map((p) => new THREE.Color(p.color));
    placeCrowd(true);
    stats.avatars = heroes.size;
    stats.desks = desks.count;
    stats.looks = new Set([...heroes.values()].map((h) => h.look)).size;
  }

  function drawTicker(s) {
    const t = tickerText;
    t.clear();
    const crisis = s.regime === "crisis" || s.regime === "black_swan";
    t.write(0, 2, `ROUND ${s.round || "–"}  ${s.clock || ""}  ${(s.regime || "").toUpperCase().replace("_", " ")}`, crisis ? 0xff6b7a : 0x8a93a8);
    (s.prices || []).slice(0, TICKER_ROWS - 1).forEach((p, i) => {
      t.write(i + 1, 2, p.symbol.slice(0, 6), 0xe6e9f2);
      t.write(i + 1, 10, p.mid.toFixed(2).padStart(10), 0xe6e9f2);
      t.write(i + 1, 25, ((p.change >= 0 ? "▲ +" : "▼ ") + (p.change * 100).toFixed(2) + "%").padStart(12), p.change >= 0 ? 0x7cf2c5 : 0xff6b7a);
    });
    t.commit();
  }

  // The crowd follows the round: agitation in a crisis, its trader's fate
  // otherwise (a share of the leader's supporters cheer, a losing trader's
  // sag).
  let agitationTarget = 0;
  function reactCrowd(s, now) {
    agitationTarget = { crisis: 1, black_swan: 1, volatile: 0.35 }[s.regime] || 0;
    const board = new Map((s.leaderboard || []).map((e) => [e.strategy, e]));
    const ids = (s.profiles || []).slice(0, MAX_HEROES).map((p) => p.id);
    const counts = {};
    for (const m of members) {
      const e = board.get(ids[m.team % Math.max(ids.length, 1)]);
      let a = ANIM.idle, k = 1;
      if (e && (e.status === "celebrating" || (e.status === "winning" && e.rank === 1)) && m.pick < 0.6) { a = ANIM.celebrating; k = e.status === "celebrating" ? 1 : 0.5; }
      else if (e && (e.status === "stopped" || e.status === "losing") && m.pick < 0.5) { a = ANIM.despairing; k = 0.5; }
      setMember(m, a, k, now);
      counts[ANIM_NAME[a]] = (counts[ANIM_NAME[a]] || 0) + 1;
    }
    stats.crowdAnims = counts;
  }

  function update(s) {
    ensureHeroes(s.profiles || []);
    for (const e of s.leaderboard || []) {
      const h = heroes.get(e.strategy);
      if (h) { h.status = e.status; h.rank = e.rank; }
    }
    reactCrowd(s, uniforms.uTime.value);
    drawTicker(s);
  }

  // Trade tickets fly from the trader's hands to the order slot: a pool in
  // one InstancedMesh.
  const TICKETS = 96;
  const tickets = new THREE.InstancedMesh(new THREE.OctahedronGeometry(0.16), new THREE.MeshBasicMaterial(), TICKETS);
  tickets.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
  tickets.frustumCulled = false;
  const flights = [];
  const hidden = new THREE.Matrix4().makeScale(0, 0, 0);
  for (let i = 0; i < TICKETS; i++) { tickets.setMatrixAt(i, hidden); tickets.setColorAt(i, col.set(0xffffff)); }
  let nextTicket = 0;
  scene.add(tickets);

  // A fill is big for a trader when it is worth three times the median of
  // its recent fills (and at least $20,000): the trader walks to the ticker.
  function fly(fills) {
    const now = performance.now();
    for (const f of fills.slice(-24)) {
      const h = heroes.get(f.strategy);
      if (!h) continue;
      const from = h.pos.clone().add(new THREE.Vector3(Math.sin(h.yaw) * 0.5, 1.2, Math.cos(h.yaw) * 0.5));
      const to = new THREE.Vector3(THREE.MathUtils.clamp(h.pos.x * 0.7, -6.5, 6.5), SLOT_Y, SLOT_Z);
      // A full pool recycles the oldest ticket.
      const old = flights.findIndex((x) => x.i === nextTicket);
      if (old >= 0) flights.splice(old, 1);
      flights.push({ i: nextTicket, from, to, t: 0, dur: 1.1 + Math.random() * 0.4 });
      tickets.setColorAt(nextTicket, col.copy(h.color).multiplyScalar(f.side === "buy" ? 1.25 : 0.75));
      nextTicket = (nextTicket + 1) % TICKETS;
      h.lastTrade = now;
      const value = Math.abs(f.qty * f.price);
      const sorted = [...h.sizes].sort((a, b) => a - b);
      const median = sorted.length >= 5 ? sorted[sorted.length >> 1] : Infinity;
      h.sizes.push(value);
      if (h.sizes.length > 40) h.sizes.shift();
      if (!h.walk && value >= Math.max(3 * median, 20000) && now - h.lastWalk > 12000) {
        // Round the desk (by the side nearer the centre), to the wall, and back.
        const side = new THREE.Vector3(Math.cos(h.homeYaw), 0, -Math.sin(h.homeYaw)).multiplyScalar(h.home.x > 0 ? -1.27 * S : 1.27 * S);
        const beside = h.home.clone().add(side);
        const wallPoint = new THREE.Vector3(THREE.MathUtils.clamp(h.home.x * 0.8, -6.5, 6.5), 0, WALL_Z + 2.2);
        h.walk = { path: [beside, wallPoint, "look", beside, h.home.clone()], wait: 0 };
        h.lastWalk = now;
        stats.walks++;
      }
    }
    if (tickets.instanceColor) tickets.instanceColor.needsUpdate = true;
  }

  // Clicking a trader opens its card (beside the scene, never over it).
  const ray = new THREE.Raycaster();
  const pointer = new THREE.Vector2();
  renderer.domElement.addEventListener("click", (ev) => {
    const r = renderer.domElement.getBoundingClientRect();
    pointer.set(((ev.clientX - r.left) / r.width) * 2 - 1, -((ev.clientY - r.top) / r.height) * 2 + 1);
    ray.setFromCamera(pointer, camera);
    // Each trader is hit as an upright cylinder where it stands.
    let best = null, bestD = Infinity;
    for (const h of heroes.values()) {
      for (const y of [0.5, 1.2, 1.9, 2.4]) {
        const d = ray.ray.distanceSqToPoint(vec.set(h.pos.x, y, h.pos.z));
        if (d < 0.3 && d < bestD) { bestD = d; best = h; }
      }
    }
    if (best) openPanel(best.id);
  });

  // screenOf returns where trader id's chest is on the page (client
  // pixels): tests click it as a person would.
  stats.screenOf = (id) => {
    const h = heroes.get(id);
    if (!h) return null;
    const r = renderer.domElement.getBoundingClientRect();
    const p = new THREE.Vector3(h.pos.x, 1.3 * S, h.pos.z).project(camera);
    return { x: r.left + (p.x + 1) / 2 * r.width, y: r.top + (1 - p.y) / 2 * r.height };
  };

  function resize() {
    const w = stage.clientWidth, h = stage.clientHeight;
    maxRatio = maxRatioFor(w, h);
    if (!held && (ratio > maxRatio || (!software && ratio !== maxRatio))) { ratio = maxRatio; renderer.setPixelRatio(ratio); }
    renderer.setSize(w, h, false);
    camera.aspect = w / Math.max(h, 1);
    // A stage narrower than 1.3:1 (a phone's) widens the view instead of
    // cutting the traders at the ends of the arc and the crowd's wings off:
    // the horizontal field never gets narrower than at 1.3:1 and 50°.
    camera.fov = camera.aspect >= 1.3 ? 50 : 2 * THREE.MathUtils.radToDeg(Math.atan(Math.tan(THREE.MathUtils.degToRad(25)) * 1.3 / camera.aspect));
    camera.updateProjectionMatrix();
  }
  new ResizeObserver(resize).observe(stage);
  resize();

  // How many of the crowd the camera sees, and whether any ticket covers
  // the ticker, for the tests and the curious.
  const frustum = new THREE.Frustum(), pv = new THREE.Matrix4();
  function countVisible() {
    pv.multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse);
    frustum.setFromProjectionMatrix(pv);
    let n = 0;
    for (const m of members) if (frustum.containsPoint(vec.set(m.x, m.y + 1.1, m.z))) n++;
    stats.visibleCrowd = n;
  }
  const tickerBox = new THREE.Box2(), p2 = new THREE.Vector2();
  function tickerRect() {
    tickerBox.makeEmpty();
    for (const [dx, dy] of [[-1, -1], [1, -1], [-1, 1], [1, 1]]) {
      vec.set(dx * TICKER.w / 2, TICKER.y + dy * TICKER.h / 2, ticker.position.z).project(camera);
      tickerBox.expandByPoint(p2.set(vec.x, vec.y));
    }
  }

  const frameTimes = [];
  const sampling = [];
  stats.sample = () => new Promise((resolve) => sampling.push(resolve));
  stats.holdPixelRatio = (r) => { held = r; return r; };
  const tmp = new THREE.Vector3();
  let last = performance.now();
  let over = 0;
  function frame(now) {
    const dt = Math.min((now - last) / 1000, 0.1);
    last = now;
    const t = now / 1000;
    uniforms.uTime.value = t;
    activity *= Math.pow(0.5, dt / 1.5);
    uniforms.uAgitation.value += (agitationTarget - uniforms.uAgitation.value) * Math.min(1, dt * 1.5);
    stats.agitation = Math.round(uniforms.uAgitation.value * 100) / 100;
    if (agitationTarget >= 1) stats.crisisAgitation = Math.max(stats.crisisAgitation, stats.agitation);

    // Traders: walk, turn, and pose by what they are doing.
    const anims = stats.heroAnims;
    for (const h of heroes.values()) {
      let anim, k = 1;
      if (h.walk) {
        const w = h.walk;
        const target = w.path[0];
        if (target === "look") {
          anim = ANIM.idle;
          if (w.wait === 0) w.wait = 1.6;
          w.wait -= dt;
          let dy = Math.PI - h.yaw; // face the wall
          dy = Math.atan2(Math.sin(dy), Math.cos(dy));
          h.yaw += dy * Math.min(1, dt * 4);
          if (w.wait <= 0) w.path.shift();
        } else {
          tmp.subVectors(target, h.pos).setY(0);
          const d = tmp.length();
          anim = ANIM.walking;
          if (d < 0.08) {
            w.path.shift();
            if (!w.path.length) { h.walk = null; h.pos.copy(h.home); }
          } else {
            h.pos.addScaledVector(tmp.normalize(), Math.min(d, 2.6 * dt));
            const want = Math.atan2(tmp.x, tmp.z);
            let dy = want - h.yaw;
            dy = Math.atan2(Math.sin(dy), Math.cos(dy));
            h.yaw += dy * Math.min(1, dt * 8);
          }
        }
      }
      if (!h.walk) {
        let dy = h.homeYaw - h.yaw;
        dy = Math.atan2(Math.sin(dy), Math.cos(dy));
        h.yaw += dy * Math.min(1, dt * 5);
        [anim, k] = heroAnim(h.status, ANIM);
        if (h.status !== "stopped" && now - h.lastTrade < 700) { anim = ANIM.typing; k = 1; }
      }
      if (anim !== h.anim || k !== h.k) { h.from = h.anim; h.anim = anim; h.k = k; h.since = t; }
      poseHero(h.bones, h.from, h.anim, h.since, t, h.k, h.phase, 1);
      h.mesh.position.copy(h.pos);
      h.mesh.rotation.y = h.yaw;
      h.plate.position.set(h.pos.x, 2.75 * S, h.pos.z);
      h.plate.visible = !h.walk; // at the wall its plate would hide the ticker's prices
      anims[h.id] = ANIM_NAME[anim];
    }
    for (const id in anims) if (!heroes.has(id)) delete anims[id];

    // Tickets: a low arc into the slot, under the ticker.
    controls.update();
    camera.updateMatrixWorld();
    if (stats.frames % 15 === 0) tickerRect();
    let covering = 0;
    for (let k = flights.length - 1; k >= 0; k--) {
      const f = flights[k];
      f.t += dt / f.dur;
      if (f.t >= 1) { tickets.setMatrixAt(f.i, hidden); flights.splice(k, 1); continue; }
      tmp.lerpVectors(f.from, f.to, f.t);
      tmp.y += Math.sin(f.t * Math.PI) * 0.9;
      mat4.makeTranslation(tmp.x, tmp.y, tmp.z);
      tickets.setMatrixAt(f.i, mat4);
      vec.copy(tmp).project(camera);
      if (tickerBox.containsPoint(p2.set(vec.x, vec.y))) covering++;
    }
    over = Math.max(over, covering);
    stats.ticketsOverTicker = over;
    tickets.instanceMatrix.needsUpdate = true;
    stats.tickets = flights.length;

    if (stats.frames % 30 === 0) { placeCrowd(false); countVisible(); }
    renderer.info.reset();
    const t0 = performance.now();
    renderer.render(scene, camera);
    stats.renderMs = performance.now() - t0;
    // What the canvas shows, read in the task that drew it (the drawing
    // buffer is not kept after it is shown).
    for (const resolve of sampling.splice(0)) {
      const c = document.createElement("canvas"); c.width = 160; c.height = 100;
      const g = c.getContext("2d");
      g.drawImage(renderer.domElement, 0, 0, 160, 100);
      const d = g.getImageData(0, 0, 160, 100).data, seen = new Set();
      for (let i = 0; i < d.length; i += 4) seen.add((d[i] >> 3) << 10 | (d[i + 1] >> 3) << 5 | (d[i + 2] >> 3));
      resolve({ colours: seen.size });
    }
    if (frame.prev) frameTimes.push(now - frame.prev); // frame time: between two frames
    frame.prev = now;
    stats.frames++;
    stats.drawCalls = renderer.info.render.calls;
    stats.triangles = renderer.info.render.triangles;
    if (frameTimes.length > 120) frameTimes.shift();
    if (stats.frames % 10 === 0 && frameTimes.length) {
      const s = [...frameTimes].sort((a, b) => a - b);
      stats.p50 = s[Math.floor(s.length * 0.5)];
      stats.p95 = s[Math.floor(s.length * 0.95)];
      stats.frameMs = Math.round(stats.p50 * 10) / 10;
      stats.fps = Math.round(10000 / stats.p50) / 10;
    }
    // Dynamic resolution: a renderer that cannot hold ~30 frames a second
    // draws fewer pixels (down to 0.4 of CSS pixels), and more again
    // when there is room. holdPixelRatio(r) fixes it (to measure at one
    // resolution); holdPixelRatio(0) lets it adapt again.
    if (held && held !== ratio) { ratio = held; renderer.setPixelRatio(ratio); resize(); }
    if (!held && stats.frames % 40 === 0 && frameTimes.length >= 30) {
      const recent = frameTimes.slice(-30).sort((a, b) => a - b)[15];
      let next = ratio;
      if (recent > 31 && ratio > 0.41) next = Math.max(0.4, ratio * 0.85);
      else if (recent < 22 && ratio < maxRatio) next = Math.min(maxRatio, ratio * 1.1);
      if (next !== ratio) { ratio = next; renderer.setPixelRatio(ratio); resize(); }
    }
    stats.pixelRatio = Math.round(ratio * 100) / 100;
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  return { update, fly };
}

// ---------------------------------------------------------------- the ticker's text

const TICKER_COLS = 40, TICKER_ROWS = 7;
const GLYPHS = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~▲▼–·×";

// textGrid is a cols × rows grid of characters on a width × height plane,
// one quad per cell, drawn from a glyph atlas painted once. Changing the
// text rewrites two small vertex attributes; the canvas texture it replaces
// (1024×512, uploaded on every tournament update) cost the page ~36 ms of
// main thread per upload under SwiftShader. write(row, col, text, hex)
// places text; commit() sends what changed.
function textGrid(THREE, cols, rows, width, height) {
  const AC = 16, CW = 32, CH = 56, AR = Math.ceil(GLYPHS.length / AC);
  const atlas = document.createElement("canvas");
  atlas.width = AC * CW; atlas.height = AR * CH;
  const g = atlas.getContext("2d");
  g.fillStyle = "#fff"; g.font = "bold 44px ui-monospace, DejaVu Sans Mono, monospace";
  g.textAlign = "center"; g.textBaseline = "middle";
  const chars = [...GLYPHS];
  chars.forEach((ch, i) => g.fillText(ch, (i % AC + 0.5) * CW, (Math.floor(i / AC) + 0.5) * CH));
  const glyph = new Map(chars.map((ch, i) => [ch, i]));
  const tex = new THREE.CanvasTexture(atlas);
  tex.colorSpace = THREE.NoColorSpace; // white on transparent: only its alpha is read
  const n = cols * rows;
  const pos = new Float32Array(n * 12), uv = new Float32Array(n * 8), index = new Uint32Array(n * 6);
  const cell = new THREE.BufferAttribute(new Float32Array(n * 4).fill(-1), 1);
  const ink = new THREE.BufferAttribute(new Float32Array(n * 12), 3);
  cell.setUsage(THREE.DynamicDrawUsage); ink.setUsage(THREE.DynamicDrawUsage);
  // Cells as wide as the plane allows, glyphs as tall as the atlas's
  // aspect makes them; the header row a little above the others, and a
  // margin on top (the opening view cuts the wall's top edge).
  const cw = width / (cols + 2), gh = cw * CH / CW, top = height * 0.1, rowH = (height - gh - top) / (rows - 0.4);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c, x0 = -width / 2 + cw * (c + 1), y1 = height / 2 - top - (r ? (r + 0.25) * rowH : 0);
      pos.set([x0, y1 - gh, 0, x0 + cw, y1 - gh, 0, x0 + cw, y1, 0, x0, y1, 0], i * 12);
      uv.set([0, 0, 1, 0, 1, 1, 0, 1], i * 8);
      const v = i * 4;
      index.set([v, v + 1, v + 2, v, v + 2, v + 3], i * 6);
    }
  }
  const geo = new THREE.BufferGeometry();
  geo.setIndex(new THREE.BufferAttribute(index, 1));
  geo.setAttribute("position", new THREE.BufferAttribute(pos, 3));
  geo.setAttribute("uv", new THREE.BufferAttribute(uv, 2));
  geo.setAttribute("aCell", cell);
  geo.setAttribute("aInk", ink);
  const mat = new THREE.ShaderMaterial({
    uniforms: { uAtlas: { value: tex } },
    transparent: true, depthWrite: false,
    vertexShader: /* glsl */ `
      attribute float aCell; attribute vec3 aInk;
      varying vec2 vUv; varying vec3 vInk;
      void main() {
        vInk = aInk;
        vUv = vec2((mod(aCell, ${AC}.0) + uv.x) / ${AC}.0, 1.0 - (floor(aCell / ${AC}.0) + 1.0 - uv.y) / ${AR}.0);
        // A blank cell is moved out of view: it costs no pixels.
        gl_Position = aCell < 0.5 ? vec4(2.0, 2.0, 2.0, 1.0) : projectionMatrix * modelViewMatrix * vec4(position, 1.0);
      }`,
    fragmentShader: /* glsl */ `
      uniform sampler2D uAtlas; varying vec2 vUv; varying vec3 vInk;
      void main() {
        float a = texture2D(uAtlas, vUv).a;
        if (a < 0.05) discard;
        gl_FragColor = vec4(vInk, a);
      }`,
  });
  const mesh = new THREE.Mesh(geo, mat);
  mesh.frustumCulled = false;
  const cells = new Float32Array(n).fill(0), inks = new Float32Array(n * 3);
  const col = new THREE.Color();
  let dirty = true;
  return {
    mesh,
    clear() { cells.fill(0); },
    write(row, c0, text, hex) {
      col.setHex(hex, THREE.NoColorSpace); // the shader writes sRGB as it is
      let c = c0;
      for (const ch of text) {
        if (c >= cols || row >= rows) break;
        const i = row * cols + c++;
        cells[i] = glyph.get(ch) ?? glyph.get("?");
        inks[i * 3] = col.r; inks[i * 3 + 1] = col.g; inks[i * 3 + 2] = col.b;
      }
    },
    commit() {
      for (let i = 0; i < n; i++) {
        for (let v = i * 4; v < i * 4 + 4; v++) {
          if (cell.array[v] !== cells[i]) { cell.array[v] = cells[i]; dirty = true; }
          for (let k = 0; k < 3; k++) {
            if (ink.array[v * 3 + k] !== inks[i * 3 + k]) { ink.array[v * 3 + k] = inks[i * 3 + k]; dirty = true; }
          }
        }
      }
      if (dirty) { cell.needsUpdate = true; ink.needsUpdate = true; dirty = false; }
    },
    text(row) { return [...cells.slice(row * cols, row * cols + cols)].map((i) => chars[i]).join("").trim(); },
  };
}

// ---------------------------------------------------------------- 2D fallback

function start2D() {
  stats.mode = "2d";
  const c = $("floor-2d");
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

// ---------------------------------------------------------------- the trader's card

// The card sits in the side column (under the scene on a phone), so it
// never covers the traders.

let panelFor = null;
let memoryTimer = 0;
function openPanel(id) {
  panelFor = id;
  $("ap-memory").href = `/memory?agent=${encodeURIComponent(id)}`;
  $("ap-remembers").replaceChildren(el("li", { className: "sub" }, "looking…"));
  $("avatar-panel").hidden = false;
  renderPanel();
  clearInterval(memoryTimer);
  loadMemories(id);
  memoryTimer = setInterval(() => loadMemories(id), 5000);
}
$("avatar-close").addEventListener("click", () => {
  panelFor = null;
  clearInterval(memoryTimer);
  $("avatar-panel").hidden = true;
});

// loadMemories lists the newest things the agent's memory holds for the
// trader on the card (the tournament writes its notable fills, outcomes
// and regime changes there).
async function loadMemories(id) {
  let body;
  try {
    body = await get(`/api/memory/agents/${encodeURIComponent(id)}?limit=6`);
  } catch (err) {
    if (panelFor === id) $("ap-remembers").replaceChildren(el("li", { className: "sub" }, `memory unavailable: ${err.message}`));
    return;
  }
  if (panelFor !== id) return;
  const ms = body.memories || [];
  $("ap-remembers").replaceChildren(...(ms.length ? ms.map((m) => el("li", {},
    el("time", { title: m.sim_time }, (m.sim_time || "").slice(11, 16)), el("span", {}, m.text))) : [el("li", { className: "sub" }, "nothing remembered yet")]));
}
window.metastationFloor.open = openPanel;

function renderPanel() {
  if (!panelFor || !lastState) return;
  const p = profileOf(panelFor);
  const e = (lastState.leaderboard || []).find((x) => x.strategy === panelFor);
  if (!p) return;
  $("ap-name").textContent = p.name;
  $("ap-name").style.color = p.color;
  $("ap-style").textContent = `${p.style} · risk ${p.risk} · holds ${p.holding}`;
  $("ap-bio").textContent = p.bio;
  $("ap-pnl").textContent = e ? `${money(e.pnl)} (${pct(e.return)})` : "–";
  $("ap-meta").textContent = e ? `rank ${e.rank} · turnover ${e.turnover.toFixed(1)}× · fees ${dollars(e.fees)}` : "";
  const doing = { trading: "placing orders and filling", winning: "leading the round", celebrating: "won the round",
    losing: "losing money this round", stopped: "stopped out: its loss limit was hit", idle: "watching the market" };
  $("ap-doing").textContent = e ? `Now: ${doing[e.status] || e.status}.` : "";
  // Last decisions: its fills seen on this page, newest first.
  const fills = (decisions.get(panelFor) || []).slice(-8).reverse();
  const dl = $("ap-decisions");
  if (fills.length) {
    dl.replaceChildren(...fills.map((f) => {
      const li = document.createElement("li");
      const t = document.createElement("time");
      t.textContent = f.clock;
      const span = document.createElement("span");
      span.textContent = `${f.side} ${count(f.qty)} ${f.symbol} @ ${price(f.price)}${f.maker ? " (resting order)" : ""}`;
      li.append(t, span);
      return li;
    }));
  }
  // What the commentary has said about it this round.
  const lines = (lastState.recent || []).filter((l) => l.strategy === panelFor).slice(-6).reverse();
  const ml = $("ap-memories");
  if (lines.length) {
    ml.replaceChildren(...lines.map((l) => {
      const li = document.createElement("li");
      const t = document.createElement("time");
      t.textContent = l.clock;
      const span = document.createElement("span");
      span.textContent = l.text;
      li.append(t, span);
      return li;
    }));
  }
  const body = $("ap-positions").tBodies[0];
  const prices = lastState.prices || [];
  body.replaceChildren(...(e?.position || []).map((q, i) => ({ q, sym: prices[i]?.symbol, mid: prices[i]?.mid }))
    .filter((r) => Math.abs(r.q) > 1e-9)
    .map((r) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td></td><td></td><td></td>`;
      tr.children[0].textContent = r.sym;
      tr.children[1].textContent = count(r.q);
      tr.children[2].textContent = dollars(r.q * r.mid);
      return tr;
    }));
  const cv = $("ap-curve");
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
