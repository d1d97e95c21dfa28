// tournament.js: the tournament page: leaderboard, equity curves, votes,
// commentary and season standings, live from the tournament's topics.
import { connect, renderBoard, profileOf, view } from "./tournament-common.js";
import { $, el, api, money, dollars, signedDollars, fixed, pct, niceTicks } from "./page.js";

const canvas = $("equity");

// minutes reads "09:30" as minutes after midnight.
const minutes = (hhmm) => { const [h, m] = String(hhmm || "").split(":").map(Number); return h * 60 + m; };
const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(Math.round(m % 60)).padStart(2, "0")}`;

// drawCurves draws each strategy's P&L through the round so far: dollars
// on the left axis, the round's simulated clock along the bottom, a legend
// (in the page, under the chart) with each strategy's colour and P&L now.
function drawCurves(s) {
  const ctx = canvas.getContext("2d");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const curves = (s.leaderboard || []).filter((e) => e.curve && e.curve.length > 1);
  renderLegend(s);
  if (!curves.length) return;
  const capital = s.capital || curves[0].curve[0];
  let lo = 0, hi = 0, n = 0;
  for (const e of curves) for (const v of e.curve) { lo = Math.min(lo, v - capital); hi = Math.max(hi, v - capital); n = Math.max(n, e.curve.length); }
  if (hi - lo < 100) { hi += 50; lo -= 50; }
  const padY = (hi - lo) * 0.06;
  lo -= padY; hi += padY;
  const left = 58, right = 10, top = 18, bottom = 22;
  const pw = w - left - right, ph = h - top - bottom;
  const y = (v) => top + ph * (1 - (v - lo) / (hi - lo));
  // x: the whole round, open to close, in simulated minutes.
  const open = minutes(s.open || "09:30"), close = Math.max(minutes(s.close || "16:00"), open + 1);
  const x = (m) => left + (pw * (m - open)) / (close - open);
  ctx.font = "11px ui-monospace, monospace";
  ctx.lineWidth = 1;
  ctx.fillStyle = "#8a93a8";
  ctx.strokeStyle = "rgba(138,147,168,.18)";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of niceTicks(lo, hi, Math.max(2, Math.floor(ph / 40)))) {
    const py = Math.round(y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, py); ctx.lineTo(left + pw, py); ctx.stroke();
    ctx.fillText(signedDollars(v), left - 6, py);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const hourStep = (close - open) / 60 > Math.max(2, pw / 70) ? 120 : 60;
  for (let m = Math.ceil(open / hourStep) * hourStep; m <= close; m += hourStep) {
    const px = x(m);
    ctx.textAlign = px > w - 22 ? "right" : "center"; // the close's label stays inside
    ctx.fillText(hhmm(m), Math.min(px, w - 2), top + ph + 6);
  }
  ctx.textAlign = "left";
  ctx.fillText("P&L ($, against the starting " + dollars(capital, { short: true }) + ")", 4, 2);
  // The break-even line.
  ctx.strokeStyle = "rgba(138,147,168,.55)";
  ctx.setLineDash([4, 4]);
  ctx.beginPath(); ctx.moveTo(left, y(0)); ctx.lineTo(left + pw, y(0)); ctx.stroke();
  ctx.setLineDash([]);
  // Curves hold up to 240 points over the round so far; they span its progress.
  const now = open + (close - open) * Math.min(1, Math.max(s.progress || 1, 0.002));
  const steps = Math.max(n - 1, 1);
  for (const e of curves) {
    ctx.strokeStyle = profileOf(e.strategy)?.color || "#fff";
    ctx.lineWidth = e.rank === 1 ? 2.4 : 1.4;
    ctx.beginPath();
    e.curve.forEach((v, i) => {
      const px = x(open + ((now - open) * i) / steps);
      i ? ctx.lineTo(px, y(v - capital)) : ctx.moveTo(px, y(v - capital));
    });
    ctx.stroke();
  }
}

// renderLegend names each curve: colour, trader, P&L now.
function renderLegend(s) {
  const box = $("equity-legend");
  if (!box) return;
  box.replaceChildren(...(s.leaderboard || []).map((e) =>
    el("span", { class: "legend-item", dataset: { strategy: e.strategy } },
      el("i", { class: "swatch", style: { background: profileOf(e.strategy)?.color || "#888" } }),
      ` ${e.name} `, el("b", e.pnl >= 0 ? "up" : "down", money(e.pnl)))));
}

function renderStandings(s) {
  const rows = s.standings || [];
  const body = $("standings").tBodies[0];
  body.replaceChildren(...rows.map((st) => {
    const tr = el("tr", { dataset: { strategy: st.strategy } });
    const cells = [st.rank, st.name, st.rounds, st.wins, fixed(st.median_score), money(st.total_pnl), pct(st.psr, 0), pct(st.dsr, 0)];
    cells.forEach((v, i) => {
      // The name opens what the strategy remembers (the Memory page).
      tr.append(i === 1
        ? el("td", null, el("a", { href: `/memory?agent=${encodeURIComponent(st.strategy)}`, class: "memory-link", title: "what it remembers", text: v }))
        : el("td", i === 5 ? (st.total_pnl >= 0 ? "up" : "down") : null, String(v)));
    });
    return tr;
  }));
  // Where the ranking disagrees with the total P&L, say why.
  const why = [];
  for (let i = 0; i < rows.length && why.length < 3; i++) {
    for (let j = i + 1; j < rows.length && why.length < 3; j++) {
      const a = rows[i], b = rows[j];
      if (a.total_pnl >= b.total_pnl) continue;
      why.push(`${a.name} ranks above ${b.name} despite less P&L (${money(a.total_pnl)} against ${money(b.total_pnl)}): ` +
        `its median round score is higher (${fixed(a.median_score)} against ${fixed(b.median_score)}). ` +
        `The total is moved by one big round; the median is not.`);
    }
  }
  const box = $("standings-why");
  if (box) { box.textContent = why.join(" "); box.hidden = why.length === 0; }
  view.standingsWhy = why.length;
}

// The entrants (trained learners) with a withdraw control: a first click
// asks, "yes" sends DELETE /api/tournament/entrants/{id}, the answer shows
// below. Rows are kept between states so a pending question survives the
// updates.
view.withdrawals = 0;
function renderEntrants(s) {
  const box = $("entrants"), list = $("entrant-list");
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
  const msg = $("entrant-msg");
  li.querySelector(".confirm").disabled = true;
  try {
    const body = await api("DELETE", `/api/tournament/entrants/${encodeURIComponent(p.id)}`);
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
