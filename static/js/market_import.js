// market_import.js: the market page's import form. The file goes to
// POST /api/market/import as a multipart form; an accepted file's report and
// a rejected file's problems (with line numbers) are shown under the form.
import { $, el, api, count } from "./page.js";

const form = $("mk-import");
const out = $("mk-import-result");
window.metastationImport = { last: null };

function list(title, items, cls) {
  const lines = items.slice(0, 20).map((it) => el("li", null, typeof it === "string" ? it : `line ${it.line}: ${it.message}`));
  if (items.length > 20) lines.push(el("li", null, `… and ${items.length - 20} more`));
  return el("div", cls, el("p", null, title), el("ul", null, ...lines));
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  out.replaceChildren(el("p", "muted", "Checking the file…"));
  try {
    const body = await api("POST", "/api/market/import", new FormData(form));
    window.metastationImport.last = { status: 200, body };
    const rep = body.report || {};
    const from = String(body.from).slice(0, 10), to = String(body.to).slice(0, 10);
    const nodes = [el("p", "ok", `Imported ${count(body.rows)} bars of ${body.symbol}, ${from} to ${to}.`)];
    if (rep.null_rows) nodes.push(list(`${rep.null_rows} empty ("null") row(s) skipped, at lines:`, [rep.null_lines.join(", ")], "notes"));
    if (rep.outliers?.length) nodes.push(list(`${rep.outliers.length} extreme move(s) kept and flagged:`, rep.outliers, "notes"));
    if (rep.inconsistent?.length) nodes.push(list(`${rep.inconsistent.length} row(s) with High/Low inconsistent with Open/Close, kept:`, rep.inconsistent, "notes"));
    out.replaceChildren(...nodes);
  } catch (e) {
    if (e.status) {
      // A refusal: the server's sentence and, for a malformed file, its problems by line.
      window.metastationImport.last = { status: e.status, body: e.body };
      const nodes = [el("p", "form-error", e.message)];
      if (e.body?.problems?.length) nodes.push(list(`${e.body.problems.length} problem(s):`, e.body.problems, "problems"));
      out.replaceChildren(...nodes);
      return;
    }
    out.replaceChildren(el("p", "form-error", "The file could not be sent: " + e.message));
  } finally {
    button.disabled = false;
  }
});
