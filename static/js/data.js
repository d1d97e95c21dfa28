// data.js: the Data page. It starts synthetic data jobs through the API,
// follows them live on synth.progress, lists them, previews a finished job's
// first rows, links its file, and shows its quality report and the fraud
// detector's ROC and PR curves (Canvas2D).
import { live, everySecond, serverNow } from "./live.js";
import { $, api, bytes, count, rate, duration } from "./page.js";

const API = "/api/synth/jobs";
const FINAL = new Set(["done", "failed", "cancelled", "interrupted"]);

const jobs = new Map(); // id -> status, as on synth.progress
const previews = new Map(); // id -> {columns, rows} of finished jobs
// What tests (and curious people, from the console) can look at.
const view = {
  jobs, selected: null, updates: 0, progress: [], preview: null,
  drawn: { roc: 0, pr: 0 }, started: [], reruns: [], errors: 0,
};
window.metastationData = view;

// ---- the form ----

const form = $("dt-form");
const kindSel = $("dt-kind");
const formatSel = $("dt-format");

function isTransactions(kind) { return kind === "fraud" || kind === "transactions"; }

function syncForm() {
  const tx = isTransactions(kindSel.value);
  $("dt-rate-box").hidden = !tx;
  const parquet = formatSel.querySelector('option[value="parquet"]');
  parquet.disabled = !tx;
  if (!tx && formatSel.value === "parquet") formatSel.value = "csv";
}
kindSel.addEventListener("change", syncForm);
syncForm();

function showError(msg) {
  const el = $("dt-error");
  el.textContent = msg || "";
  el.hidden = !msg;
  if (msg) view.errors++;
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("");
  const rows = form.rows.value.trim(), seed = form.seed.value.trim();
  if (!/^\d+$/.test(rows)) return showError("Rows must be a whole number.");
  if (!/^\d+$/.test(seed)) return showError("The seed must be a whole number from 0 up.");
  // The seed is a 64-bit number: it goes into the JSON as its digits, so
  // JavaScript's doubles never round it.
  let body = `{"kind": ${JSON.stringify(kindSel.value)}, "rows": ${rows}, "seed": ${seed}, "format": ${JSON.stringify(formatSel.value)}`;
  if (isTransactions(kindSel.value)) {
    const pct = Number(form.fraud_rate.value);
    if (!form.fraud_rate.value.trim() || !Number.isFinite(pct)) return showError("The fraud rate must be a number of percent, such as 1.5.");
    body += `, "fraud_rate": ${pct / 100}`;
  }
  body += "}";
  await startJob($("dt-start"), API, body);
});

// startJob sends the request that queues a job (a start or a Run again)
// with btn disabled meanwhile, lists the new job and selects it; after(st)
// records what else the page keeps of it.
async function startJob(btn, url, body, after) {
  btn.disabled = true;
  try {
    const st = await api("POST", url, body);
    view.started.push(st.id);
    after?.(st);
    upsert(st);
    select(st.id);
  } catch (err) {
    showError(err.message);
  } finally {
    btn.disabled = false;
  }
}

$("dt-cancel").addEventListener("click", async () => {
  const id = view.selected;
  if (!id) return;
  showError("");
  $("dt-cancel").disabled = true;
  try {
    upsert(await api("DELETE", `${API}/${id}`));
  } catch (err) {
    showError(err.message);
  }
  render();
});

// Run again: a new job with the selected job's settings (the same seed and
// spec give the same data), for a job that failed, was cancelled or was
// interrupted by a server stop.
const RERUNNABLE = new Set(["failed", "cancelled", "interrupted"]);

$("dt-rerun").addEventListener("click", async () => {
  const id = view.selected;
  if (!id || !RERUNNABLE.has(jobs.get(id)?.state)) return;
  showError("");
  await startJob($("dt-rerun"), `${API}/${id}/rerun`, undefined, (st) => view.reruns.push({ from: id, id: st.id }));
});

// ---- jobs: live updates and the list ----

function upsert(st) {
  const prev = jobs.get(st.id);
  // Snapshots can arrive out of order with the list's answer: never step a
  // job back from a final state.
  if (prev && FINAL.has(prev.state) && !FINAL.has(st.state)) return prev;
  jobs.set(st.id, st);
  return prev;
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 120);
}

// refresh reloads every job: synth.progress is a snapshot topic, so when one
// job ends and the next starts within a frame the page sees only the latter.
async function refresh() {
  try {
    const list = await api("GET", API);
    const ids = new Set(list.map((s) => s.id));
    for (const id of [...jobs.keys()]) if (!ids.has(id)) jobs.delete(id);
    for (const st of list) upsert(st);
    if (!view.selected && list.length) view.selected = list[0].id;
    render();
  } catch (err) {
    console.warn("jobs", err);
  }
}

