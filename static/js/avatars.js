// avatars.js: procedural humanoid traders for the trading floor.
//
// A figure is one merged geometry of capsule and box limbs hung on a small
// skeleton (hips, spine, head, upper and lower arms, legs). Every vertex
// carries the bone it belongs to. A trader's skeleton is posed in
// JavaScript once a frame (nine matrices, uniforms of its material); the
// near crowd's in the vertex shader from a few per-instance numbers, one
// draw call for all of it; the far crowd is billboards from a sprite sheet.
//
// Animations: 0 idle, 1 typing, 2 celebrating, 3 despairing, 4 walking,
// 5 agitated. Looks differ per archetype (the profile's shape): the
// Momentum Chaser's cap, the Arbitrageur's suit and tie, the Reverter's
// beret, the Market Maker's headset, the Learner's visor and antenna.

export const ANIM = { idle: 0, typing: 1, celebrating: 2, despairing: 3, walking: 4, agitated: 5 };

// Bones, and the pivot each turns about (rest pose, metres, feet at y = 0,
// facing +z).
const B = { root: 0, spine: 1, head: 2, armL: 3, foreL: 4, armR: 5, foreR: 6, legL: 7, legR: 8 };

const SKIN = [0xe8b896, 0xc68863, 0x8d5a3b, 0xf1cfb0, 0x6b4430];
const TROUSERS = 0x2b3142;

// part adds geometry g, moved by (x, y, z) and scaled by s, to the figure's
// arrays as bone b, with colour hex; tint 1 takes the instance colour.
function part(out, THREE, g, b, hex, tint, x, y, z, s = [1, 1, 1], rot = null) {
  const m = new THREE.Matrix4();
  const q = rot ? new THREE.Quaternion().setFromEuler(new THREE.Euler(...rot)) : new THREE.Quaternion();
  m.compose(new THREE.Vector3(x, y, z), q, new THREE.Vector3(...s));
  const geo = g.clone().applyMatrix4(m);
  const pos = geo.attributes.position, nor = geo.attributes.normal;
  const c = new THREE.Color(hex);
  const base = out.pos.length / 3;
  if (geo.index) for (let i = 0; i < geo.index.count; i++) out.idx.push(base + geo.index.getX(i));
  else for (let i = 0; i < pos.count; i++) out.idx.push(base + i);
  for (let i = 0; i < pos.count; i++) {
    out.pos.push(pos.getX(i), pos.getY(i), pos.getZ(i));
    out.nor.push(nor.getX(i), nor.getY(i), nor.getZ(i));
    out.col.push(c.r, c.g, c.b);
    out.bone.push(b);
    out.tint.push(tint);
  }
  geo.dispose();
  g.dispose();
}

