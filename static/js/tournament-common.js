// tournament-common.js: what the tournament page and the trading floor
// share: the round header, the vote panel, the commentary feed and the
// leaderboard. Every figure comes from tournament.state, tournament.votes and
// tournament.commentary; nothing is computed here that a test would check.
import { live, everySecond, serverNow } from "./live.js";
import { $, el, setText as set, api, money, dollars, pct, signedPct, fixed } from "./page.js";

// The shared state tests read: window.metastationTournament.
export const view = (window.metastationTournament = {
  updates: 0, last: null, lines: 0, votes: 0, voteErrors: 0, profiles: [], myVote: null,
  tally: null, tallies: 0,
});

// The newest tally seen: tournament.votes, a snapshot and a vote's answer
// all carry one, and each has a seq; an older one (a snapshot made before
// the last vote) never undoes a newer one.
function takeTally(t) {
  if (!t || (view.tally && t.seq < view.tally.seq)) return false;
  view.tally = { round: t.round, votes: t.votes || {}, total: t.total || 0, seq: t.seq || 0 };
  return true;
}

// Profiles seen since the page opened: a withdrawn entrant finishes its
// round on the leaderboard in its own colour though it has left s.profiles.
const known = new Map();
export function profileOf(id) { return view.profiles.find((p) => p.id === id) || known.get(id); }

export function renderHeader(s) {
  set("t-round", s.round ? `${s.round}` : "–");
  set("t-season", s.season);
  set("t-scoreby", { sortino: "Sortino ratio", sharpe: "Sharpe ratio", calmar: "Calmar ratio", pnl: "P&L" }[s.score_by] || s.score_by);
  set("t-clock", s.clock || "–");
  renderScoreNote(s);
  const reg = $("t-regime");
  if (reg) { reg.textContent = (s.regime || "–").replace("_", " "); reg.dataset.regime = s.regime || ""; }
  set("t-scenario", s.scenario || "");
  const bar = $("t-progress");
  if (bar) bar.style.width = `${Math.round((s.progress || 0) * 100)}%`;
}

// How the score and the ratios are made, in words, with this round's own
// figures: how many one-minute returns there are and the annualisation.
function renderScoreNote(s) {
  const min = s.min_returns || 30, ppy = s.periods_per_year;
  const n = s.leaderboard?.[0]?.returns ?? 0;
  const ratio = s.score_by === "pnl" ? "" : (s.leaderboard?.[0]?.scored
    ? `Ratios from ${n} one-minute returns.`
    : `Until ${min} minutes in, the ratios read “—” and the board ranks by P&L: a few returns give ratios that mean nothing (${n} of ${min} minutes so far).`);
  set("t-score-note", ratio);
  const factor = ppy ? `√${Math.round(ppy).toLocaleString("en-US")} (252 trading days × ${Math.round(ppy / 252)} minutes a round)` : "√(252 × minutes a round)";
  const sh = $("th-sharpe"), so = $("th-sortino");
  if (sh) sh.title = `Sharpe ratio: mean of one-minute returns ÷ their standard deviation, × ${factor} to a year. Shown after ${min} returns; hover a figure for its standard error. One day's ratio is noisy.`;
  if (so) so.title = `Sortino ratio: mean of one-minute returns ÷ their downside deviation (losses only, gains count as zero), × ${factor} to a year. Shown after ${min} returns. A few small losses make it large.`;
}

// ratioCell is a Sharpe or Sortino figure, or "—" until it rests on enough
// returns, with what it rests on as its tooltip.
function ratioCell(e, v, se) {
  if (!e.scored) return { text: "—", title: `needs ${view.last?.min_returns || 30} one-minute returns; ${e.returns ?? 0} so far` };
  if (se) return { text: fixed(v), title: `${fixed(v)} ± ${fixed(se)} (one standard error, from ${e.returns} one-minute returns)` };
  return { text: fixed(v), title: `from ${e.returns} one-minute returns, ${e.losses ?? "?"} of them losses` +
    (e.losses < 10 ? ": with so few losses the downside deviation is tiny, so the ratio is large and unsteady" : "") };
}