live.subscribe("synth.progress", (st) => {
  view.updates++;
  const prev = upsert(st);
  if (st.state === "running") view.progress.push({ id: st.id, rows: st.rows, t: Date.now() });
  if (view.progress.length > 500) view.progress.splice(0, 250);
  if (!prev || prev.state !== st.state) refreshSoon();
  if (!view.selected) view.selected = st.id;
  render();
});
live.onState((s) => { if (s === "live") refreshSoon(); });

function select(id) {
  view.selected = id;
  render();
}

$("dt-jobs").addEventListener("click", (ev) => {
  const tr = ev.target.closest("tr[data-id]");
  if (tr) select(tr.dataset.id);
});
$("dt-jobs").addEventListener("keydown", (ev) => {
  const tr = ev.target.closest("tr[data-id]");
  if (tr && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); select(tr.dataset.id); }
});

// kindName is the job's kind as the person chose it: a "fraud" job is a
// transactions job with its labels, detector and report.
function kindName(spec) { return spec.label || spec.kind; }

function renderList() {
  const tbody = $("dt-jobs").tBodies[0];
  const ids = [...jobs.keys()].sort((a, b) => Number(b) - Number(a));
  $("dt-nojobs").hidden = ids.length > 0;
  const rows = ids.map((id) => {
    const st = jobs.get(id);
    let tr = tbody.querySelector(`tr[data-id="${id}"]`);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.id = id;
      tr.tabIndex = 0;
      tr.innerHTML = `<td class="num"></td><td></td><td class="num"></td><td><span class="pill"></span></td>`;
    }
    const c = tr.children;
    c[0].textContent = id;
    c[1].textContent = kindName(st.spec);
    c[2].textContent = count(st.spec.rows);
    const pill = c[3].firstChild;
    pill.dataset.state = st.state;
    pill.textContent = st.state === "running" ? `${Math.floor(100 * st.rows / st.spec.rows)} %` : st.state;
    tr.setAttribute("aria-selected", String(id === view.selected));
    return tr;
  });
  tbody.replaceChildren(...rows);
}

// ---- the selected job ----

let etaAt = null, etaText = "–";
function renderEta() {
  const e = $("dt-eta");
  if (!e) return;
  e.textContent = etaAt ? duration(Math.max(0, Math.ceil((etaAt - serverNow()) / 1000))) : etaText;
}
everySecond(renderEta);

function render() {
  renderList();
  const st = jobs.get(view.selected);
  const panel = $("dt-job");
  if (!st) {
    panel.dataset.state = "";
    return;
  }
  const s = st.spec;
  panel.dataset.state = st.state;
  $("dt-job-id").textContent = st.id;
  const rateTxt = s.kind === "transactions" ? ` · fraud ${+(s.fraud_rate * 100).toFixed(2)} %` : "";
  const again = st.rerun_of ? ` · again of job ${st.rerun_of}` : "";
  $("dt-job-spec").textContent = `${kindName(s)} · seed ${s.seed} · ${s.format}${rateTxt}${again}`;
  const pill = $("dt-job-state");
  pill.dataset.state = st.state;
  pill.textContent = st.state;

  const done = st.state === "done";
  const frac = done ? 1 : Math.min(1, st.rows / s.rows);
  $("dt-bar-fill").style.width = (100 * frac).toFixed(1) + "%";
  $("dt-bar").setAttribute("aria-valuenow", String(Math.round(100 * frac)));
  $("dt-rows-done").textContent = count(st.rows);
  $("dt-rows-total").textContent = `of ${count(s.rows)}`;
  $("dt-rate-now").textContent = st.rows_per_s ? rate(st.rows_per_s) : "–";
  // The estimate is a moment on the server's clock, counted down each second
  // between progress messages (renderEta).
  etaAt = st.state === "running" && st.rows < s.rows && st.eta_s > 0 ? serverNow() + st.eta_s * 1000 : null;
  etaText = done ? "done" : "–";
  renderEta();
  $("dt-bytes").textContent = st.bytes ? bytes(st.bytes) : "–";
  $("dt-phase").textContent = phase(st);
  $("dt-cancel").disabled = !(st.state === "queued" || st.state === "running");
  $("dt-rerun").hidden = !RERUNNABLE.has(st.state);

  const dl = $("dt-download");
  dl.hidden = !done;
  if (done) {
    dl.href = `${API}/${st.id}/file`;
    dl.setAttribute("download", st.file);
    dl.textContent = `Download ${st.file} (${bytes(st.bytes)})`;
  }
  renderReports(st);
  if (done) loadPreview(st);
  else showPreview(null, st);
}

