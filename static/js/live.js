// live.js: the page's one web socket to the server. It subscribes to topics,
// reconnects with exponential backoff (with jitter) and resubscribes, and
// reports its state to listeners. Every page uses the shared `live` instance.

const handlers = new Map(); // topic pattern -> Set of callbacks
const stateListeners = new Set();
let socket = null;
let state = "connecting";
let attempt = 0;
let retryTimer = null;
const stats = { frames: 0, messages: 0, reconnects: 0, errors: 0, lastError: "" };

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
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  setState(attempt === 0 ? "connecting" : "reconnecting");
  const ws = new WebSocket(url);
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    setState("live");
    sendSubscriptions();
  };
  ws.onmessage = (ev) => {
    stats.frames++;
    let frame;
    try { frame = JSON.parse(ev.data); } catch { return; }
    if (frame.type === "batch") frame.msgs.forEach(dispatch);
    else if (frame.type === "error") { stats.errors++; stats.lastError = frame.error; console.warn("server:", frame.error); }
  };
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    attempt++;
    stats.reconnects++;
    // 0.5 s, 1 s, 2 s ... up to 15 s, with jitter so a restarted server is
    // not hit by every tab at the same instant.
    const delay = Math.min(15000, 500 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
    setState("offline", { code: ev.code, reason: ev.reason, retryIn: delay });
    retryTimer = setTimeout(connect, delay);
  };
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
  stats,
};

// Tests and curious people can look at the connection from the console.
window.metastationLive = live;
connect();
