// tournament.js: the tournament page: leaderboard, equity curves, votes,
// commentary and season standings, live from the tournament's topics.
import { connect, renderBoard, profileOf, view, money, num, pct } from "./tournament-common.js";

const canvas = document.getElementById("equity");

function drawCurves(s) {
  const ctx = canvas.getContext("2d");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const curves = (s.leaderboard || []).filter((e) => e.curve && e.curve.length > 1);
  if (!curves.length) return;
  let lo = Infinity, hi = -Infinity, n = 0;
  for (const e of curves) for (const v of e.curve) { lo = Math.min(lo, v); hi = Math.max(hi, v); n = Math.max(n, e.curve.length); }
  const base = curves[0].curve[0];
  lo = Math.min(lo, base); hi = Math.max(hi, base);
  if (hi - lo < 1) { hi += 1; lo -= 1; }
  const pad = 8, y = (v) => pad + (h - 2 * pad) * (1 - (v - lo) / (hi - lo));
  ctx.strokeStyle = "rgba(138,147,168,.35)";
  ctx.setLineDash([4, 4]);
  ctx.beginPath(); ctx.moveTo(0, y(base)); ctx.lineTo(w, y(base)); ctx.stroke();
  ctx.setLineDash([]);
  const steps = Math.max(n - 1, 1);
  for (const e of curves) {
    ctx.strokeStyle = profileOf(e.strategy)?.color || "#fff";
    ctx.lineWidth = e.rank === 1 ? 2.4 : 1.4;
    ctx.beginPath();
    // Curves hold up to 240 points over the round so far; x spans the round's progress.
    const span = (w - 2 * pad) * Math.max(s.progress || 1, 0.02);
    e.curve.forEach((v, i) => {
      const x = pad + (span * i) / steps;
      i ? ctx.lineTo(x, y(v)) : ctx.moveTo(x, y(v));
    });
    ctx.stroke();
  }
}

function renderStandings(s) {
  const body = document.getElementById("standings").tBodies[0];
  body.replaceChildren(...(s.standings || []).map((st) => {
    const tr = document.createElement("tr");
    tr.dataset.strategy = st.strategy;
    const cells = [st.rank, st.name, st.rounds, st.wins, num(st.median_score), money(st.total_pnl), pct(st.psr, 0), pct(st.dsr, 0)];
    cells.forEach((v, i) => {
      const td = document.createElement("td");
      if (i === 1) {
        // The name opens what the strategy remembers (the Memory page).
        const a = document.createElement("a");
        a.href = `/memory?agent=${encodeURIComponent(st.strategy)}`;
        a.className = "memory-link";
        a.title = "what it remembers";
        a.textContent = v;
        td.append(a);
      } else td.textContent = v;
      tr.append(td);
    });
    return tr;
  }));
}

// The entrants (trained learners) with a withdraw control: a first click
// asks, "yes" sends DELETE /api/tournament/entrants/{id}, the answer shows
// below. Rows are kept between states so a pending question survives the
// updates.
view.withdrawals = 0;
function renderEntrants(s) {
  const box = document.getElementById("entrants"), list = document.getElementById("entrant-list");
  const entrants = (s.profiles || []).filter((p) => p.entrant);
  box.hidden = entrants.length === 0;
  const ids = new Set(entrants.map((p) => p.id));
  for (const li of [...list.children]) if (!ids.has(li.dataset.strategy)) li.remove();
  for (const p of entrants) {
    if (list.querySelector(`li[data-strategy="${CSS.escape(p.id)}"]`)) continue;
    const li = document.createElement("li");
    li.dataset.strategy = p.id;
    li.style.setProperty("--c", p.color);
    li.innerHTML = `<i class="swatch"></i><span class="n"></span><span class="ask" hidden>Withdraw it?</span>` +
      `<button type="button" class="withdraw">withdraw</button>` +
      `<button type="button" class="confirm" hidden>yes, withdraw</button><button type="button" class="cancel" hidden>keep</button>`;
    li.querySelector(".n").textContent = p.name;
    const ask = (on) => {
      li.querySelector(".withdraw").hidden = on;
      for (const q of li.querySelectorAll(".ask, .confirm, .cancel")) q.hidden = !on;
    };
    li.querySelector(".withdraw").addEventListener("click", () => ask(true));
    li.querySelector(".cancel").addEventListener("click", () => ask(false));
    li.querySelector(".confirm").addEventListener("click", () => withdraw(p, li));
    list.append(li);
  }
}

async function withdraw(p, li) {
  const msg = document.getElementById("entrant-msg");
  li.querySelector(".confirm").disabled = true;
  try {
    const res = await fetch(`/api/tournament/entrants/${encodeURIComponent(p.id)}`, {
      method: "DELETE", headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || res.statusText);
    view.withdrawals++;
    li.remove();
    const s = view.last;
    const playing = s && s.phase === "running" && s.round === body.last_round &&
      (s.leaderboard || []).some((e) => e.strategy === p.id);
    msg.textContent = `${p.name} is withdrawn: it plays no round from round ${body.gone_from_round} on` +
      (playing ? ` and finishes round ${body.last_round}, in progress.` : ".");
  } catch (err) {
    li.querySelector(".confirm").disabled = false;
    msg.textContent = `${p.name} was not withdrawn: ${err.message}`;
  }
}

connect((s) => {
  renderBoard(s, true);
  drawCurves(s);
  renderStandings(s);
  renderEntrants(s);
});
