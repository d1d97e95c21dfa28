// The Media page: upload several files at once (drag and drop or the file
// picker), follow each file live from media.progress, and show every stored
// item as a card. The server does all the reading; this draws.
import { live } from "./live.js";

const $ = (id) => document.getElementById(id);
const state = { kind: "", jobs: new Map(), items: [] };

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function showError(msg) {
  const e = $("md-error");
  e.textContent = msg || "";
  e.hidden = !msg;
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${url}: ${r.status}`);
  return body;
}

function bytes(n) {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(0) + " KB";
  return n + " B";
}

// Uploads go with XMLHttpRequest for its upload progress events; the
// reading that follows is followed on the bus.
function upload(files) {
  if (!files.length) return;
  showError("");
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  const pending = { id: "upload-" + Date.now(), items: [...files].map((f) => ({ name: f.name, size: f.size, state: "sending", fraction: 0 })) };
  state.jobs.set(pending.id, pending);
  drawJobs();
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/media");
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.onprogress = (ev) => {
    if (!ev.lengthComputable) return;
    for (const it of pending.items) it.fraction = 0.1 * ev.loaded / ev.total;
    drawJobs();
  };
  xhr.onload = () => {
    state.jobs.delete(pending.id);
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status !== 202) {
      showError(body.error || `The upload failed (${xhr.status}).`);
      drawJobs();
      return;
    }
    onJob(body);
    poll(body.id);
  };
  xhr.onerror = () => { state.jobs.delete(pending.id); showError("The upload could not reach the server."); drawJobs(); };
  xhr.send(form);
}

// poll asks for a job until it is done: the bus coalesces progress, and a
// page that reconnects may miss the last message.
async function poll(id) {
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const j = state.jobs.get(id);
    if (!j || j.done) return;
    try { onJob(await getJSON(`/api/media/jobs/${encodeURIComponent(id)}`)); } catch { return; }
  }
}

function onJob(job) {
  const had = state.jobs.get(job.id);
  state.jobs.set(job.id, job);
  drawJobs();
  if (job.done && !(had && had.done)) loadItems();
}

function drawJobs() {
  const list = $("md-jobs");
  list.replaceChildren();
  const jobs = [...state.jobs.values()].slice(-5).reverse();
  for (const j of jobs) {
    for (const it of j.items) {
      const label = it.state === "working" ? (it.stage || "reading") : it.state;
      const li = el("li", { class: "md-job-item", "data-state": it.state, "data-name": it.name },
        el("span", { class: "md-name", text: `${it.name} (${bytes(it.size || 0)})` }),
        el("span", { class: "md-state", text: label }),
        el("span", { class: "md-bar" }, el("i", { style: `width:${Math.round(100 * (it.fraction || 0))}%` })),
        it.error ? el("span", { class: "md-why", text: it.error }) : null);
      if (it.item) {
        li.append(el("a", { href: `#item-${it.item.id}`, class: "md-link", text: it.item.summary }));
      }
      list.append(li);
    }
  }
}

async function loadItems() {
  try {
    const q = state.kind ? `?kind=${state.kind}&limit=100` : "?limit=100";
    const body = await getJSON(`/api/media${q}`);
    state.items = body.items;
    let all = 0;
    for (const s of document.querySelectorAll("[data-count]")) {
      const n = body.counts[s.dataset.count] || 0;
      s.textContent = n ? `(${n})` : "";
      all += n;
    }
    $("md-count-all").textContent = all ? `(${all})` : "";
    drawItems();
  } catch (err) {
    showError(err.message);
  }
}

function asset(it, name) {
  return el("img", { src: `/api/media/${it.id}/assets/${encodeURIComponent(name)}`, alt: `${name} of ${it.name}`, loading: "lazy" });
}

function schemaTable(d) {
  const t = el("table", { class: "md-schema" });
  t.append(el("tr", {}, el("th", { text: "column" }), el("th", { text: "type" }), el("th", { text: "range" }), el("th", { text: "distinct" }), el("th", { text: "empty" })));
  for (const c of d.columns.slice(0, 20)) {
    const range = c.min !== undefined && c.min !== "" ? `${c.min} … ${c.max}` : "";
    t.append(el("tr", {}, el("td", { text: c.name }), el("td", { text: c.type }), el("td", { text: range }),
      el("td", { text: (c.distinct_exact ? "" : "≈") + c.distinct }), el("td", { text: c.nulls })));
  }
  return t;
}