// figure builds the geometry of one look. detail 2 is the traders' (about
// 900 triangles), 1 the near crowd's (about 230), 0 the far crowd's: six
// boxes, 72 triangles, each arm one piece.
export function figure(THREE, look, detail, skin = SKIN[0]) {
  const out = { pos: [], nor: [], col: [], bone: [], tint: [], idx: [] };
  if (detail === 0) return farFigure(THREE, out, skin);
  const hi = detail > 1;
  const limb = (r, len) => hi ? new THREE.CapsuleGeometry(r, len, 3, 8) : new THREE.BoxGeometry(r * 2, len + r * 2, r * 2);
  const ball = (r) => hi ? new THREE.SphereGeometry(r, 12, 9) : new THREE.OctahedronGeometry(r, 0);
  const box = (w, h, d) => new THREE.BoxGeometry(w, h, d);
  const build = { round: 1.25, suit: 1.12, cap: 0.9, headset: 1, bot: 1 }[look] || 1; // shoulders' width
  const sh = 0.2 * build + 0.04;

  // Legs and feet.
  for (const [side, bone] of [[-1, B.legL], [1, B.legR]]) {
    part(out, THREE, limb(0.075, 0.66), bone, look === "suit" ? 0x1d2230 : TROUSERS, 0, side * 0.1, 0.5, 0);
    part(out, THREE, box(0.13, 0.07, 0.26), bone, 0x151821, 0, side * 0.1, 0.035, 0.05);
  }
  // Hips and torso: the shirt takes the strategy's colour.
  part(out, THREE, box(0.34 * build, 0.16, 0.22), B.root, look === "suit" ? 0x1d2230 : TROUSERS, 0, 0, 0.93, 0);
  if (look === "round") part(out, THREE, hi ? new THREE.SphereGeometry(0.27, 14, 10) : new THREE.OctahedronGeometry(0.27, 0), B.spine, 0xffffff, 1, 0, 1.2, 0.02, [1, 1.15, 0.85]);
  else part(out, THREE, box(0.4 * build, 0.52, 0.24), B.spine, 0xffffff, 1, 0, 1.24, 0);
  if (look === "suit") {
    part(out, THREE, box(0.42 * build, 0.5, 0.26), B.spine, 0x1d2230, 0, 0, 1.24, -0.012, [1, 1, 0.93]); // jacket
    part(out, THREE, box(0.16, 0.46, 0.02), B.spine, 0xffffff, 1, 0, 1.26, 0.125); // shirt front
    part(out, THREE, box(0.05, 0.3, 0.02), B.spine, 0xb0202a, 0, 0, 1.3, 0.14); // tie
  }
  if (look === "headset" && hi) part(out, THREE, box(0.42, 0.3, 0.26), B.spine, 0x30384c, 0, 0, 1.16, 0); // vest
  // Arms: sleeves in the shirt's colour (the suit's are dark), hands skin.
  for (const [side, up, fore] of [[-1, B.armL, B.foreL], [1, B.armR, B.foreR]]) {
    const sleeve = look === "suit" ? 0x1d2230 : 0xffffff, tint = look === "suit" ? 0 : 1;
    part(out, THREE, limb(0.06, 0.2), up, sleeve, tint, side * sh, 1.33, 0);
    part(out, THREE, limb(0.052, 0.19), fore, look === "bot" ? 0x9aa3b5 : skin, 0, side * sh, 1.07, 0);
    part(out, THREE, ball(0.058), fore, look === "bot" ? 0x9aa3b5 : skin, 0, side * sh, 0.9, 0);
  }
  // Neck and head.
  part(out, THREE, limb(0.05, 0.05), B.head, skin, 0, 0, 1.53, 0);
  if (look === "bot") {
    part(out, THREE, box(0.25, 0.25, 0.25), B.head, 0xc8cfdc, 0, 0, 1.69, 0);
    part(out, THREE, box(0.21, 0.07, 0.02), B.head, 0xffffff, 1, 0, 1.71, 0.13); // visor
    part(out, THREE, limb(0.012, 0.14), B.head, 0x9aa3b5, 0, 0.06, 1.88, 0);
    part(out, THREE, ball(0.03), B.head, 0xffffff, 1, 0.06, 1.97, 0);
  } else {
    part(out, THREE, ball(0.125), B.head, skin, 0, 0, 1.68, 0, [1, 1.08, 1]);
    // Hair, then each look's headwear.
    part(out, THREE, hi ? new THREE.SphereGeometry(0.13, 12, 6, 0, Math.PI * 2, 0, Math.PI / 2) : new THREE.OctahedronGeometry(0.12, 0),
      B.head, 0x2a1c14, 0, 0, hi ? 1.71 : 1.74, -0.01, [1, 0.9, 1]);
    if (look === "cap") {
      part(out, THREE, hi ? new THREE.SphereGeometry(0.135, 12, 6, 0, Math.PI * 2, 0, Math.PI / 2) : box(0.26, 0.1, 0.26), B.head, 0xffffff, 1, 0, 1.73, 0);
      part(out, THREE, box(0.2, 0.02, 0.14), B.head, 0xffffff, 1, 0, 1.74, -0.17); // worn backwards
    } else if (look === "round") {
      part(out, THREE, hi ? new THREE.CylinderGeometry(0.15, 0.13, 0.05, 14) : box(0.28, 0.05, 0.28), B.head, 0xffffff, 1, 0.02, 1.81, 0, [1, 1, 1], [0, 0, 0.18]); // beret
    } else if (look === "headset") {
      part(out, THREE, hi ? new THREE.TorusGeometry(0.135, 0.015, 6, 16, Math.PI) : box(0.3, 0.03, 0.03), B.head, 0x1b1f29, 0, 0, 1.7, 0, [1, 1, 1], [0, Math.PI / 2, 0]);
      for (const side of [-1, 1]) part(out, THREE, box(0.04, 0.09, 0.09), B.head, 0xffffff, 1, side * 0.13, 1.68, 0);
      part(out, THREE, box(0.02, 0.02, 0.12), B.head, 0x1b1f29, 0, 0.11, 1.62, 0.08); // microphone
    } else if (look === "suit" && hi) {
      part(out, THREE, box(0.2, 0.035, 0.02), B.head, 0x111318, 0, 0, 1.69, 0.12); // glasses
    }
  }
  return finish(THREE, out);
}

