// market_import.js: the market page's import form. The file goes to
// POST /api/market/import as a multipart form; an accepted file's report and
// a rejected file's problems (with line numbers) are shown under the form.

const form = document.getElementById("mk-import");
const out = document.getElementById("mk-import-result");
window.metastationImport = { last: null };

function list(title, items, cls) {
  const wrap = document.createElement("div");
  wrap.className = cls;
  const h = document.createElement("p");
  h.textContent = title;
  wrap.append(h);
  const ul = document.createElement("ul");
  for (const it of items.slice(0, 20)) {
    const li = document.createElement("li");
    li.textContent = typeof it === "string" ? it : `line ${it.line}: ${it.message}`;
    ul.append(li);
  }
  if (items.length > 20) {
    const li = document.createElement("li");
    li.textContent = `… and ${items.length - 20} more`;
    ul.append(li);
  }
  wrap.append(ul);
  return wrap;
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  out.replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "Checking the file…" }));
  try {
    const r = await fetch("/api/market/import", { method: "POST", body: new FormData(form), headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => ({ error: `The server answered ${r.status}.` }));
    window.metastationImport.last = { status: r.status, body };
    if (!r.ok) {
      const nodes = [Object.assign(document.createElement("p"), { className: "form-error", textContent: body.error })];
      if (body.problems?.length) nodes.push(list(`${body.problems.length} problem(s):`, body.problems, "problems"));
      out.replaceChildren(...nodes);
      return;
    }
    const rep = body.report || {};
    const from = String(body.from).slice(0, 10), to = String(body.to).slice(0, 10);
    const nodes = [Object.assign(document.createElement("p"), {
      className: "ok",
      textContent: `Imported ${body.rows.toLocaleString("en-US")} bars of ${body.symbol}, ${from} to ${to}.`,
    })];
    if (rep.null_rows) nodes.push(list(`${rep.null_rows} empty ("null") row(s) skipped, at lines:`, [rep.null_lines.join(", ")], "notes"));
    if (rep.outliers?.length) nodes.push(list(`${rep.outliers.length} extreme move(s) kept and flagged:`, rep.outliers, "notes"));
    if (rep.inconsistent?.length) nodes.push(list(`${rep.inconsistent.length} row(s) with High/Low inconsistent with Open/Close, kept:`, rep.inconsistent, "notes"));
    out.replaceChildren(...nodes);
  } catch (e) {
    out.replaceChildren(Object.assign(document.createElement("p"), { className: "form-error", textContent: "The file could not be sent: " + e.message }));
  } finally {
    button.disabled = false;
  }
});