function card(it) {
  const info = it.info || {};
  const li = el("li", { class: "panel md-card", id: `item-${it.id}`, "data-kind": it.kind, "data-format": it.format });
  li.append(el("h3", { text: it.name }), el("span", { class: "sub", text: `${it.summary} · ${bytes(it.size)} · ${it.chunks} ${it.chunks === 1 ? "memory" : "memories"}` }));
  const names = it.assets || [];
  if (names.includes("thumb")) li.append(asset(it, "thumb"));
  if (names.includes("waveform")) li.append(asset(it, "waveform"));
  const scenes = names.filter((n) => n.startsWith("scene-"));
  if (scenes.length) li.append(el("div", { class: "md-scenes" }, ...scenes.map((n) => asset(it, n))));
  if (info.image && info.image.colours) {
    li.append(el("div", { class: "md-swatches", "aria-label": "main colours" },
      ...info.image.colours.map((c) => el("i", { style: `background:${c.hex}`, title: `${c.name} ${Math.round(100 * c.share)}%` }))));
  }
  if (info.audio) {
    const a = info.audio;
    li.append(el("span", { class: "sub", text: `RMS ${a.rms_dbfs} dBFS · peak ${a.peak_dbfs} dBFS · centroid ${a.centroid_hz} Hz · roll-off ${a.rolloff_hz} Hz` }));
  }
  if (info.video) {
    const v = info.video;
    li.append(el("span", { class: "sub", text: `${v.video_codec || "no video"} ${v.width}×${v.height} · ${v.fps} fps · ${v.frames} frames, ${v.keyframes} keyframes · ${v.audio_codec || "no sound"}` }));
  }
  if (info.data) li.append(schemaTable(info.data));
  if (it.excerpt && !info.data) li.append(el("pre", { class: "md-excerpt", text: it.excerpt }));
  if (info.notes && info.notes.length) li.append(el("ul", { class: "md-notes" }, ...info.notes.map((n) => el("li", { text: n }))));
  const links = el("span", { class: "sub" }, el("a", { href: `/api/media/${it.id}/original`, text: "download original" }));
  li.append(links);
  if (info.data && info.data.market && it.format === "csv") li.append(importButton(it));
  if (it.kind === "image" || it.format === "gif") {
    const near = el("div", { class: "md-near" });
    li.append(near);
    getJSON(`/api/media/${it.id}`).then((b) => {
      if (!b.near_duplicates.length) return;
      near.append("near-duplicates: ", ...b.near_duplicates.map((n) => el("a", { href: `#item-${n.item.id}`, text: `${n.item.name} (${n.distance} bits)` })));
    }).catch(() => {});
  }
  return li;
}

// importButton hands a daily-price CSV to the market importer, under a
// symbol taken from the file's name (the importer checks every row).
function importButton(it) {
  const symbol = (it.name.replace(/\.[^.]*$/, "").toUpperCase().replace(/[^A-Z0-9^._-]/g, "") || "IMPORTED").slice(0, 32);
  const status = el("span", { class: "sub md-import-status", "aria-live": "polite" });
  const b = el("button", { type: "button", class: "md-import", text: `Import as ${symbol} into the market` });
  b.addEventListener("click", async () => {
    b.disabled = true;
    status.textContent = "importing…";
    try {
      const blob = await (await fetch(`/api/media/${it.id}/original`)).blob();
      const form = new FormData();
      form.append("file", blob, it.name);
      form.append("symbol", symbol);
      const r = await fetch("/api/market/import", { method: "POST", body: form, headers: { Accept: "application/json" } });
      const body = await r.json().catch(() => ({}));
      status.textContent = r.ok ? `Imported ${body.rows} days of ${body.symbol} into the market.` : (body.error || `The import failed (${r.status}).`);
    } catch (err) {
      status.textContent = err.message;
    } finally {
      b.disabled = false;
    }
  });
  return el("div", {}, b, " ", status);
}

function drawItems() {
  const list = $("md-items");
  list.replaceChildren(...state.items.map(card));
  $("md-empty").hidden = state.items.length > 0;
}

async function search(q) {
  const list = $("md-results");
  list.replaceChildren();
  try {
    const body = await getJSON(`/api/memory/search?q=${encodeURIComponent(q)}&kind=document&limit=10`);
    const hits = body.results.filter((r) => (r.memory.source || "").startsWith("media/"));
    if (!hits.length) list.append(el("li", { class: "sub", text: "No document in memory matches." }));
    for (const r of hits) {
      const id = r.memory.source.slice("media/".length);
      list.append(el("li", { class: "md-result", "data-item": id },
        el("a", { href: `#item-${id}`, text: r.memory.text.slice(0, 240) }),
        el("span", { class: "sub", text: ` · score ${r.score.toFixed(2)}` })));
    }
  } catch (err) {
    showError(err.message);
  }
}

async function tools() {
  try {
    const t = await getJSON("/api/media/tools");
    const say = (ok, name, what) => ok ? `${name}: ${what}` : `${name} not installed: no ${what}`;
    $("md-tools").textContent = [say(t.tesseract, "tesseract", "OCR of pictures"), say(t.ffmpeg, "ffmpeg", "video thumbnails and scene frames"),
      `files up to ${bytes(t.max_upload)}, ${t.max_files} per upload`].join(" · ");
  } catch { /* the page works without it */ }
}

const drop = $("md-drop");
$("md-files").addEventListener("change", (ev) => { upload(ev.target.files); ev.target.value = ""; });
for (const t of ["dragenter", "dragover"]) drop.addEventListener(t, (ev) => { ev.preventDefault(); drop.classList.add("over"); });
for (const t of ["dragleave", "drop"]) drop.addEventListener(t, () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => { ev.preventDefault(); upload(ev.dataTransfer.files); });
$("md-search").addEventListener("submit", (ev) => { ev.preventDefault(); search($("md-q").value.trim()); });
for (const b of document.querySelectorAll(".md-kind")) {
  b.addEventListener("click", () => {
    for (const x of document.querySelectorAll(".md-kind")) x.classList.toggle("selected", x === b);
    state.kind = b.dataset.kind;
    loadItems();
  });
}
live.subscribe("media.progress", (job) => onJob(job));
tools();
loadItems();