// farFigure is the crowd's figure far from the camera: legs, torso, head
// and two arms, the shirt and arms in the supporter's colour.
function farFigure(THREE, out, skin) {
  const box = (w, h, d) => new THREE.BoxGeometry(w, h, d);
  part(out, THREE, box(0.14, 0.92, 0.16), B.legL, TROUSERS, 0, -0.1, 0.46, 0);
  part(out, THREE, box(0.14, 0.92, 0.16), B.legR, TROUSERS, 0, 0.1, 0.46, 0);
  part(out, THREE, box(0.42, 0.62, 0.24), B.spine, 0xffffff, 1, 0, 1.2, 0);
  part(out, THREE, box(0.11, 0.6, 0.11), B.armL, 0xffffff, 1, -0.27, 1.17, 0);
  part(out, THREE, box(0.11, 0.6, 0.11), B.armR, 0xffffff, 1, 0.27, 1.17, 0);
  part(out, THREE, box(0.22, 0.26, 0.22), B.head, skin, 0, 0, 1.66, 0);
  return finish(THREE, out);
}

function finish(THREE, out) {
  const g = new THREE.BufferGeometry();
  g.setAttribute("position", new THREE.Float32BufferAttribute(out.pos, 3));
  g.setAttribute("normal", new THREE.Float32BufferAttribute(out.nor, 3));
  g.setAttribute("color", new THREE.Float32BufferAttribute(out.col, 3));
  g.setAttribute("aBone", new THREE.Float32BufferAttribute(out.bone, 1));
  g.setAttribute("aTint", new THREE.Float32BufferAttribute(out.tint, 1));
  g.setIndex(out.idx);
  g.computeBoundingSphere();
  return g;
}

// The crowd's pose, in GLSL: the vertex shader poses each near supporter
// from a few per-instance numbers (two animation states, when the blend
// between them started, a phase and an intensity), so the near crowd
// animates in one draw call with no per-frame work in JavaScript.
const POSE_GLSL = /* glsl */ `
attribute float aBone;
attribute float aTint;
attribute vec4 aAnim;  // state from, state to, blend start (s), phase
attribute vec2 aMood;  // intensity 0..1, tempo
uniform float uTime;
uniform float uAgitation; // the whole crowd's, in a crisis
mat3 rotX(float a) { float c = cos(a), s = sin(a); return mat3(1., 0., 0., 0., c, s, 0., -s, c); }
// bone returns the posed transform of bone id as a rotation R and offset P:
// posed = R * rest + P. One oscillator, no branches on the state, straight
// arms (software renderers run the vertex shader on the CPU, and the crowd
// is most of the vertices).
void bone(float id, out mat3 R, out vec3 P) {
  float st = aAnim.y, k = aMood.x;
  float t = uTime * aMood.y + aAnim.w * 6.2831;
  float cel = step(1.5, st) * step(st, 2.5) * (0.5 + 0.5 * k);
  float des = step(2.5, st) * step(st, 3.5);
  float agi = max(step(4.5, st), uAgitation * (0.55 + 0.45 * fract(aAnim.w * 7.0)));
  float f = sin(t * (1.6 + 4.5 * cel + 9.0 * agi));
  float j = abs(f);
  R = mat3(1.); P = vec3(0., j * (0.006 + 0.16 * cel + 0.1 * agi) - 0.03 * des, 0.);
  if (id < 0.5 || id > 6.5) return;
  vec3 hip = vec3(0., 0.93, 0.);
  mat3 Rs = rotX(0.32 * des - 0.08 * cel + 0.04 * j);
  vec3 Ps = P + hip - Rs * hip;
  if (id < 1.5) { R = Rs; P = Ps; return; }
  if (id < 2.5) {
    vec3 n = vec3(0., 1.53, 0.);
    mat3 Rh = rotX(0.65 * des - 0.3 * cel + 0.2 * agi * f);
    R = Rs * Rh; P = Rs * (n - Rh * n) + Ps;
    return;
  }
  float side = id < 4.5 ? -1. : 1.;
  float up = max(-3.0, -(2.5 * cel + 2.3 * agi + 0.15 * des) + (0.35 * cel + 0.6 * agi) * f * side + 0.04 * f);
  vec3 sh = vec3(side * 0.26, 1.45, 0.);
  mat3 Ra = rotX(up);
  R = Rs * Ra; P = Rs * (sh - Ra * sh) + Ps;
}
`;

