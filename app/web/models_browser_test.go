package web

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/tournament"
)

// The Models page end to end: a trading policy registered as champion
// trades on the floor under its version's name; a second version is
// registered through the API as challenger; a canary started from the
// page is rolled back live when its outcomes regress (the state, the
// decision with its statistics and the chart update without a reload);
// promoting the challenger from the page (after confirming) makes it the
// champion, and from the next round the floor shows the new version
// trading.
func TestBrowserModelsCanaryAndPromotion(t *testing.T) {
	cfg := testConfig(t)
	dir := t.TempDir()
	ck1, ck2 := filepath.Join(dir, "v1.ckpt"), filepath.Join(dir, "v2.ckpt")
	writeMARLCheckpoint(t, ck1, "trading-ma", 1)
	writeMARLCheckpoint(t, ck2, "trading-ma", 2)
	art1, _ := os.ReadFile(ck1)
	art2, _ := os.ReadFile(ck2)
	tc := tournament.Config{Seed: 7, Speed: 1500, Round: tournament.RoundConfig{Length: 90 * time.Minute},
		FirstWait: 200 * time.Millisecond, VoteWindow: 1500 * time.Millisecond, PublishEvery: 100 * time.Millisecond}
	srv, url := startServerWith(t, cfg, func(srv *app.App) error {
		var err error
		if srv.Tournament, err = tournament.NewService(tc, srv.Bus, srv.DB, srv.Writer, srv.Log); err != nil {
			return err
		}
		// Version 1 is the champion before the server starts: it enters the
		// tournament's first round.
		ctx := t.Context()
		v, err := srv.MLOps.Registry().Register(ctx, mlops.RegisterRequest{Model: mlops.TradingModel, Kind: mlops.KindTrading, Artifact: art1,
			Lineage: mlops.Lineage{Source: "marl", Run: "marl run 1", Seed: 1}, Metrics: map[string]float64{"train_team_return": 1}})
		if err != nil {
			return err
		}
		_, err = srv.MLOps.SetAlias(ctx, mlops.TradingModel, mlops.Champion, v.Version, "test", "the first trading policy")
		return err
	})
	_ = srv
	ctx := newBrowser(t)

	navigate(t, ctx, url+"floor")
	waitJS(t, ctx, "version 1 trading on the floor", `[...document.querySelectorAll('#leaderboard tbody tr[data-strategy="champion-v1"]')].some((tr) => tr.textContent.includes("Champion v1"))`, 30*time.Second)

	// Version 2 registered through the API, as challenger.
	body, _ := json.Marshal(map[string]any{"kind": mlops.KindTrading, "artifact": base64.StdEncoding.EncodeToString(art2), "alias": "challenger", "seed": 2})
	if code, b := httpDo(t, "POST", url+"api/models/trading-policy/versions", string(body)); code != 201 {
		t.Fatalf("register v2: %d %s", code, b)
	}

	navigate(t, ctx, url+"models")
	waitJS(t, ctx, "the model selected with its champion and challenger", `window.metastationModels.selected === "trading-policy" && window.metastationModels.champion === 1 && window.metastationModels.challenger === 2`, 15*time.Second)
	waitJS(t, ctx, "v1 trading in the tournament", `window.metastationModels.trading === 1 && document.getElementById("ml-playing").textContent === "v1"`, 5*time.Second)
	waitJS(t, ctx, "two versions with lineage", `document.querySelectorAll("#ml-versions tr").length === 2 && document.querySelector('#ml-versions tr[data-version="1"]').textContent.includes("marl run 1")`, 5*time.Second)
	waitJS(t, ctx, "the live socket", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)

	// A 20 % canary from the page.
	eval[bool](t, ctx, `(() => { const r = document.getElementById("ml-canary"); r.value = "20"; r.dispatchEvent(new Event("input")); document.getElementById("ml-canary-apply").click(); return true; })()`)
	waitJS(t, ctx, "the canary running", `document.getElementById("ml-state").textContent === "canary" && document.getElementById("ml-canary-value").textContent === "20 %"`, 10*time.Second)

	// Live outcomes: the champion right 90 % of the time, the canary 50 %.
	feed := func(version int, every int) {
		xs := make([]float64, 200)
		for i := range xs {
			if i%every != 0 {
				xs[i] = 1
			}
		}
		b, _ := json.Marshal(map[string]any{"version": version, "values": xs})
		if code, out := httpDo(t, "POST", url+"api/models/trading-policy/feedback", string(b)); code != 200 {
			t.Fatalf("feedback: %d %s", code, out)
		}
	}
	feed(1, 10)
	waitJS(t, ctx, "the canary chart's first point", `window.metastationModels.points >= 1`, 10*time.Second)
	feed(2, 2)
	waitJS(t, ctx, "the canary rolled back, live", `document.getElementById("ml-state").textContent === "rolled back"`, 10*time.Second)
	waitJS(t, ctx, "the rollback decision with its statistics", `[...document.querySelectorAll("#ml-events li.rollback")].some((li) => li.textContent.includes("canary rolled back") && li.querySelector("details pre")?.textContent.includes("mSPRT"))`, 10*time.Second)
	waitJS(t, ctx, "the chart with both arms", `window.metastationModels.points >= 2`, 10*time.Second)
	screenshot(t, ctx, "models-rolled-back")

	// Promote asks first; cancelling changes nothing.
	eval[bool](t, ctx, `(document.getElementById("ml-promote").click(), true)`)
	waitJS(t, ctx, "the confirmation", `document.getElementById("ml-confirm").open && document.getElementById("ml-confirm-text").textContent.includes("Make v2 the champion")`, 5*time.Second)
	eval[bool](t, ctx, `(document.getElementById("ml-confirm-cancel").click(), true)`)
	time.Sleep(300 * time.Millisecond)
	if c := eval[float64](t, ctx, `window.metastationModels.champion`); c != 1 {
		t.Fatalf("a cancelled promotion moved the champion to v%v", c)
	}
	eval[bool](t, ctx, `(document.getElementById("ml-promote").click(), true)`)
	waitJS(t, ctx, "the confirmation again", `document.getElementById("ml-confirm").open`, 5*time.Second)
	eval[bool](t, ctx, `(document.getElementById("ml-confirm-ok").click(), true)`)
	waitJS(t, ctx, "v2 the champion, the canary over", `window.metastationModels.champion === 2 && document.getElementById("ml-state").textContent === "idle"`, 10*time.Second)
	waitJS(t, ctx, "the promotion in the decisions", `[...document.querySelectorAll("#ml-events li.promote")].some((li) => li.textContent.includes("version 2 promoted to champion") && li.textContent.includes("promoted by hand"))`, 10*time.Second)
	waitJS(t, ctx, "the champion's timeline with two stints", `document.querySelectorAll('#ml-timeline .ml-lane[data-alias="champion"] .ml-seg').length === 2`, 5*time.Second)
	waitJS(t, ctx, "v2 trading in the tournament, said on the page", `window.metastationModels.trading === 2 && [...document.querySelectorAll("#ml-events li.tournament")].some((li) => li.textContent.includes("version 2 enters the tournament") && li.textContent.includes("replacing version 1"))`, 10*time.Second)
	screenshot(t, ctx, "models")

	// The floor shows version 2 trading from the next round.
	navigate(t, ctx, url+"floor")
	waitJS(t, ctx, "version 2 trading on the floor", `[...document.querySelectorAll('#leaderboard tbody tr[data-strategy="champion-v2"]')].some((tr) => tr.textContent.includes("Champion v2"))`, 30*time.Second)
	if got := eval[string](t, ctx, `document.querySelector("#leaderboard tbody").textContent`); strings.Contains(got, "Champion v1") {
		t.Errorf("version 1 still trades after the promotion: %s", got)
	}
}
