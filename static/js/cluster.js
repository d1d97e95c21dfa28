// cluster.js: the Cluster page. It draws this node's raft state, the
// members and the replicated tally from GET /api/cluster and then from the
// cluster.state topic (twice a second), charts the commit, applied and last
// log index live, and sends membership changes to /api/cluster/*.
// window.metastationCluster exposes the last state for tests.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { live } from "./live.js";
import { $, setText, el, api, get, count, num } from "./page.js";

const MAX_POINTS = 240; // two minutes at two states a second
const series = { t: [], commit: [], applied: [], last: [] };
let chart = null;
let current = null;

window.metastationCluster = { state: () => current, points: () => series.t.length };

function showError(msg) {
  const e = $("cl-error");
  e.textContent = msg || "";
  e.hidden = !msg;
}

function render(st) {
  current = st;
  showError("");
  setText("cl-node", st.node_id);
  const badge = setText("cl-state", st.state);
  badge.dataset.state = st.state;
  setText("cl-leader", st.leader_id ? `${st.leader_id} (${st.leader_addr})` : "none known");
  setText("cl-term", count(st.term));
  setText("cl-commit", count(st.commit_index));
  setText("cl-applied", count(st.applied_index));
  setText("cl-last", count(st.last_index));
  setText("cl-snap", st.last_snapshot_index ? `index ${count(st.last_snapshot_index)}` : "none yet");
  setText("cl-contact", st.leader ? "this node leads" : st.last_contact_ms < 0 ? "never" : `${num(st.last_contact_ms, 0)} ms ago`);
  setText("cl-commands", count(st.commands));
  setText("cl-hash", (st.state_hash || "").slice(0, 16));
  setText("cl-refused", count(st.refused_conns));
  renderPeers(st);
  renderTally(st);
  addPoint(st);
}

function renderPeers(st) {
  const rows = (st.peers || []).map((p) => el("tr", { dataset: { leader: String(!!p.leader), id: p.id } },
    el("td", null, p.id),
    el("td", "mono", p.addr),
    el("td", null, p.suffrage),
    el("td", null, p.leader ? "leader" : "follower"),
    el("td", null,
      p.leader ? null : el("button", { type: "button", text: "Make leader", on: { click: () => act("transfer", { id: p.id }, `Leadership goes to ${p.id}.`) } }),
      el("button", { type: "button", text: "Remove", on: { click: () => act("remove", { id: p.id }, `${p.id} left the cluster.`) } }))));
  $("cl-peers").replaceChildren(...rows);
}

function renderTally(st) {
  setText("cl-round", st.votes_open);
  const entries = Object.entries(st.tally || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  $("cl-tally").replaceChildren(...(entries.length
    ? entries.map(([s, n]) => el("li", { dataset: { strategy: s } }, el("span", null, s), el("b", null, count(n))))
    : [el("li", "sub", "No votes yet for this round.")]));
}

function addPoint(st) {
  series.t.push(Date.now() / 1000);
  series.commit.push(st.commit_index);
  series.applied.push(st.applied_index);
  series.last.push(st.last_index);
  for (const k of Object.keys(series)) if (series[k].length > MAX_POINTS) series[k].shift();
  const data = [series.t, series.commit, series.applied, series.last];
  if (!chart) {
    const box = $("cl-chart");
    chart = new uPlot({
      width: Math.max(280, box.clientWidth - 8), height: 220, legend: { live: false },
      series: [{ label: "time" }, { label: "commit", stroke: "#7cf2c5", width: 2 },
        { label: "applied", stroke: "#6aa8ff", width: 1.5, dash: [6, 4] }, { label: "last", stroke: "#ffc46a", width: 1 }],
      axes: [{ stroke: "#8a93a8", grid: { stroke: "#232a3b" } }, { stroke: "#8a93a8", grid: { stroke: "#232a3b" }, size: 64 }],
    }, data, box);
  } else chart.setData(data);
}

async function act(op, body, done) {
  setText("cl-action", "…");
  try {
    render(await api("POST", `/api/cluster/${op}`, body));
    setText("cl-action", done);
  } catch (err) {
    setText("cl-action", "");
    showError(err.message);
  }
}

$("cl-join").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  act("join", { id: f.get("id"), addr: f.get("addr") }, `${f.get("id")} joined as a voter.`);
});
$("cl-snapshot").addEventListener("click", () => act("snapshot", undefined, "Snapshot taken."));

async function load() {
  try {
    render(await get("/api/cluster"));
  } catch (err) {
    setText("cl-state", "alone");
    showError(err.message);
  }
}

live.subscribe("cluster.state", (st) => render(st));
live.onState((s) => { if (s === "live") load(); });
load();
