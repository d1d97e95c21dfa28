// tournament.js: the tournament page: leaderboard, equity curves, votes,
// commentary and season standings, live from the tournament's topics.
import { connect, renderBoard, profileOf, money, num, pct } from "./tournament-common.js";

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
    cells.forEach((v) => { const td = document.createElement("td"); td.textContent = v; tr.append(td); });
    return tr;
  }));
}

connect((s) => {
  renderBoard(s, true);
  drawCurves(s);
  renderStandings(s);
});