function phase(st) {
  const s = st.spec;
  switch (st.state) {
    case "queued": return "Waiting for the job ahead of it to finish.";
    case "running":
      if (st.rows >= s.rows && s.kind === "transactions") return "Rows written; training the fraud detector and scoring quality…";
      return `Generating ${kindName(s)} on every core…`;
    case "done": {
      const secs = (new Date(st.finished) - new Date(st.started)) / 1000;
      return `Done: ${count(st.rows)} rows in ${secs.toFixed(1)} s.` +
        (st.report_rows && st.report_rows < s.rows ? ` The reports use the first ${count(st.report_rows)} rows' equivalent.` : "");
    }
    case "cancelled": return `Cancelled after ${count(st.rows)} rows; the unfinished file was removed. Run again starts it afresh with the same settings.`;
    case "failed": return `Failed: ${st.error || "see the server log."}`;
    case "interrupted": return st.error || "The server stopped before this job finished.";
  }
  return "";
}

// ---- reports: AUCs, curves, recall per type, quality ----

let reportOf = null; // the job whose report is drawn

function renderReports(st) {
  const det = st.detector, q = st.quality;
  const box = $("dt-reports");
  box.hidden = !det && !q;
  $("dt-side-note").hidden = !!(det || q);
  $("dt-side-reports").hidden = !det && !q;
  const key = `${st.id}:${st.state}:${!!det}:${!!q}`;
  if (reportOf === key) return;
  reportOf = key;

  $("dt-roc-auc").textContent = det ? det.roc_auc.toFixed(3) : "–";
  $("dt-pr-auc").textContent = det ? det.pr_auc.toFixed(3) : "–";
  $("dt-pr-base").textContent = det ? `${(det.pr_auc / Math.max(det.test_fraud_rate, 1e-9)).toFixed(0)}× the fraud rate` : "";
  $("dt-quality").textContent = q ? q.score.toFixed(3) : "–";
  $("dt-quality-parts").textContent = q ? `shapes ${q.shapes.toFixed(3)} · trends ${q.trends.toFixed(3)}` : "";
  $("dt-report-note").textContent = det
    ? `Logistic regression trained on ${count(det.train_rows)} rows of the earlier days, tested on ${count(det.test_rows)} rows of the later days (fraud ${(100 * det.test_fraud_rate).toFixed(2)} %).`
    : q ? "Too few rows to train the detector (it needs 20,000)." : "";
  drawCharts();

  // Recall per fraud type at the alert threshold.
  const recall = $("dt-recall").tBodies[0];
  $("dt-fpr").textContent = det ? `at ${(100 * det.alert_fpr).toFixed(0)} % false positives` : "";
  recall.replaceChildren(...Object.entries(det?.recall_by_type ?? {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td></td><td><div class="meter"><i></i></div></td><td class="num"></td>`;
    tr.children[0].textContent = k.replaceAll("_", " ");
    tr.querySelector("i").style.width = (100 * v).toFixed(0) + "%";
    tr.children[2].textContent = v.toFixed(2);
    return tr;
  }));

  const targets = $("dt-targets").tBodies[0];
  targets.replaceChildren(...Object.entries(q?.targets ?? {}).sort(([a], [b]) => (a === "fraud_rate" ? -1 : b === "fraud_rate" ? 1 : a.localeCompare(b))).map(([k, v]) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td></td><td class="num"></td><td class="num"></td>`;
    const isRate = k === "fraud_rate";
    tr.children[0].textContent = isRate ? "fraud rate" : k.replace(/^median_amount_/, "").replaceAll("_", " ");
    const fmt = (x) => (isRate ? (100 * x).toFixed(2) + " %" : x.toFixed(2));
    tr.children[1].textContent = fmt(v.want);
    tr.children[2].textContent = fmt(v.got);
    return tr;
  }));

  $("dt-shapes").replaceChildren(...Object.entries(q?.column_shapes ?? {}).sort((a, b) => a[1] - b[1]).map(([k, v]) => {
    const d = document.createElement("div");
    d.style.setProperty("--v", (100 * v).toFixed(0) + "%");
    d.innerHTML = `<span></span><b></b>`;
    d.firstChild.textContent = k;
    d.lastChild.textContent = v.toFixed(3);
    return d;
  }));
}

