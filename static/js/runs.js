// runs.js: pieces shared by the run tables and charts of the Training page
// (single-agent train.js and multi-agent train_marl.js).
import { live } from "./live.js";
import { $, api } from "./page.js";

// onFrame returns a function that schedules draw for the next animation
// frame, at most once per frame however often it is called.
export function onFrame(draw) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      draw();
    });
  };
}

// actionButton appends a button to a run row's cell; a click runs fn and
// does not select the row.
export function actionButton(td, text, cls, fn) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.className = cls;
  b.addEventListener("click", (e) => { e.stopPropagation(); fn(); });
  td.append(b);
}

// pushInOrder appends item to a run's list of points or events, first
// dropping those at or past it by key ("steps", "episode"): a run resumed
// from a checkpoint sends the ones after the checkpoint again.
export function pushInOrder(list, item, key) {
  while (list.length && list[list.length - 1][key] >= item[key]) list.pop();
  list.push(item);
}

// A run's status as the pill in its row shows it (the pill's data-state).
const PILL_STATE = { running: "running", queued: "starting", evaluating: "running", failed: "failed" };

// runSection runs what both sections of the Training page do alike with
// their list of runs: it renders the table of runs (one row per run, newest
// first, with Stop and Resume buttons), sends Stop and Resume, selects a
// run, loads the selected run's history, starts a new run from the form,
// follows the list live from its ".progress" topic and the selected run's
// points and events from the topics given to follow, and reloads the
// history after a reconnect. What differs between the sections comes in o:
//
//   state, hooks   the section's state ({runs, selected, loading, buffer, ...})
//                  and its test hooks (selected, status, progress)
//   redraw         schedules a redraw of the section's figures and charts
//   url            the runs API, e.g. "/api/rl/runs"
//   progress       the live topic with the snapshot of every run
//   table, empty, error   ids of the table of runs, its "no runs yet" line
//                  and the section's error line
//   what(r), steps(r), figures(r)   the texts of a row: what the run is,
//                  how far it is, its seed and latest figures
//   resumable(r)   whether a stopped or failed run offers Resume
//   moreActions(td, r)   appends what else a row offers after its buttons
//   clear()        forgets the selected run's points before a new run
//   loaded(h)      takes the history h from url/{id}/metrics
//   selected(id)   optional: called when a run is selected
//
// It returns the functions the section's own code calls.
export function runSection(o) {
  const { state, hooks, redraw } = o;

  function showError(msg) {
    const p = $(o.error);
    p.textContent = msg;
    p.hidden = !msg;
  }

  function actionsFor(r) {
    const td = document.createElement("td");
    td.className = "actions";
    if (r.status === "queued" || r.status === "running") actionButton(td, "Stop", "stop danger", () => command(r.id, "stop"));
    if ((r.status === "stopped" || r.status === "failed") && o.resumable(r)) actionButton(td, "Resume", "resume", () => command(r.id, "resume"));
    o.moreActions(td, r);
    return td;
  }

  function renderRuns() {
    const body = $(o.table).tBodies[0];
    const list = [...state.runs.values()].sort((a, b) => b.id - a.id);
    $(o.empty).hidden = list.length > 0;
    const rows = new Map([...body.rows].map((tr) => [Number(tr.dataset.run), tr]));
    let prev = null;
    for (const r of list) {
      let tr = rows.get(r.id);
      rows.delete(r.id);
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.run = r.id;
        tr.tabIndex = 0;
        tr.innerHTML = `<td><b></b> <span class="what"></span><small class="muted ret"></small></td><td><span class="pill"></span></td><td class="num steps"></td><td class="actions"></td>`;
        tr.querySelector("b").textContent = `#${r.id}`;
        tr.querySelector(".what").textContent = o.what(r);
        tr.addEventListener("click", () => select(r.id));
        tr.addEventListener("keydown", (e) => { if (e.key === "Enter") select(r.id); });
      }
      // The buttons change with the status and with whether it can resume.
      const key = `${r.status}/${o.resumable(r)}`;
      if (tr.dataset.key !== key) {
        tr.dataset.key = key;
        tr.dataset.status = r.status;
        const pill = tr.querySelector(".pill");
        pill.textContent = r.status;
        pill.dataset.state = PILL_STATE[r.status] ?? r.status;
        tr.lastElementChild.replaceWith(actionsFor(r));
      }
      tr.querySelector(".steps").textContent = o.steps(r);
      tr.querySelector(".ret").textContent = o.figures(r);
      tr.title = r.error ?? "";
      tr.setAttribute("aria-selected", String(r.id === state.selected));
      if (prev ? prev.nextSibling !== tr : body.firstChild !== tr) {
        if (prev) prev.after(tr); else body.prepend(tr);
      }
      prev = tr;
    }
    for (const tr of rows.values()) tr.remove();
    hooks.status = state.runs.get(state.selected)?.status ?? "";
  }

  function setRuns(list) {
    const before = state.runs.get(state.selected)?.status;
    state.runs = new Map((list ?? []).map((r) => [r.id, r]));
    renderRuns();
    // When the selected run ends, reload its whole curve: a slow socket may
    // have lost a point on the way.
    const now = state.runs.get(state.selected)?.status;
    if (before && before !== now && (now === "done" || now === "stopped" || now === "failed")) {
      loadHistory();
      return;
    }
    if (state.selected == null && list?.length) {
      const running = list.find((r) => r.status === "running") ?? list[0];
      select(running.id);
      return;
    }
    redraw();
  }

  async function command(id, what) {
    try {
      await api("POST", `${o.url}/${id}/${what}`);
      showError("");
      // The answer is the run as the request found it (a stop is still
      // checkpointing); the list read after it is at least as new, so a
      // "stopped" that arrived on the socket first is not overwritten.
      setRuns(await api("GET", o.url));
      if (what === "resume") select(id, true);
    } catch (err) {
      showError(err.message);
    }
  }

  async function select(id, reload = false) {
    if (state.selected === id && !reload) return;
    state.selected = id;
    hooks.selected = id;
    o.selected?.(id);
    renderRuns();
    await loadHistory();
  }

  // loadHistory fills the selected run's history from the API; the live
  // items that arrive meanwhile wait in state.buffer and are added after it.
  // Only the newest load owns the buffer: an older one still in flight
  // (the user switched runs, or a reconnect or a run's end asked again)
  // must neither apply its answer nor drop the items the newer one waits for.
  let loadSeq = 0;
  async function loadHistory() {
    const id = state.selected;
    if (id == null) return;
    const seq = ++loadSeq;
    state.loading = true;
    state.buffer = [];
    try {
      const h = await api("GET", `${o.url}/${id}/metrics`);
      if (seq !== loadSeq) return;
      o.loaded(h);
      for (const [add, x] of state.buffer) add(x);
    } catch (err) {
      if (seq === loadSeq) showError(err.message);
    } finally {
      if (seq === loadSeq) {
        state.loading = false;
        state.buffer = [];
        redraw();
      }
    }
  }

  // start starts a run with the form's settings and selects it; the
  // button is disabled meanwhile.
  async function start(spec, button) {
    button.disabled = true;
    try {
      const r = await api("POST", o.url, spec);
      showError("");
      if (!state.runs.has(r.id)) state.runs.set(r.id, r); // a live snapshot may already be newer
      o.clear();
      await select(r.id, true);
    } catch (err) {
      showError(err.message);
    } finally {
      button.disabled = false;
    }
  }

  live.subscribe(o.progress, (runs) => {
    hooks.progress++;
    setRuns(runs);
  });
  // After a reconnect the points sent meanwhile are missing: reload them.
  let wasLive = false;
  live.onState((s) => {
    if (s === "live" && wasLive) loadHistory();
    if (s === "live") wasLive = true;
  });

  // follow hands add the items of a live topic (points, events) that
  // belong to the selected run, counting them in hooks[counter]; while the
  // run's history is loading they wait for it.
  function follow(topic, counter, add) {
    live.subscribe(topic, (x) => {
      if (x.run !== state.selected) return;
      hooks[counter]++;
      if (state.loading) { state.buffer.push([add, x]); return; }
      add(x);
      redraw();
    });
  }

  return { showError, setRuns, select, start, follow };
}
