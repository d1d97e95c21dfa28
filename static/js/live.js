// live.js: the page's one web socket to the server. It subscribes to topics,
// reconnects with exponential backoff (with jitter) and resubscribes, and
// reports its state to listeners. Every page uses the shared `live` instance.
//
// It also keeps the server's clock: the hello frame and the answers to pings
// carry the server's time, so serverNow() is the server's "now" and every
// countdown on a page ticks from it rather than from the last snapshot.
//
// The socket closes when the page is hidden for good (navigation, a closed
// tab, the back/forward cache) and after a minute in a background tab, so
// the server counts only the pages someone has open; it opens again when
// the page is shown.

const handlers = new Map(); // topic pattern -> Set of callbacks
const stateListeners = new Set();
let socket = null;
let state = "connecting";
let attempt = 0;
let retryTimer = null;
let pingTimer = null;
let hiddenTimer = null;
let suspended = false; // closed on purpose while the page is hidden
const stats = { frames: 0, messages: 0, reconnects: 0, errors: 0, lastError: "", opened: 0, closedOnHide: 0 };

// The server's clock relative to ours: offsetMs = server time − Date.now(),
// measured with the least round trip seen (the tightest bound).
const clockSync = { offsetMs: 0, rttMs: Infinity, samples: 0 };
const HIDDEN_GRACE_MS = 60_000;
const PING_MS = 30_000;

export function serverNow() { return Date.now() + clockSync.offsetMs; }

function clockSample(serverMs, sentAt, recvAt) {
  const rtt = recvAt - sentAt;
  clockSync.samples++;
  // Prefer tight samples, but let a sample replace one older than its
  // round trip's worth of error: clocks drift, and a sleeping laptop jumps.
  if (rtt <= clockSync.rttMs || clockSync.samples % 8 === 0) {
    clockSync.rttMs = rtt;
    clockSync.offsetMs = serverMs + rtt / 2 - recvAt;
  }
}

function matches(pattern, topic) {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return topic.startsWith(pattern.slice(0, -1));
  return pattern === topic;
}

function setState(s, detail) {
  state = s;
  for (const fn of stateListeners) fn(s, detail);
}

function sendSubscriptions() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ type: "subscribe", topics: [...handlers.keys()] }));
}

function ping() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ type: "ping", id: Date.now() }));
}

function dispatch(msg) {
  stats.messages++;
  for (const [pattern, fns] of handlers) {
    if (!matches(pattern, msg.topic)) continue;
    for (const fn of fns) {
      try { fn(msg.payload, msg); } catch (err) { console.error("live handler", msg.topic, err); }
    }
  }
}

function connect() {
  clearTimeout(retryTimer);
  if (suspended || socket) return;
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  setState(attempt === 0 ? "connecting" : "reconnecting");
  const ws = new WebSocket(url);
  const openedAt = Date.now();
  socket = ws;
  stats.opened++;
  ws.onopen = () => {
    attempt = 0;
    setState("live");
    sendSubscriptions();
    ping();
    clearInterval(pingTimer);
    pingTimer = setInterval(ping, PING_MS);
  };
  ws.onmessage = (ev) => {
    stats.frames++;
    let frame;
    try { frame = JSON.parse(ev.data); } catch { return; }
    if (frame.type === "batch") frame.msgs.forEach(dispatch);
    else if (frame.type === "hello") clockSample(frame.server_time, openedAt, Date.now());
    else if (frame.type === "pong") clockSample(frame.server_time, frame.id, Date.now());
    else if (frame.type === "error") { stats.errors++; stats.lastError = frame.error; console.warn("server:", frame.error); }
  };
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    clearInterval(pingTimer);
    if (suspended) { setState("paused"); return; }
    attempt++;
    stats.reconnects++;
    // 0.5 s, 1 s, 2 s ... up to 15 s, with jitter so a restarted server is
    // not hit by every tab at the same instant.
    const delay = Math.min(15000, 500 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
    setState("offline", { code: ev.code, reason: ev.reason, retryIn: delay, retryAt: Date.now() + delay });
    retryTimer = setTimeout(connect, delay);
  };
}

// suspend closes the socket on purpose; resume opens it again.
function suspend(reason) {
  clearTimeout(hiddenTimer);
  clearTimeout(retryTimer);
  suspended = true;
  const ws = socket;
  socket = null;
  clearInterval(pingTimer);
  if (ws) {
    stats.closedOnHide++;
    ws.onclose = null;
    try { ws.close(1000, reason); } catch { /* already closing */ }
  }
  setState("paused");
}

function resume() {
  clearTimeout(hiddenTimer);
  if (!suspended) return;
  suspended = false;
  attempt = 0;
  connect();
}

// pagehide fires on navigation, on closing the tab and on entering the
// back/forward cache; pageshow on coming back from it.
addEventListener("pagehide", () => suspend("page hidden"));
addEventListener("pageshow", (ev) => { if (ev.persisted) resume(); });
document.addEventListener("visibilitychange", () => {
  clearTimeout(hiddenTimer);
  if (document.visibilityState === "hidden") hiddenTimer = setTimeout(() => suspend("tab in the background"), HIDDEN_GRACE_MS);
  else resume();
});

// everySecond calls fn on each second of the server's clock (and once now),
// for countdowns and clocks. It returns a function that stops it.
export function everySecond(fn) {
  let timer = null;
  const run = () => {
    try { fn(serverNow()); } finally {
      timer = setTimeout(run, 1000 - (serverNow() % 1000) + 5);
    }
  };
  run();
  return () => clearTimeout(timer);
}

export const live = {
  // subscribe calls fn(payload, envelope) for every message on topic (an
  // exact name, "prefix.*" or "*"). It returns a function that unsubscribes.
  subscribe(topic, fn) {
    if (!handlers.has(topic)) handlers.set(topic, new Set());
    handlers.get(topic).add(fn);
    sendSubscriptions();
    return () => {
      const set = handlers.get(topic);
      if (!set) return;
      set.delete(fn);
      if (set.size === 0) { handlers.delete(topic); sendSubscriptions(); }
    };
  },
  onState(fn) { stateListeners.add(fn); fn(state); return () => stateListeners.delete(fn); },
  get state() { return state; },
  get open() { return !!socket && socket.readyState === WebSocket.OPEN; },
  serverNow,
  clock: clockSync,
  stats,
};

// Tests and curious people can look at the connection from the console.
window.metastationLive = live;
connect();
