// status.js: the status bar at the bottom of every page: connection state,
// subsystem health and a few live figures. The clock and the reconnect
// countdown tick each second from the server's clock (live.serverNow), not
// from the last message, so they never stand still.
import { live, everySecond } from "./live.js";
import { $, el, bytes, rate, clock } from "./page.js";

let conn = { state: live.state, detail: null };

function renderConn() {
  const box = $("conn-state");
  box.dataset.state = conn.state;
  let label = conn.state;
  if (conn.state === "offline" && conn.detail?.retryAt) {
    const s = Math.max(0, Math.ceil((conn.detail.retryAt - Date.now()) / 1000));
    label = s > 0 ? `offline, retrying in ${s} s` : "offline, retrying now";
  } else if (conn.state === "paused") label = "paused while hidden";
  $("conn-label").textContent = label;
}

live.onState((state, detail) => {
  conn = { state, detail };
  renderConn();
});

everySecond((now) => {
  // Offline, the server's time is a guess: say so rather than tick on.
  $("status-clock").textContent = live.state === "live" ? clock(now) : "–";
  if (conn.state === "offline") renderConn();
});

live.subscribe("system.state", (s) => {
  $("status-bus").textContent = rate(s.bus_per_s);
  $("status-heap").textContent = bytes(s.heap_bytes);
  // One line whatever the number of services: the running ones as one
  // count (each named in its tooltip), every other one by name.
  const box = $("status-services");
  const tip = (svc) => `${svc.name}: ${svc.state}` + (svc.restarts ? `, ${svc.restarts} restarts` : "") +
    (svc.last_error ? ` (last error: ${svc.last_error})` : "");
  const running = s.services.filter((svc) => svc.state === "running");
  const others = s.services.filter((svc) => svc.state !== "running");
  box.replaceChildren(
    ...(running.length ? [el("span", { class: "svc summary", dataset: { state: "running", count: running.length },
      title: running.map(tip).join("\n") }, `${running.length} services running`)] : []),
    ...others.map((svc) => el("span", { class: "svc", dataset: { state: svc.state }, title: tip(svc) }, svc.name)),
    // Each service by name, for the tooltip and for tests: hidden.
    ...s.services.map((svc) => el("span", { class: "svc each", hidden: true, dataset: { state: svc.state, name: svc.name }, title: tip(svc) }, svc.name)));
});

// The navigation scrolls sideways when the pages do not fit: the current
// page's link is brought into view.
document.querySelector('.nav a[aria-current="page"]')?.scrollIntoView({ inline: "center", block: "nearest" });