// The traders' poses, in JavaScript: pose() fills the joint angles of one
// animation state at time t (a: spine lean, head nod, body bob, head turn;
// b: left arm forward, left arm out, left elbow, left leg; c: the same on
// the right). A trader's nine bone matrices are computed once a frame and
// handed to its vertex shader as uniforms, so each vertex costs one matrix
// lookup instead of the whole pose (SwiftShader runs vertex shaders on the
// CPU; the full pose per vertex cost more than the rest of the traders).
function pose(st, t, k, a, b, c) {
  a.fill(0); b[0] = 0; b[1] = 0.08; b[2] = -0.1; b[3] = 0; c[0] = 0; c[1] = 0.08; c[2] = -0.1; c[3] = 0;
  const set = (v, x, y, z, w) => { v[0] = x; v[1] = y; v[2] = z; v[3] = w; };
  const sin = Math.sin;
  if (st === ANIM.idle) {                 // breathing, a glance around
    set(a, 0.02, 0.05 + 0.06 * sin(t * 0.7), 0.008 * sin(t * 1.8), 0.35 * sin(t * 0.37));
    b[0] = 0.06 * sin(t * 0.9); c[0] = -0.06 * sin(t * 0.9);
  } else if (st === ANIM.typing) {        // typing at the desk
    const f = sin(t * 15), g = sin(t * 15 + 1.7);
    set(a, 0.12, 0.32, 0, 0.08 * sin(t * 0.5));
    set(b, -0.95 + 0.05 * f, 0.12, -0.75 + 0.18 * f, 0);
    set(c, -0.95 + 0.05 * g, 0.12, -0.75 + 0.18 * g, 0);
  } else if (st === ANIM.celebrating) {   // arms up, jumping
    const j = Math.abs(sin(t * 6));
    set(a, -0.12, -0.3, (0.06 + 0.22 * k) * j, 0);
    if (k < 0.6) { set(b, -0.2, 0.1, -0.2, 0); set(c, -2.5 + 0.4 * j, 0.15, -1.1 + 0.5 * j, 0); } // a fist pump
    else {
      set(b, -2.7 + 0.35 * sin(t * 12), 0.35, -0.25, -0.15 * j);
      set(c, -2.7 + 0.35 * sin(t * 12 + 1), 0.35, -0.25, -0.15 * j);
    }
  } else if (st === ANIM.despairing) {    // slumped, head in the hands
    set(a, 0.3 + 0.15 * k, 0.55 + 0.2 * k, -0.03 * k, 0.15 * sin(t * 0.8) * (1 - k));
    if (k < 0.6) { set(b, -0.1, 0.05, -0.1, 0); set(c, -2.2, 0.2, -2.0, 0); } // a hand to the forehead
    else { set(b, -1.55 - 0.3 * k, 0.25, -1.9, 0); set(c, -1.55 - 0.3 * k, 0.25, -1.9, 0); }
  } else if (st === ANIM.walking) {
    const w = sin(t * 7);
    set(a, 0.06, 0.05, 0.035 * Math.abs(sin(t * 7)), 0);
    set(b, 0.55 * w, 0.08, -0.35, -0.6 * w);
    set(c, -0.55 * w, 0.08, -0.35, 0.6 * w);
  } else {                                // agitated: waving, shouting, bouncing
    const f = sin(t * 11), g = sin(t * 9 + 2);
    set(a, -0.05 + 0.08 * f, -0.25 + 0.2 * g, 0.12 * Math.abs(f) * k, 0.5 * sin(t * 3));
    set(b, -2.4 + 0.7 * f, 0.4, -0.6 + 0.5 * g, 0);
    set(c, -2.0 + 0.8 * g, 0.4, -0.9 + 0.5 * f, 0);
  }
}