// The vote panel: one button per strategy with its live tally.
export function renderVotes(s) {
  set("vote-round", s.vote_round);
  renderLock();
  const c = s.crowd || {};
  set("crowd", c.rounds ? `${c.correct} of ${c.rounds} rounds this season` : "no rounds with votes yet this season");
  const box = $("vote-buttons");
  if (!box) return;
  const tally = view.tally && view.tally.round === s.vote_round ? view.tally : { votes: s.votes, total: s.vote_total };
  const total = tally.total || 0;
  // A withdrawn entrant loses its button; a vote for it no longer counts.
  const ids = new Set((s.profiles || []).map((p) => p.id));
  for (const b of box.querySelectorAll("button.vote")) {
    if (ids.has(b.dataset.strategy)) continue;
    b.remove();
    const mine = view.myVote;
    if (mine && mine.round === s.vote_round && mine.strategy === b.dataset.strategy) {
      view.myVote = null;
      set("vote-msg", `${b.querySelector(".n").textContent} was withdrawn; your vote for it no longer counts. Vote again.`);
    }
  }
  for (const p of s.profiles || []) {
    let b = box.querySelector(`button[data-strategy="${p.id}"]`);
    if (!b) {
      b = document.createElement("button");
      b.type = "button";
      b.className = "vote";
      b.dataset.strategy = p.id;
      b.style.setProperty("--c", p.color);
      b.innerHTML = `<i class="swatch"></i><span class="n"></span><b class="count">0</b><span class="bar"><i></i></span>`;
      b.querySelector(".n").textContent = p.name;
      b.addEventListener("click", () => vote(p.id));
      box.append(b);
    }
    const n = (tally.votes && tally.votes[p.id]) || 0;
    b.querySelector(".count").textContent = n;
    b.querySelector(".bar i").style.width = total ? `${(100 * n) / total}%` : "0";
    b.setAttribute("aria-pressed", view.myVote && view.myVote.round === s.vote_round && view.myVote.strategy === p.id ? "true" : "false");
  }
  tellMyVote();
}

const voteURL = "/api/tournament/votes";

async function vote(strategy) {
  const round = view.last?.vote_round;
  const msg = $("vote-msg");
  const name = profileOf(strategy)?.name;
  try {
    const send = () => api("POST", voteURL, { round, strategy });
    // 428: this browser had no voter cookie; the answer set one, so the
    // same vote again counts.
    const body = await send().catch((err) => { if (err.status === 428) return send(); throw err; });
    view.votes++;
    view.myVote = { round: body.round, strategy: body.strategy };
    if (msg) {
      msg.textContent = body.unchanged
        ? `You already voted for ${name} to win round ${body.round}; your vote stands.`
        : `${body.replaced ? "Vote changed" : "Vote recorded"}: ${name} to win round ${body.round}.`;
    }
    takeTally(body);
    if (view.last) renderVotes(view.last);
  } catch (err) {
    view.voteErrors++;
    if (msg) msg.textContent = `Your vote was not counted: ${err.message}`;
  }
}

// showMyVote asks which strategy this browser voted for (the answer also
// gives a browser without a voter cookie its cookie) and says so.
async function showMyVote() {
  try {
    const mine = await api("GET", voteURL + "/mine");
    view.myVoteLoaded = true;
    if (!mine.strategy || view.myVote) return;
    view.myVote = { round: mine.round, strategy: mine.strategy };
    sayMine = true;
    if (view.last) renderVotes(view.last);
  } catch {
    // The page works without it: the buttons just do not show the pick yet.
  }
}

// sayMine: the page has yet to say which strategy this browser voted for
// (once the profiles, and so the strategy's name, are known).
let sayMine = false;
function tellMyVote() {
  const mine = view.myVote, p = mine && profileOf(mine.strategy);
  if (!sayMine || !p || view.last?.vote_round !== mine.round) return;
  sayMine = false;
  set("vote-msg", `You voted for ${p.name} to win round ${mine.round}. You can change your mind until it starts.`);
}

