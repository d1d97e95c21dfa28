package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Votes a person understands: a vote shows in another tab at once, between
// rounds too (no snapshot is published then); the same vote again says so;
// after a reload the page shows this browser's pick.
func TestBrowserVotesLiveAndRemembered(t *testing.T) {
	tc := fastTournament()
	tc.FirstWait = time.Hour // between rounds for the whole test: round 1's vote stays open
	srv, url := startTournamentServer(t, tc)
	ctx := newBrowser(t)
	other, cancel := chromedp.NewContext(ctx) // a second tab of the same browser
	defer cancel()
	button := func(id string) string {
		return fmt.Sprintf(`document.querySelector('#vote-buttons button[data-strategy=%q]')`, id)
	}
	count := func(id string) string { return button(id) + `?.querySelector(".count").textContent` }
	for _, tab := range []contextTab{{"first", ctx}, {"second", other}} {
		navigate(t, tab.ctx, url+"tournament")
		waitJS(t, tab.ctx, tab.name+" tab's vote buttons", `document.querySelectorAll("#vote-buttons button").length === 5`, 10*time.Second)
		waitJS(t, tab.ctx, tab.name+" tab's own vote asked for", `window.metastationTournament.myVoteLoaded === true`, 5*time.Second)
	}
	updates := eval[float64](t, other, `window.metastationTournament.updates`)

	click := func(id string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#vote-buttons button[data-strategy="`+id+`"]`))); err != nil {
			t.Fatal(err)
		}
	}
	click("maker")
	waitJS(t, ctx, "the vote answered", `window.metastationTournament.votes === 1`, 5*time.Second)
	waitJS(t, other, "the vote in the other tab", count("maker")+` === "1"`, 3*time.Second)
	if n := eval[float64](t, other, `window.metastationTournament.updates`); n != updates {
		t.Logf("the other tab got %v snapshots meanwhile", n-updates)
	}
	// The same vote again changes nothing and says so.
	click("maker")
	waitJS(t, ctx, "the second vote answered", `window.metastationTournament.votes === 2`, 5*time.Second)
	msg := eval[string](t, ctx, `document.getElementById("vote-msg").textContent`)
	if !strings.Contains(msg, "already voted for Market Maker") || strings.Contains(msg, "changed") {
		t.Errorf("the same vote again says %q", msg)
	}
	if c := eval[string](t, ctx, count("maker")); c != "1" {
		t.Errorf("the same vote again shows %s votes", c)
	}
	// A change of mind moves the vote in both tabs.
	click("learner")
	waitJS(t, ctx, "the change answered", `window.metastationTournament.votes === 3`, 5*time.Second)
	waitJS(t, other, "the changed vote in the other tab", count("learner")+` === "1" && `+count("maker")+` === "0"`, 3*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("vote-msg").textContent`); !strings.HasPrefix(msg, "Vote changed") {
		t.Errorf("a change of mind says %q", msg)
	}

	// After a reload the page shows which strategy this browser voted for.
	navigate(t, ctx, url+"tournament")
	waitJS(t, ctx, "the pick after a reload", button("learner")+`?.getAttribute("aria-pressed") === "true"`, 10*time.Second)
	if pressed := eval[float64](t, ctx, `document.querySelectorAll('#vote-buttons button[aria-pressed="true"]').length`); pressed != 1 {
		t.Errorf("%v buttons pressed after a reload, want 1", pressed)
	}
	if msg := eval[string](t, ctx, `document.getElementById("vote-msg").textContent`); !strings.Contains(msg, "You voted for Adaptive Learner to win round 1") {
		t.Errorf("after a reload the page says %q", msg)
	}
	if _, votes := srv.Tournament.Tally(); votes["learner"] != 1 || len(votes) != 1 {
		t.Errorf("the server counts %v, want one vote for learner", votes)
	}
}

type contextTab struct {
	name string
	ctx  context.Context
}

// GET /api/tournament/votes/mine: a client without a cookie gets one and no
// vote; with it, its pick.
func TestTournamentMyVoteAPI(t *testing.T) {
	tc := fastTournament()
	tc.FirstWait = time.Hour
	_, url := startTournamentServer(t, tc)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	mine := func() map[string]any {
		t.Helper()
		resp, err := c.Get(url + "api/tournament/votes/mine")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("GET mine: %d %s", resp.StatusCode, b)
		}
		return out
	}
	if out := mine(); out["round"] != 1.0 || out["strategy"] != "" || len(jar.Cookies(mustURL(url))) != 1 {
		t.Fatalf("before voting: %v, %d cookies", out, len(jar.Cookies(mustURL(url))))
	}
	resp, err := c.Post(url+"api/tournament/votes", "application/json", strings.NewReader(`{"round": 1, "strategy": "reverter"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("vote with the cookie GET gave: %d", resp.StatusCode)
	}
	if out := mine(); out["strategy"] != "reverter" {
		t.Errorf("after voting: %v", out)
	}
}