// heroPoser returns poseHero(bones, from, to, since, now, k, phase, tempo),
// which writes the nine bone matrices (rest → posed, object space) of a
// trader blending from animation state from to state to since time since.
export function heroPoser(THREE) {
  const A = [new Float32Array(4), new Float32Array(4), new Float32Array(4)];
  const A0 = [new Float32Array(4), new Float32Array(4), new Float32Array(4)];
  const rx = new THREE.Matrix4(), ry = new THREE.Matrix4(), rz = new THREE.Matrix4(), r = new THREE.Matrix4(), local = new THREE.Matrix4();
  // pivot sets m to the rotation r about the point (px, py, pz).
  const pivot = (m, px, py, pz) => {
    m.copy(r);
    const e = m.elements;
    e[12] = px - (e[0] * px + e[4] * py + e[8] * pz);
    e[13] = py - (e[1] * px + e[5] * py + e[9] * pz);
    e[14] = pz - (e[2] * px + e[6] * py + e[10] * pz);
    return m;
  };
  return function poseHero(bones, from, to, since, now, k, phase, tempo) {
    const t = now * tempo + phase * 6.2831;
    const blend = Math.min(Math.max((now - since) / 0.35, 0), 1);
    const [a, b, c] = A;
    pose(to, t, k, a, b, c);
    if (blend < 1) { // still blending from the last state
      pose(from, t, k, A0[0], A0[1], A0[2]);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) A[i][j] = A0[i][j] + (A[i][j] - A0[i][j]) * blend;
    }
    const root = bones[B.root].makeTranslation(0, a[2], 0); // the body bobs
    for (const [id, s, x] of [[B.legL, b[3], -0.1], [B.legR, c[3], 0.1]]) { // legs swing at the hips
      r.makeRotationX(s);
      bones[id].multiplyMatrices(root, pivot(local, x, 0.93, 0));
    }
    r.multiplyMatrices(ry.makeRotationY(a[3] * 0.25), rx.makeRotationX(a[0])); // the spine leans and twists
    const spine = bones[B.spine].multiplyMatrices(root, pivot(local, 0, 0.93, 0));
    r.multiplyMatrices(ry.makeRotationY(a[3]), rx.makeRotationX(a[1])); // the head nods and turns
    bones[B.head].multiplyMatrices(spine, pivot(local, 0, 1.53, 0));
    for (const [up, fore, arm, side] of [[B.armL, B.foreL, b, -1], [B.armR, B.foreR, c, 1]]) {
      r.multiplyMatrices(rz.makeRotationZ(side * arm[1]), rx.makeRotationX(arm[0]));
      const u = bones[up].multiplyMatrices(spine, pivot(local, side * 0.26, 1.45, 0));
      r.makeRotationX(arm[2]); // the elbow bends forward
      bones[fore].multiplyMatrices(u, pivot(local, side * 0.26, 1.19, 0));
    }
  };
}

