package web

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/marl"
)

// startMARLServer starts the real server with a multi-agent trainer whose
// final evaluation is short (5 held-out episodes instead of 100).
func startMARLServer(t *testing.T) string {
	t.Helper()
	_, url := startServerWith(t, testConfig(t), func(s *app.App) error {
		svc, err := marl.NewService(marl.ServiceConfig{Dir: filepath.Join(s.Config.DataDir, "marl"), EvalEpisodes: 5}, s.Bus, s.Writer, s.DB, s.Log)
		if err != nil {
			return err
		}
		s.MARL = svc
		return nil
	})
	return url
}

// openMARLPage starts the server (startMARLServer) and opens the Learning
// page in a browser, live, with its multi-agent script running.
func openMARLPage(t *testing.T) (context.Context, string) {
	t.Helper()
	ctx := newBrowser(t)
	url := startMARLServer(t)
	navigate(t, ctx, url+"train")
	waitJS(t, ctx, "the socket to be live", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)
	waitJS(t, ctx, "the multi-agent script", `window.metastationTrainMARL?.draws >= 1`, 10*time.Second)
	return ctx, url
}

// startMARLRun fills the multi-agent form as a person would and starts the
// run; it returns once the page has selected it.
func startMARLRun(t *testing.T, ctx context.Context, env, algo string, curriculum bool, episodes, seed, id int) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => {
		const set = (id, v) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event("change")); };
		set("ma-env", %q); set("ma-algo", %q);
		document.getElementById("ma-curriculum").checked = %v;
		set("ma-episodes", "%d"); set("ma-seed", "%d");
		return true; })()`, env, algo, curriculum, episodes, seed))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ma-start`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, fmt.Sprintf("run %d selected", id), fmt.Sprintf(`window.metastationTrainMARL.selected === %d || document.getElementById("ma-error").textContent !== ""`, id), 10*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("ma-error").textContent`); msg != "" {
		t.Fatalf("starting a run shows: %q", msg)
	}
}

// TestBrowserTrainMARLCurriculum starts a small VDN curriculum run on the
// trading world from the form and watches it live: one line per trader
// plus the team's gain points, the curriculum strip lights the current
// stage; the run is stopped from its row, resumed, and trains on from its
// checkpoint with its stage kept.
func TestBrowserTrainMARLCurriculum(t *testing.T) {
	ctx, _ := openMARLPage(t)
	if on := eval[bool](t, ctx, `(() => { const e = document.getElementById("ma-env"); e.value = "spread"; e.dispatchEvent(new Event("change")); const d = document.getElementById("ma-curriculum").disabled; e.value = "trading-ma"; e.dispatchEvent(new Event("change")); return !d; })()`); on {
		t.Error("the curriculum checkbox stays enabled on spread")
	}

	startMARLRun(t, ctx, "trading-ma", "vdn", true, 400, 3, 1)
	waitJS(t, ctx, "a line per trader and the team's, with points", `window.metastationTrainMARL.lines === 4 && window.metastationTrainMARL.points >= 5`, 20*time.Second)
	waitJS(t, ctx, "the run shown running", `window.metastationTrainMARL.status === "running"`, 5*time.Second)
	waitJS(t, ctx, "the strip lights a stage", `!!document.querySelector('#ma-stages li[data-state="current"]')`, 5*time.Second)
	got := eval[map[string]any](t, ctx, `({stage: window.metastationTrainMARL.stage,
		legend: [...document.querySelectorAll("#ma-legend .name")].map(s => s.textContent).join(", "),
		canvas: !!document.querySelector("#ma-chart canvas")})`)
	if got["legend"] != "team, trader 1, trader 2, trader 3" || got["canvas"] != true {
		t.Errorf("chart: %v", got)
	}

	// The first promotion (seed 3 passes calm at episode 50), then stop.
	waitJS(t, ctx, "a promotion listed under the strip", `document.querySelectorAll("#ma-events li").length >= 1 && !!document.querySelector('#ma-stages li[data-state="passed"]')`, 25*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ma-runs tr[data-run="1"] button.stop`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "run 1 stopped with a resume button", `window.metastationTrainMARL.status === "stopped" && !!document.querySelector('#ma-runs tr[data-run="1"] button.resume')`, 15*time.Second)
	stopped := eval[map[string]any](t, ctx, `({ep: window.metastationTrainMARL.state.points.at(-1).episode, stage: window.metastationTrainMARL.stage,
		passed: document.querySelectorAll('#ma-stages li[data-state="passed"], #ma-stages li[data-state="forgotten"]').length})`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ma-runs tr[data-run="1"] button.resume`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "run 1 training on from its checkpoint", fmt.Sprintf(`window.metastationTrainMARL.status === "running" && window.metastationTrainMARL.state.points.at(-1).episode > %v + 3`, stopped["ep"]), 20*time.Second)
	after := eval[map[string]any](t, ctx, `({stage: window.metastationTrainMARL.stage, lines: window.metastationTrainMARL.lines,
		passed: document.querySelectorAll('#ma-stages li[data-state="passed"], #ma-stages li[data-state="forgotten"]').length})`)
	if after["passed"].(float64) < stopped["passed"].(float64) || after["lines"] != float64(4) {
		t.Errorf("after resuming: %v; when stopped: %v", after, stopped)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, `(window.scrollTo(0, document.getElementById("ma").offsetTop - 8), true)`)
	n := eval[float64](t, ctx, `window.metastationTrainMARL.draws`)
	waitJS(t, ctx, "a redraw", fmt.Sprintf(`window.metastationTrainMARL.draws > %v`, n), 5*time.Second)
	screenshot(t, ctx, "train-marl")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ma-runs tr[data-run="1"] button.stop`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "run 1 stopped again", `window.metastationTrainMARL.status === "stopped"`, 15*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("ma-error").textContent`); msg != "" {
		t.Errorf("the page shows an error: %q", msg)
	}
}

// TestBrowserTrainMARLSpread: a QMIX run on simple_spread draws three agent
// lines and the team's, and finishes with its evaluation shown.
func TestBrowserTrainMARLSpread(t *testing.T) {
	ctx, _ := openMARLPage(t)
	// The form suggests what each learner needs on this world.
	suggest := eval[string](t, ctx, `(() => {
		const set = (id, v) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event("change")); };
		const n = () => document.getElementById("ma-episodes").value;
		set("ma-env", "spread"); set("ma-algo", "qmix"); const q = n();
		set("ma-algo", "maddpg"); const m = n();
		return q + "," + m; })()`)
	if suggest != "8000,3000" {
		t.Errorf("episodes suggested on spread for QMIX, MADDPG: %s, want 8000,3000", suggest)
	}
	startMARLRun(t, ctx, "spread", "qmix", false, 150, 1, 1)
	waitJS(t, ctx, "three agent lines and the team's", `window.metastationTrainMARL.lines === 4 && window.metastationTrainMARL.points >= 3`, 20*time.Second)
	legend := eval[string](t, ctx, `[...document.querySelectorAll("#ma-legend .name")].map(s => s.textContent).join(", ")`)
	if legend != "team, agent 1, agent 2, agent 3" {
		t.Errorf("legend %q", legend)
	}
	if off := eval[string](t, ctx, `document.getElementById("ma-stages").dataset.off`); off != "true" {
		t.Errorf("the curriculum strip is on for a spread run (data-off %q)", off)
	}
	waitJS(t, ctx, "the run done with its evaluation", `window.metastationTrainMARL.status === "done" && document.getElementById("ma-eval").textContent !== "–"`, 20*time.Second)
	if pts := eval[float64](t, ctx, `window.metastationTrainMARL.state.points.at(-1).episode`); pts != 150 {
		t.Errorf("the curve ends at episode %v, want 150", pts)
	}
	if n := eval[float64](t, ctx, `document.querySelectorAll("#ma-runs button.enter").length`); n != 0 {
		t.Errorf("a spread run offers to enter the tournament (%v buttons)", n)
	}
}

// TestBrowserTrainMARLEntersTournament: a finished trading-world run's row
// offers "→ tournament"; a click enters the learner, the row then links to
// the trading floor, and the tournament lists it.
func TestBrowserTrainMARLEntersTournament(t *testing.T) {
	ctx, url := openMARLPage(t)
	startMARLRun(t, ctx, "trading-ma", "vdn", false, 30, 4, 1)
	// While it trains (if it has not finished already), no button.
	if early := eval[bool](t, ctx, `window.metastationTrainMARL.state.runs.get(1)?.status === "done" || document.querySelectorAll("#ma-runs button.enter").length === 0`); !early {
		t.Error("a run still training offers to enter the tournament")
	}
	waitJS(t, ctx, "the run done", `window.metastationTrainMARL.status === "done"`, 20*time.Second)
	waitJS(t, ctx, "the enter button", `document.querySelector("#ma-runs tr[data-run='1'] button.enter") !== null`, 5*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ma-runs tr[data-run='1'] button.enter`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the learner entered", `window.metastationTrainMARL.entered === "rl-vdn-mix-s4" || document.getElementById("ma-error").textContent !== ""`, 10*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("ma-error").textContent`); msg != "" {
		t.Fatalf("entering shows: %q", msg)
	}
	if href := eval[string](t, ctx, `document.querySelector("#ma-runs tr[data-run='1'] a.entered")?.getAttribute("href") ?? ""`); href != "/floor" {
		t.Errorf("the row links to %q after entering, want /floor", href)
	}
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/api/tournament/state").then(r => r.json()).then(s => s.profiles.map(p => p.id).join(","))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("tournament state from the page: %v", err)
	}
	if !strings.Contains(ids, "rl-vdn-mix-s4") {
		t.Errorf("the tournament's profiles %q lack the learner", ids)
	}
	// After a reload the page offers the button again; a click finds the
	// learner already in and links to the floor without an error.
	navigate(t, ctx, url+"train")
	waitJS(t, ctx, "the enter button after a reload", `document.querySelector("#ma-runs tr[data-run='1'] button.enter") !== null`, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ma-runs tr[data-run='1'] button.enter`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the floor link again", `document.querySelector("#ma-runs tr[data-run='1'] a.entered") !== null`, 10*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("ma-error").textContent`); msg != "" {
		t.Errorf("entering a learner already in shows: %q", msg)
	}
}