function drawCharts() {
  const st = jobs.get(view.selected);
  const det = st?.detector;
  view.drawn.roc = drawCurve($("dt-roc"), det?.roc, { x: "false-positive rate", y: "recall", color: "#7cf2c5", diag: true });
  view.drawn.pr = drawCurve($("dt-pr"), det?.pr, { x: "recall", y: "precision", color: "#b694ff", base: det?.test_fraud_rate });
}

// drawCurve draws points {x, y} in [0, 1]² with axes and a filled area; it
// returns the number of points drawn.
function drawCurve(canvas, pts, o) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return 0;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const L = 38, R = 10, T = 10, B = 30;
  const X = (x) => L + x * (w - L - R), Y = (y) => h - B - y * (h - T - B);
  g.font = "11px ui-monospace, Menlo, monospace";
  g.strokeStyle = "#232a3b";
  g.fillStyle = "#8a93a8";
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = i / 4;
    g.beginPath(); g.moveTo(X(0), Y(v)); g.lineTo(X(1), Y(v)); g.stroke();
    g.beginPath(); g.moveTo(X(v), Y(0)); g.lineTo(X(v), Y(1)); g.stroke();
    g.textAlign = "right"; g.textBaseline = "middle"; g.fillText(v.toFixed(2).replace(/0$/, ""), L - 5, Y(v));
    g.textAlign = "center"; g.textBaseline = "top"; g.fillText(v.toFixed(2).replace(/0$/, ""), X(v), h - B + 4);
  }
  g.textAlign = "center"; g.textBaseline = "bottom";
  g.fillText(o.x, X(0.5), h - 1);
  g.save(); g.translate(10, Y(0.5)); g.rotate(-Math.PI / 2); g.textBaseline = "middle"; g.fillText(o.y, 0, 0); g.restore();
  g.setLineDash([4, 4]);
  g.strokeStyle = "#5a6378";
  if (o.diag) { g.beginPath(); g.moveTo(X(0), Y(0)); g.lineTo(X(1), Y(1)); g.stroke(); }
  if (o.base != null) { g.beginPath(); g.moveTo(X(0), Y(o.base)); g.lineTo(X(1), Y(o.base)); g.stroke(); }
  g.setLineDash([]);
  if (!pts || !pts.length) return 0;
  const grad = g.createLinearGradient(0, Y(1), 0, Y(0));
  grad.addColorStop(0, o.color + "55");
  grad.addColorStop(1, o.color + "05");
  g.beginPath();
  g.moveTo(X(pts[0].x), Y(0));
  for (const p of pts) g.lineTo(X(p.x), Y(p.y));
  g.lineTo(X(pts[pts.length - 1].x), Y(0));
  g.closePath();
  g.fillStyle = grad;
  g.fill();
  g.beginPath();
  pts.forEach((p, i) => (i ? g.lineTo(X(p.x), Y(p.y)) : g.moveTo(X(p.x), Y(p.y))));
  g.strokeStyle = o.color;
  g.lineWidth = 2;
  g.stroke();
  return pts.length;
}

let resizeTimer = null;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawCharts, 100); });

// ---- preview ----

async function loadPreview(st) {
  if (previews.has(st.id)) return showPreview(previews.get(st.id), st);
  previews.set(st.id, null); // loading
  try {
    const p = await api("GET", `${API}/${st.id}/preview?n=20`);
    previews.set(st.id, p);
  } catch (err) {
    previews.delete(st.id);
    showError(err.message);
    return;
  }
  if (view.selected === st.id) showPreview(previews.get(st.id), st);
}

let previewOf = null;
function showPreview(p, st) {
  const key = p ? st.id : `none:${st?.id}`;
  if (previewOf === key) return;
  previewOf = key;
  view.preview = p;
  const table = $("dt-preview");
  const note = $("dt-preview-note");
  if (!p) {
    table.tHead.replaceChildren();
    table.tBodies[0].replaceChildren();
    note.textContent = st && !FINAL.has(st.state) ? "the first rows appear here when the job is done" : "no file to preview";
    return;
  }
  note.textContent = `the first ${p.rows.length} rows of ${st.file}`;
  const head = document.createElement("tr");
  for (const c of p.columns) {
    const th = document.createElement("th");
    th.textContent = c;
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  const fraudCol = p.columns.indexOf("is_fraud");
  table.tBodies[0].replaceChildren(...p.rows.map((r) => {
    const tr = document.createElement("tr");
    if (fraudCol >= 0 && (r[fraudCol] === "1" || r[fraudCol] === "true")) tr.dataset.fraud = "1";
    for (const v of r) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
}

refresh();