// heroMaterial returns one trader's Lambert material: its vertex shader
// moves each vertex by its bone's matrix from bones (nine THREE.Matrix4,
// written by poseHero each frame); the parts marked as tinted take the
// trader's colour. Every trader shares one compiled program.
export function heroMaterial(THREE, color) {
  const mat = new THREE.MeshLambertMaterial({ vertexColors: true });
  const bones = Array.from({ length: 9 }, () => new THREE.Matrix4());
  const uniforms = { uBones: { value: bones }, uTint: { value: new THREE.Color(color) } };
  mat.onBeforeCompile = (sh) => {
    sh.uniforms.uBones = uniforms.uBones;
    sh.uniforms.uTint = uniforms.uTint;
    sh.vertexShader = "attribute float aBone;\nattribute float aTint;\nuniform mat4 uBones[9];\nuniform vec3 uTint;\n" + sh.vertexShader
      .replace("#include <beginnormal_vertex>", "mat4 boneM = uBones[int(aBone + 0.5)];\nvec3 objectNormal = mat3(boneM) * normal;")
      .replace("#include <begin_vertex>", "vec3 transformed = (boneM * vec4(position, 1.0)).xyz;")
      .replace("#include <color_vertex>", `vColor = vec4(1.0);
#ifdef USE_COLOR
  vColor.rgb *= color;
#endif
  vColor.rgb = mix(vColor.rgb, vColor.rgb * uTint, aTint);`);
  };
  mat.customProgramCacheKey = () => "metastation-hero";
  return { material: mat, bones, tint: uniforms.uTint.value };
}

// crowdMaterial returns the near crowd's Lambert material whose vertex
// shader poses each figure. Its uniforms (uTime, uAgitation) are shared
// through the given object.
export function crowdMaterial(THREE, uniforms) {
  const mat = new THREE.MeshLambertMaterial({ vertexColors: true });
  mat.onBeforeCompile = (sh) => {
    sh.uniforms.uTime = uniforms.uTime;
    sh.uniforms.uAgitation = uniforms.uAgitation;
    sh.vertexShader = POSE_GLSL + sh.vertexShader
      .replace("#include <beginnormal_vertex>", "mat3 boneR; vec3 boneP; bone(aBone, boneR, boneP);\nvec3 objectNormal = boneR * normal;")
      .replace("#include <begin_vertex>", "vec3 transformed = boneR * position + boneP;")
      .replace("#include <color_vertex>", `vColor = vec4(1.0);
#ifdef USE_COLOR
  vColor.rgb *= color;
#endif
#ifdef USE_INSTANCING_COLOR
  vColor.rgb = mix(vColor.rgb, vColor.rgb * instanceColor.rgb, aTint);
#endif`);
  };
  mat.customProgramCacheKey = () => "metastation-crowd";
  return mat;
}

// addInstanceAttributes gives an InstancedMesh of n figures its animation
// attributes; set(i, from, to, since, phase, intensity, tempo) changes one.
export function animate(THREE, mesh, n) {
  const anim = new THREE.InstancedBufferAttribute(new Float32Array(n * 4), 4);
  const mood = new THREE.InstancedBufferAttribute(new Float32Array(n * 2), 2);
  anim.setUsage(THREE.DynamicDrawUsage);
  mood.setUsage(THREE.DynamicDrawUsage);
  mesh.geometry.setAttribute("aAnim", anim);
  mesh.geometry.setAttribute("aMood", mood);
  const state = new Float32Array(n).fill(-1);
  return {
    state,
    // to switches figure i to animation st (blending from where it was).
    to(i, st, now, intensity = 1) {
      if (state[i] === st && Math.abs(mood.getX(i) - intensity) < 0.01) return false;
      anim.setX(i, state[i] < 0 ? st : state[i]);
      anim.setY(i, st);
      anim.setZ(i, now);
      mood.setX(i, intensity);
      state[i] = st;
      anim.needsUpdate = true;
      mood.needsUpdate = true;
      return true;
    },
    init(i, phase, tempo) {
      anim.setW(i, phase);
      mood.setY(i, tempo);
      anim.needsUpdate = true;
      mood.needsUpdate = true;
    },
  };
}

export { SKIN };

