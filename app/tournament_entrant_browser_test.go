package app

import (
	"os"
	"path/filepath"
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
