// status.js: the status bar at the bottom of every page: connection state,
// subsystem health and a few live figures.
import { live } from "./live.js";
import { bytes, rate, clock } from "./format.js";

const el = (id) => document.getElementById(id);

live.onState((state, detail) => {
  const conn = el("conn-state");
  conn.dataset.state = state;
  let label = state;
  if (state === "offline" && detail) label = `offline, retrying in ${Math.ceil(detail.retryIn / 1000)} s`;
  el("conn-label").textContent = label;
});

live.subscribe("system.state", (s) => {
  el("status-bus").textContent = rate(s.bus_per_s);
  el("status-heap").textContent = bytes(s.heap_bytes);
  el("status-clock").textContent = clock(s.time);
  const box = el("status-services");
  box.replaceChildren(...s.services.map((svc) => {
    const span = document.createElement("span");
    span.className = "svc";
    span.dataset.state = svc.state;
    span.title = `${svc.name}: ${svc.state}` + (svc.restarts ? `, ${svc.restarts} restarts` : "") +
      (svc.last_error ? ` (last error: ${svc.last_error})` : "");
    span.textContent = svc.name;
    return span;
  }));
});