// ------------------------------------------------------------ impostors
// Far from the camera a figure is a billboard: two triangles showing one
// cell of a sprite sheet drawn here once (rows: idle, cheering, fist pump,
// despairing, agitated; eight frames each). Software renderers pay per
// triangle, and a crowd of 3D figures is most of the frame; a crowd of
// quads costs almost nothing. The shirt is drawn in a key colour that the
// shader replaces with the supporter's.

const SHEET = { cols: 8, rows: 5, w: 32, h: 64 };

function drawSheet() {
  const c = document.createElement("canvas");
  c.width = SHEET.cols * SHEET.w; c.height = SHEET.rows * SHEET.h;
  const g = c.getContext("2d");
  const limb = (x, y, len, ang, w, color) => { // ang: 0 down, π up, + outwards to the right
    g.strokeStyle = color; g.lineWidth = w; g.lineCap = "round";
    g.beginPath(); g.moveTo(x, y); g.lineTo(x + Math.sin(ang) * len, y + Math.cos(ang) * len); g.stroke();
  };
  for (let row = 0; row < SHEET.rows; row++) {
    for (let f = 0; f < SHEET.cols; f++) {
      const ph = (f / SHEET.cols) * Math.PI * 2, s = Math.sin(ph), j = Math.abs(s);
      let bob = 0, armL = 0.15, armR = 0.15, head = 0, lean = 0;
      if (row === 0) { bob = 0.5 * s; armL = 0.12 + 0.04 * s; armR = 0.12 - 0.04 * s; }
      else if (row === 1) { bob = -6 * j; armL = 2.7 + 0.3 * s; armR = 2.7 - 0.3 * s; }
      else if (row === 2) { bob = -2 * j; armL = 0.15; armR = 2.4 + 0.5 * j; }
      else if (row === 3) { bob = 2; armL = 0.08; armR = 0.08; head = 4; lean = 2; }
      else { bob = -4 * j; armL = 2.4 + 0.7 * s; armR = 2.2 - 0.7 * s; head = 2 * s; }
      const ox = f * SHEET.w + SHEET.w / 2, oy = row * SHEET.h + bob;
      // legs, torso (key colour), arms (key), head (skin), hair
      limb(ox - 3.5, oy + 38, 24, 0, 5, "#2b3142");
      limb(ox + 3.5, oy + 38, 24, 0, 5, "#2b3142");
      g.fillStyle = "#ff00ff"; g.fillRect(ox - 7 + lean * 0.3, oy + 19 + lean, 14, 21);
      limb(ox - 8, oy + 21 + lean, 17, -armL, 4, "#ff00ff");
      limb(ox + 8, oy + 21 + lean, 17, armR, 4, "#ff00ff");
      g.fillStyle = "#e8b896"; g.beginPath(); g.arc(ox + head * 0.2, oy + 12 + head, 6, 0, Math.PI * 2); g.fill();
      g.fillStyle = "#2a1c14"; g.beginPath(); g.arc(ox + head * 0.2, oy + 10 + head, 6, Math.PI, Math.PI * 2); g.fill();
    }
  }
  return c;
}

