package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pageErrors collects the JavaScript exceptions a tab throws.
func pageErrors(ctx context.Context) func() []string {
	var mu sync.Mutex
	var errs []string
	_ = chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			defer mu.Unlock()
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			errs = append(errs, msg)
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// TestBrowserEveryPageFitsAPhone opens every page of the navigation at
// 390x844 (an iPhone 13's viewport): the page is never wider than the
// screen (tables scroll inside their card), the status bar is one line,
// and no page throws a JavaScript error.
func TestBrowserEveryPageFitsAPhone(t *testing.T) {
	ctx := newBrowser(t)
	errors := pageErrors(ctx)
	_, url := startServer(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	for _, item := range nav() {
		t.Run(item.Title, func(t *testing.T) {
			navigate(t, ctx, url+strings.TrimPrefix(item.Href, "/"))
			waitJS(t, ctx, "the socket to be live", `document.getElementById("conn-state")?.dataset.state === "live"`, 15*time.Second)
			// The scripts fill tables and charts after the first frames.
			time.Sleep(1500 * time.Millisecond)
			got := eval[map[string]float64](t, ctx, `({vw: window.innerWidth, doc: document.documentElement.scrollWidth,
				body: document.body.scrollWidth, bar: document.getElementById("statusbar")?.getBoundingClientRect().height ?? 0})`)
			if got["vw"] != 390 {
				t.Fatalf("viewport is %v px wide, not 390", got["vw"])
			}
			if got["doc"] > got["vw"] || got["body"] > got["vw"] {
				wide := eval[[]string](t, ctx, `[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
					.slice(0, 5).map((e) => e.tagName + "#" + e.id + "." + e.className)`)
				t.Errorf("%s is %v px wide on a 390 px phone (widest: %v)", item.Href, got["doc"], wide)
			}
			if got["bar"] > 48 {
				t.Errorf("the status bar is %v px tall: more than one line on a phone", got["bar"])
			}
			if item.Href == "/tournament" {
				waitJS(t, ctx, "the leaderboard", `document.querySelectorAll("#leaderboard tbody tr").length >= 5`, 15*time.Second)
				// The picture shows the leaderboard (what had to fit), under the
				// sticky top bar.
				eval[any](t, ctx, `(b => window.scrollTo(0, b.getBoundingClientRect().top + scrollY - document.querySelector(".topbar").offsetHeight - 12))(document.getElementById("leaderboard").closest(".panel") || document.getElementById("leaderboard"))`)
				time.Sleep(300 * time.Millisecond)
				screenshot(t, ctx, "tournament-phone")
			}
		})
	}
	// On a desktop too the status bar is one line, however many services
	// the app runs (with fifteen it took three and covered the page).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, url)
	waitJS(t, ctx, "the services in the status bar", `document.querySelectorAll("#status-services .svc.each").length >= 5`, 15*time.Second)
	if h := eval[float64](t, ctx, `document.getElementById("statusbar").getBoundingClientRect().height`); h > 48 {
		t.Errorf("the status bar is %v px tall at 1280 px", h)
	}
	if h := eval[float64](t, ctx, `document.querySelector(".nav").getBoundingClientRect().height`); h > 48 {
		t.Errorf("the navigation is %v px tall at 1280 px: more than one line", h)
	}
	if e := errors(); len(e) > 0 {
		t.Errorf("JavaScript errors: %v", e)
	}
}

// TestBrowserCountdownsTick: during the voting window the vote countdown
// and the header's "starts in" count down each second from the server's
// clock (they used to stand still between snapshots), and the status bar's
// clock moves.
func TestBrowserCountdownsTick(t *testing.T) {
	ctx := newBrowser(t)
	tc := fastTournament()
	tc.VoteWindow = 8 * time.Second
	tc.PublishEvery = 3 * time.Second // snapshots far apart: the page must tick on its own
	_, url := startTournamentServer(t, tc)
	navigate(t, ctx, url+"tournament")
	waitJS(t, ctx, "the voting window", `window.metastationTournament.last?.phase === "voting" && window.metastationTournament.lockLeft > 2`, 60*time.Second)
	read := func() (int, string, string) {
		v := eval[map[string]any](t, ctx, `({left: window.metastationTournament.lockLeft, lock: document.getElementById("vote-lock").textContent,
			phase: document.getElementById("t-phase").textContent, clock: document.getElementById("status-clock").textContent})`)
		return int(v["left"].(float64)), v["lock"].(string) + " | " + v["phase"].(string), v["clock"].(string)
	}
	left0, text0, clock0 := read()
	time.Sleep(2100 * time.Millisecond)
	left1, text1, clock1 := read()
	t.Logf("%q then %q", text0, text1)
	if left1 >= left0 || text1 == text0 {
		t.Errorf("the vote countdown did not move in 2 s: %d (%q) then %d (%q)", left0, text0, left1, text1)
	}
	if !strings.Contains(text1, fmt.Sprintf("close in %d s", left1)) || !strings.Contains(text1, fmt.Sprintf("starts in %d s", left1)) {
		t.Errorf("the vote panel and the header disagree with the countdown %d: %q", left1, text1)
	}
	if clock1 == clock0 || clock1 == "–" {
		t.Errorf("the status bar's clock stood at %q", clock1)
	}
}

// TestBrowserScoresExplainThemselves: early in a round Sharpe and Sortino
// read "—" (too few returns) and say why; once there are enough they are
// figures with their standard error; the equity chart has a legend with
// every strategy and axis labels in dollars.
func TestBrowserScoresExplainThemselves(t *testing.T) {
	ctx := newBrowser(t)
	tc := fastTournament()
	tc.Speed = 60 // 30 simulated minutes take 30 s: time to see the early board
	_, url := startTournamentServer(t, tc)
	navigate(t, ctx, url+"tournament")
	waitJS(t, ctx, "a running round", `window.metastationTournament.last?.phase === "running" && document.querySelectorAll("#leaderboard tbody tr").length === 5`, 20*time.Second)
	early := eval[map[string]any](t, ctx, `(() => { const s = window.metastationTournament.last, r = document.querySelector("#leaderboard tbody tr");
		return {returns: s.leaderboard[0].returns, scored: s.leaderboard[0].scored, sharpe: r.children[4].textContent, tip: r.children[4].title,
			note: document.getElementById("t-score-note").textContent}; })()`)
	if early["scored"] == false {
		if early["sharpe"] != "—" || !strings.Contains(early["tip"].(string), "needs 30") || !strings.Contains(early["note"].(string), "ranks by P&L") {
			t.Errorf("early in the round (%v returns) the board shows %+v", early["returns"], early)
		}
	} else {
		t.Logf("the round was already %v minutes in; the early board was not seen", early["returns"])
	}
	waitJS(t, ctx, "ratios that rest on 30 returns", `window.metastationTournament.last?.leaderboard?.[0]?.scored === true`, 60*time.Second)
	waitJS(t, ctx, "the board to show them", `document.querySelector("#leaderboard tbody tr").children[4].textContent !== "—"`, 5*time.Second)
	late := eval[map[string]any](t, ctx, `(() => { const r = document.querySelector("#leaderboard tbody tr");
		return {sharpe: r.children[4].textContent, tip: r.children[4].title, head: document.getElementById("th-sharpe").title,
			legend: document.querySelectorAll("#equity-legend .legend-item").length}; })()`)
	if !strings.Contains(late["tip"].(string), "±") || !strings.Contains(late["head"].(string), "√") {
		t.Errorf("the Sharpe figure does not explain itself: %+v", late)
	}
	if late["legend"].(float64) != 5 {
		t.Errorf("the equity legend names %v strategies, want 5", late["legend"])
	}
	// The y axis is labelled in dollars: its labels draw pixels in the left margin.
	inked := eval[float64](t, ctx, `(() => { const c = document.getElementById("equity"), d = c.getContext("2d")
		.getImageData(0, 0, Math.round(50 * devicePixelRatio), c.height).data;
		let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`)
	if inked < 200 {
		t.Errorf("the equity chart's axis margin is blank (%v pixels)", inked)
	}
}

// TestBrowserDashboardShowsEverySeries: the dashboard has a panel for
// every series the server publishes (it showed 49 of 83), whole titles,
// and every subsystem in its filter.
func TestBrowserDashboardShowsEverySeries(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url+"dashboard")
	// The tournament's series come with its first snapshots: wait for them.
	waitJS(t, ctx, "the market and tournament panels", `window.metastationDashboard?.panels >= 40 &&
		!!document.querySelector('.dash-section[data-sub="tournament"]')`, 30*time.Second)
	resp, err := http.Get(url + "api/analytics/series")
	if err != nil {
		t.Fatal(err)
	}
	var list []json.RawMessage
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The page lays out what /api/analytics/series lists at its last
	// refresh (every 2 s): a panel for each of the series listed just now.
	waitJS(t, ctx, "a panel per series", fmt.Sprintf(`window.metastationDashboard.panels === window.metastationDashboard.series &&
		window.metastationDashboard.series >= %d`, len(list)), 10*time.Second)
	got := eval[map[string]any](t, ctx, `({panels: window.metastationDashboard.panels,
		cut: [...document.querySelectorAll(".chart-panel h3")].filter((h) => h.scrollWidth > h.clientWidth + 1).map((h) => h.textContent),
		subs: [...document.getElementById("dash-subsystem").options].map((o) => o.value),
		legends: document.querySelectorAll(".chart-panel .chart-legend").length,
		groups: document.querySelectorAll("details.dash-group").length})`)
	if n := got["panels"].(float64); n < float64(len(list))-5 {
		t.Errorf("%v panels for %d series", n, len(list))
	}
	if cut := got["cut"].([]any); len(cut) > 0 {
		t.Errorf("titles cut off: %v", cut)
	}
	for _, sub := range []string{"system", "market", "tournament", "rl", "synth"} {
		if !strings.Contains(fmt.Sprint(got["subs"]), sub) {
			t.Errorf("the subsystem filter lacks %s: %v", sub, got["subs"])
		}
	}
	if got["legends"] != got["panels"] || got["groups"].(float64) < 4 {
		t.Errorf("legends %v for %v panels, %v metric groups", got["legends"], got["panels"], got["groups"])
	}
	// A value carries its unit and at most four significant digits.
	vals := eval[[]string](t, ctx, `[...document.querySelectorAll(".chart-panel .value")].map((v) => v.textContent).filter((v) => v !== "–")`)
	for _, v := range vals {
		digits := 0
		for _, c := range v {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits > 7 { // "$1,000,000" has 7; six significant digits plus decimals had up to 11
			t.Errorf("value %q has %d digits", v, digits)
		}
	}
	// Folding a section hides its panels: the next section moves up.
	before := eval[float64](t, ctx, `document.querySelector('.dash-section[data-sub="tournament"]').getBoundingClientRect().top`)
	eval[bool](t, ctx, `(document.querySelector('.dash-section[data-sub="market"] > summary').click(), true)`)
	waitJS(t, ctx, "the market section folded", fmt.Sprintf(`!document.querySelector('.dash-section[data-sub="market"]').open &&
		document.querySelector('.dash-section[data-sub="tournament"]').getBoundingClientRect().top < %v - 1000`, before), 5*time.Second)
}

// TestBrowserOneSocketPerTab: a person clicking through six pages in one
// tab is one client of the hub, not six (each page's socket closes as the
// page goes).
func TestBrowserOneSocketPerTab(t *testing.T) {
	ctx := newBrowser(t)
	srv, url := startServer(t)
	for _, p := range []string{"", "market", "dashboard", "tournament", "data", "train", ""} {
		navigate(t, ctx, url+p)
		waitJS(t, ctx, "the socket of /"+p, `document.getElementById("conn-state")?.dataset.state === "live"`, 15*time.Second)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := srv.Hub.Stats().Clients
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after visiting seven pages in one tab the hub counts %d clients, want 1", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if shown := eval[string](t, ctx, `document.getElementById("fig-clients").textContent`); shown != "1" {
		waitJS(t, ctx, "the home page to count one client", `document.getElementById("fig-clients").textContent === "1"`, 5*time.Second)
	}
}

// TestBrowserMarketExplainsItself: the market page says what "fundamental"
// is and that the tournament trades its own copy of the market, its change
// column says against what, and the black swan's badge stays readable (its
// text pulsed to 45 % opacity).
func TestBrowserMarketExplainsItself(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url+"market")
	waitJS(t, ctx, "the quotes", `document.querySelectorAll("#mk-instruments tbody tr .last").length > 3 &&
		document.querySelector("#mk-instruments tbody tr .last").textContent !== "–"`, 15*time.Second)
	got := eval[map[string]string](t, ctx, `({note: document.querySelector(".chart-note").textContent,
		latent: document.getElementById("mk-latent").title, chg: document.querySelectorAll("#mk-instruments th")[2].title,
		head: document.querySelectorAll("#mk-instruments th")[2].textContent})`)
	if !strings.Contains(got["note"], "Fundamental") || !strings.Contains(got["note"], "tournament") || !strings.Contains(got["latent"], "anchor") {
		t.Errorf("the page does not explain the fundamental or the two markets: %+v", got)
	}
	if got["head"] != "day chg" || !strings.Contains(got["chg"], "day's opening price") {
		t.Errorf("the change column does not say against what: %+v", got)
	}
	eval[bool](t, ctx, `(document.getElementById("mk-crash").click(), true)`)
	waitJS(t, ctx, "the black swan", `document.getElementById("mk-regime").dataset.regime === "black_swan"`, 10*time.Second)
	for i := 0; i < 6; i++ { // across the badge's animation
		if op := eval[string](t, ctx, `getComputedStyle(document.getElementById("mk-regime")).opacity`); op != "1" {
			t.Fatalf("the black swan badge's opacity is %s", op)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if txt := eval[string](t, ctx, `document.getElementById("mk-regime").textContent`); txt != "black swan" {
		t.Errorf("the badge reads %q", txt)
	}
}
