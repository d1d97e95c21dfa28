package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/tournament"
)

// A trained learner entered through the API shows up on the tournament page
// like any other strategy: a vote button at once, a leaderboard row with its
// colour once its first round runs, and a line in the season standings once
// that round ends. METASTATION_E2E=1.
func TestBrowserTournamentEntrant(t *testing.T) {
	if os.Getenv("METASTATION_E2E") != "1" {
		t.Skip("browser test: set METASTATION_E2E=1")
	}
	cfg := testConfig(t)
	writeMARLCheckpoint(t, filepath.Join(cfg.DataDir, "runs", "learner", "checkpoint.ckpt"), "trading-ma")
	ctx := newBrowser(t)
	tc := tournament.Config{Seed: 7, Speed: 1500, Round: tournament.RoundConfig{Length: 90 * time.Minute},
		FirstWait: 200 * time.Millisecond, VoteWindow: 1500 * time.Millisecond, PublishEvery: 100 * time.Millisecond}
	_, url := startTournamentServerAt(t, cfg, tc)
	navigate(t, ctx, url+"tournament")
	waitJS(t, ctx, "the leaderboard", `document.querySelectorAll("#leaderboard tbody tr").length === 5`, 10*time.Second)

	code, out := postEntrant(t, url, `{"checkpoint": "learner/checkpoint.ckpt"}`)
	if code != 201 {
		t.Fatalf("enter: %d %v", code, out)
	}
	name := out["profile"].(map[string]any)["name"].(string)
	waitJS(t, ctx, "its vote button", `document.querySelector('#vote-buttons button[data-strategy="rl-vdn-mix-s1"]')?.textContent.includes("`+name+`")`, 5*time.Second)
	waitJS(t, ctx, "its leaderboard row", `document.querySelectorAll("#leaderboard tbody tr").length === 6 &&
		document.querySelector('#leaderboard tbody tr[data-strategy="rl-vdn-mix-s1"]').textContent.includes("`+name+`")`, 15*time.Second)
	waitJS(t, ctx, "its line in the standings", `document.querySelector('#standings tbody tr[data-strategy="rl-vdn-mix-s1"]')?.textContent.includes("`+name+`")`, 15*time.Second)
	if c := eval[string](t, ctx, `document.querySelector('#leaderboard tr[data-strategy="rl-vdn-mix-s1"] .swatch').style.background`); c == "" || c == "rgb(136, 136, 136)" {
		t.Errorf("the learner's swatch is %q, not its profile colour", c)
	}
	screenshot(t, ctx, "tournament-entrant")

	// On the 3D floor the learner gets its own avatar and desk, and the five
	// others make room for it (no avatar stands on another's spot).
	navigate(t, ctx, url+"floor")
	waitJS(t, ctx, "six avatars at six desks", `window.metastationFloor.avatars === 6 && (window.metastationFloor.mode === "2d" || window.metastationFloor.desks === 6)`, 20*time.Second)
}

// An entrant is withdrawn from the tournament page: its row in the
// entrants list asks first, then it leaves the vote list (a vote for it no
// longer counts) and the answer shows. On the trading floor, 3D and 2D, a
// withdrawn entrant's avatar and desk go and the others are laid out again.
// METASTATION_E2E=1.
func TestBrowserTournamentWithdraw(t *testing.T) {
	if os.Getenv("METASTATION_E2E") != "1" {
		t.Skip("browser test: set METASTATION_E2E=1")
	}
	cfg := testConfig(t)
	writeMARLCheckpoint(t, filepath.Join(cfg.DataDir, "runs", "learner", "checkpoint.ckpt"), "trading-ma")
	ctx := newBrowser(t)
	tc := fastTournament()
	tc.FirstWait = time.Hour // no round starts: votes stay open for round 1
	srv, url := startTournamentServerAt(t, cfg, tc)
	const id = "rl-vdn-mix-s1"
	enter := func() {
		t.Helper()
		if code, out := postEntrant(t, url, `{"checkpoint": "learner/checkpoint.ckpt"}`); code != 201 {
			t.Fatalf("enter: %d %v", code, out)
		}
	}
	enter()
	navigate(t, ctx, url+"tournament")
	row := `document.querySelector('#entrant-list li[data-strategy="` + id + `"]')`
	button := `document.querySelector('#vote-buttons button[data-strategy="` + id + `"]')`
	waitJS(t, ctx, "the entrant's row and vote button", row+` && `+button+` && !document.getElementById("entrants").hidden`, 10*time.Second)
	if n := eval[int](t, ctx, `document.querySelectorAll("#entrant-list li").length`); n != 1 {
		t.Errorf("%d rows in the entrants list, want the learner's alone", n)
	}
	eval[bool](t, ctx, button+`.click(), true`)
	waitJS(t, ctx, "the vote", `window.metastationTournament.votes === 1`, 5*time.Second)

	// The first click only asks; "keep" keeps it; "yes" withdraws it.
	eval[bool](t, ctx, row+`.querySelector(".withdraw").click(), true`)
	if !eval[bool](t, ctx, `!`+row+`.querySelector(".confirm").hidden && `+row+`.querySelector(".withdraw").hidden`) {
		t.Fatal("the withdraw button did not ask first")
	}
	eval[bool](t, ctx, row+`.querySelector(".cancel").click(), true`)
	if !eval[bool](t, ctx, row+`.querySelector(".confirm").hidden && window.metastationTournament.withdrawals === 0`) {
		t.Fatal("keep did not keep the entrant")
	}
	eval[bool](t, ctx, row+`.querySelector(".withdraw").click(), `+row+`.querySelector(".confirm").click(), true`)
	waitJS(t, ctx, "the answer", `document.getElementById("entrant-msg").textContent.includes("is withdrawn: it plays no round from round 1 on.")`, 5*time.Second)
	waitJS(t, ctx, "it gone from the vote list", `!`+button+` && document.querySelectorAll("#vote-buttons button").length === 5 &&
		!`+row+` && document.getElementById("entrants").hidden`, 5*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("vote-msg").textContent`); !strings.Contains(msg, "no longer counts") {
		t.Errorf("the vote message after the withdrawal: %q", msg)
	}
	if _, votes := srv.Tournament.Tally(); len(votes) != 0 {
		t.Errorf("the tally after the withdrawal: %v", votes)
	}

	// The floor, 3D (or 2D where WebGL is missing) and 2D: the avatar and its
	// desk leave while the page is open.
	for _, page := range []string{"floor", "floor?2d"} {
		enter()
		navigate(t, ctx, url+page)
		waitJS(t, ctx, page+": six avatars at six desks", `window.metastationFloor.avatars === 6 && (window.metastationFloor.mode === "2d" || window.metastationFloor.desks === 6)`, 15*time.Second)
		if code, out := deleteEntrant(t, url, id); code != 200 {
			t.Fatalf("withdraw: %d %v", code, out)
		}
		waitJS(t, ctx, page+": five avatars at five desks", `window.metastationFloor.avatars === 5 && (window.metastationFloor.mode === "2d" || window.metastationFloor.desks === 5)`, 5*time.Second)
		mode := eval[string](t, ctx, `window.metastationFloor.mode`)
		t.Logf("/%s: the floor drawn in %s", page, mode)
		if page == "floor?2d" && mode != "2d" {
			t.Error("?2d did not draw the 2D floor")
		}
	}
}
