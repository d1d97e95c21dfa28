// runs.js: pieces shared by the run tables and charts of the Training page
// (single-agent train.js and multi-agent train_marl.js).

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

// api sends a JSON request and returns the decoded answer; a failure
// throws an Error carrying the server's sentence.
export async function api(method, url, body) {
  const opts = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(url, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `The server answered ${r.status}.`);
  return data;
}