// The vote countdown. A snapshot says how many seconds were left when the
// server made it (lock_in_s) and when that was (the envelope's time), so
// the deadline is a moment on the server's clock; the text ticks from
// serverNow() each second. A snapshot that arrives late (the hub replays
// the latest one to a new page) therefore still counts down right, and at
// zero the panel says the round is starting instead of a stale "close in".
function renderLock() {
  const s = view.last;
  if (!s) return;
  let text = `Votes for round ${s.vote_round} close when it starts. You can change your mind until then.`;
  view.lockLeft = null;
  if (s.phase === "voting" && view.lockAt) {
    const left = Math.ceil((view.lockAt - serverNow()) / 1000);
    view.lockLeft = Math.max(0, left);
    text = left > 0
      ? `Votes for round ${s.vote_round} close in ${left} s.`
      : `Round ${s.vote_round} is starting; votes for it are closed.`;
  }
  set("vote-lock", text);
  set("t-phase", s.notice ? `· ${s.notice}` // cluster mode: why this node sits the round out
    : s.phase === "voting"
    ? (view.lockLeft > 0 ? `· round over, round ${s.vote_round} starts in ${view.lockLeft} s` : "· round over, the next one is starting")
    : s.phase === "running" ? "· live" : "");
}
everySecond(renderLock);

// The commentary feed, newest first.
const seen = new Set();
export function addLines(lines) {
  const list = $("commentary");
  if (!list) return;
  for (const l of lines) {
    const key = `${l.round}/${l.step}/${l.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    view.lines++;
    const li = document.createElement("li");
    li.dataset.kind = l.kind;
    const p = profileOf(l.strategy);
    if (p) li.style.setProperty("--c", p.color);
    const t = document.createElement("time");
    t.textContent = l.clock;
    const span = document.createElement("span");
    span.textContent = l.text;
    li.append(t, span);
    list.prepend(li);
  }
  while (list.children.length > 60) list.lastChild.remove();
}

// The compact leaderboard rows (the full table has more columns).
export function renderBoard(s, full) {
  const body = $("leaderboard")?.tBodies[0];
  if (!body) return;
  body.replaceChildren(...(s.leaderboard || []).map((e) => {
    const tr = el("tr", { dataset: { strategy: e.strategy, status: e.status } });
    const p = profileOf(e.strategy);
    const scoreTip = e.scored ? `score ${fixed(e.score)} (${s.score_by})` : `ranked by P&L until the ratios rest on ${s.min_returns || 30} returns`;
    const cells = full
      ? [e.rank, null, money(e.pnl), signedPct(e.return), ratioCell(e, e.sharpe, e.sharpe_se), ratioCell(e, e.sortino), pct(e.max_drawdown), fixed(e.turnover, 1) + "×", dollars(e.fees), e.status]
      : [{ text: String(e.rank), title: scoreTip }, null, money(e.pnl), e.status];
    cells.forEach((v, i) => {
      let td;
      if (v === null) td = el("td", null, el("i", { class: "swatch", style: { background: p?.color || "#888" } }), " " + e.name);
      else if (typeof v === "object") td = el("td", { text: v.text, title: v.title });
      else td = el("td", null, String(v));
      if (i === 2) td.className = e.pnl >= 0 ? "up" : "down";
      tr.append(td);
    });
    return tr;
  }));
}

// connect subscribes to the tournament's topics and calls onState with
// every snapshot, after the shared parts are drawn.
export function connect(onState, onFills) {
  api("GET", "/api/tournament/state").then((s) => { if (!view.last) handle(s, serverNow()); }).catch(() => {});
  // made is when the server made the snapshot, on its clock.
  function handle(s, made) {
    view.updates++;
    view.last = s;
    view.lockAt = s.phase === "voting" && s.lock_in_s > 0 ? made + s.lock_in_s * 1000 : null;
    view.profiles = s.profiles || [];
    for (const p of view.profiles) known.set(p.id, p);
    takeTally({ round: s.vote_round, votes: s.votes, total: s.vote_total, seq: s.vote_seq });
    renderHeader(s);
    renderVotes(s);
    addLines(s.recent || []);
    onState(s);
  }
  live.subscribe("tournament.state", (s, env) => handle(s, env?.time ? Date.parse(env.time) : serverNow()));
  live.subscribe("tournament.votes", (t) => {
    view.tallies++;
    if (takeTally(t) && view.last) renderVotes(view.last);
  });
  live.subscribe("tournament.commentary", (lines) => addLines(lines));
  showMyVote();
  if (onFills) live.subscribe("tournament.fills", onFills);
}