// crowdSprites returns one billboard mesh for up to n figures. It is a
// plain geometry of n quads (four vertices each carrying the figure's
// data), not an InstancedMesh: SwiftShader pays a fixed cost per instance
// that made 1,000 instanced quads cost as much as the rest of the frame.
export function crowdSprites(THREE, n, uniforms) {
  const W = 0.62, H = 1.8; // as narrow as a figure with its arms up (22 of the cell's 32 pixels)
  const corner = new Float32Array(n * 8), index = new Uint32Array(n * 6);
  for (let i = 0; i < n; i++) {
    corner.set([-W / 2, 0, W / 2, 0, W / 2, H, -W / 2, H], i * 8);
    const v = i * 4;
    index.set([v, v + 1, v + 2, v, v + 2, v + 3], i * 6);
  }
  const geo = new THREE.BufferGeometry();
  geo.setIndex(new THREE.BufferAttribute(index, 1));
  geo.setAttribute("position", new THREE.BufferAttribute(new Float32Array(n * 12), 3)); // the figure's feet, per corner
  geo.setAttribute("aCorner", new THREE.BufferAttribute(corner, 2));
  const offset = geo.attributes.position;
  const team = new THREE.BufferAttribute(new Float32Array(n * 12), 3);
  const anim = new THREE.BufferAttribute(new Float32Array(n * 16), 4);
  for (const a of [offset, team, anim]) a.setUsage(THREE.DynamicDrawUsage);
  geo.setAttribute("aTeam", team);
  geo.setAttribute("aAnim", anim); // row, intensity, phase, tempo
  geo.setDrawRange(0, 0);
  const tex = new THREE.CanvasTexture(drawSheet());
  tex.magFilter = THREE.NearestFilter; tex.minFilter = THREE.NearestFilter; tex.generateMipmaps = false;
  // The sheet stays in sRGB and the shader writes it out as it is (no
  // per-fragment conversion, which software renderers pay for dearly); the
  // supporters' colours are handed over in sRGB too.
  tex.colorSpace = THREE.NoColorSpace;
  const mat = new THREE.ShaderMaterial({
    uniforms: { uTime: uniforms.uTime, uAgitation: uniforms.uAgitation, uSheet: { value: tex } },
    vertexShader: /* glsl */ `
      attribute vec2 aCorner; attribute vec3 aTeam; attribute vec4 aAnim;
      uniform float uTime; uniform float uAgitation;
      varying vec2 vUv; varying vec3 vTeam;
      void main() {
        vec3 right = normalize(vec3(viewMatrix[0][0], 0.0, viewMatrix[2][0]));
        vec3 world = position + right * aCorner.x + vec3(0.0, aCorner.y, 0.0);
        vec2 uv = vec2(aCorner.x / ${W} + 0.5, aCorner.y / ${H});
        gl_Position = projectionMatrix * viewMatrix * vec4(world, 1.0);
        float row = aAnim.x;
        if (uAgitation * (0.55 + 0.45 * fract(aAnim.z * 7.0)) > 0.45) row = 4.0;
        float tempo = row > 3.5 ? 2.2 : (row > 0.5 && row < 2.5 ? 1.6 : 0.7);
        float frame = floor(mod(uTime * 8.0 * tempo * aAnim.w + aAnim.z * 8.0, 8.0));
        vUv = vec2((frame + 0.156 + uv.x * 0.6875) / ${SHEET.cols}.0, 1.0 - (row + 1.0 - uv.y) / ${SHEET.rows}.0);
        vTeam = aTeam;
      }`,
    fragmentShader: /* glsl */ `
      uniform sampler2D uSheet; varying vec2 vUv; varying vec3 vTeam;
      void main() {
        vec4 c = texture2D(uSheet, vUv);
        if (c.a < 0.5) discard;
        if (c.r > 0.9 && c.g < 0.1 && c.b > 0.9) c.rgb = vTeam;
        gl_FragColor = vec4(c.rgb * 0.9, 1.0);
      }`,
  });
  const mesh = new THREE.Mesh(geo, mat);
  mesh.frustumCulled = false;
  const ROW = { 0: 0, 2: 1, 3: 3, 5: 4 }; // animation -> sheet row
  const srgb = new THREE.Color();
  let count = 0;
  return {
    mesh,
    set(i, x, y, z, color) {
      srgb.copy(color).convertLinearToSRGB();
      for (let v = i * 4; v < i * 4 + 4; v++) {
        offset.setXYZ(v, x, y, z);
        team.setXYZ(v, srgb.r, srgb.g, srgb.b);
      }
      offset.needsUpdate = true; team.needsUpdate = true;
    },
    anim(i, st, k, phase, tempo) {
      let row = ROW[st] ?? 0;
      if (st === 2 && k < 0.6) row = 2;
      for (let v = i * 4; v < i * 4 + 4; v++) anim.setXYZW(v, row, k, phase, tempo);
      anim.needsUpdate = true;
    },
    set count(v) { count = v; geo.setDrawRange(0, v * 6); },
    get count() { return count; },
  };
}
