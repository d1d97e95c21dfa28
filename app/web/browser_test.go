package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/metastation/metastation/app"
)

// newBrowser starts a headless Chromium for one test and returns a tab's
// context. Without Chromium the test is skipped, unless METASTATION_E2E=1
// demands that browser tests run.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("METASTATION_E2E") == "1" {
			t.Fatal("METASTATION_E2E=1 but no chromium is installed (apt-get install -y chromium)")
		}
		t.Skip("browser test skipped: no chromium found (apt-get install -y chromium, or set METASTATION_E2E=1 to require it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// A bound on the whole browser session: generous, because a test that
	// visits every page (TestBrowserEveryPageFitsAPhone) took over 90 s at
	// load 37; each wait inside a test has its own deadline.
	ctx, cancelTime := context.WithTimeout(ctx, 240*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// eval runs a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript condition until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (%s), last error %v", timeout, what, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
}

// screenshot saves the page as docs/<name>.png when METASTATION_SCREENSHOTS=1
// (that is how the README's picture is made) and otherwise in the test's
// temporary directory, and checks it is a real image.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 10_000 || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("screenshot is %d bytes, not a rendered page", len(png))
	}
	dir := t.TempDir()
	if os.Getenv("METASTATION_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "..", "docs")
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserHomeShowsLiveFigures(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url)
	waitJS(t, ctx, "the socket to be live", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)
	waitJS(t, ctx, "a first system.state", `window.metastationHome.updates >= 1`, 10*time.Second)

	first := eval[map[string]any](t, ctx, `({updates: window.metastationHome.updates,
		uptime: document.getElementById("uptime").textContent,
		published: window.metastationHome.last.bus.published})`)
	waitJS(t, ctx, "three more updates", fmt.Sprintf(`window.metastationHome.updates >= %v`, first["updates"].(float64)+3), 10*time.Second)
	later := eval[map[string]any](t, ctx, `({uptime: document.getElementById("uptime").textContent,
		published: window.metastationHome.last.bus.published,
		heap: document.getElementById("fig-heap").textContent,
		goroutines: document.getElementById("fig-goroutines").textContent,
		clients: document.getElementById("fig-clients").textContent,
		seed: document.getElementById("seed").textContent,
		hub: document.querySelector('#services tr[data-service="hub"]')?.dataset.state,
		statusServices: document.querySelectorAll("#status-services .svc").length})`)
	if later["uptime"] == first["uptime"] {
		t.Errorf("uptime stayed at %v", later["uptime"])
	}
	if later["published"].(float64) <= first["published"].(float64) {
		t.Errorf("bus published count did not grow: %v then %v", first["published"], later["published"])
	}
	for _, k := range []string{"heap", "goroutines", "clients"} {
		if v := later[k].(string); v == "" || v == "–" {
			t.Errorf("figure %s is empty: %q", k, v)
		}
	}
	if later["clients"] != "1" || later["seed"] != "7" || later["hub"] != "running" {
		t.Errorf("page shows clients %v, seed %v, hub %v; want 1, 7, running", later["clients"], later["seed"], later["hub"])
	}
	if later["statusServices"].(float64) < 3 {
		t.Errorf("status bar lists %v services", later["statusServices"])
	}
	// Sparklines draw real pixels.
	drawn := eval[bool](t, ctx, `(() => { const c = document.getElementById("spark-heap");
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true; return false; })()`)
	if !drawn {
		t.Error("the heap sparkline is blank")
	}
	screenshot(t, ctx, "home")

	// On a phone the layout reflows: nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the phone layout", `window.innerWidth === 390`, 5*time.Second)
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("on a 390 px phone the page is %v px wide", w)
	}
	screenshot(t, ctx, "home-phone")
}

func TestBrowserShowsPanicAndRecovery(t *testing.T) {
	ctx := newBrowser(t)
	p := newPanicky()
	_, url := startServer(t, newPanickyService(p))
	navigate(t, ctx, url)
	waitJS(t, ctx, "flaky running", `document.querySelector('#services tr[data-service="flaky"]')?.dataset.state === "running"`, 15*time.Second)
	p.fire()
	waitJS(t, ctx, "the restart in the event log",
		`[...document.querySelectorAll("#events li")].some(li => li.textContent.includes("flaky: restarting"))`, 10*time.Second)
	waitJS(t, ctx, "flaky running again with one restart",
		`(() => { const r = document.querySelector('#services tr[data-service="flaky"]');
		return r && r.dataset.state === "running" && r.children[2].textContent === "1"; })()`, 10*time.Second)
	title := eval[string](t, ctx, `document.querySelector('#status-services .svc[data-state="running"][title^="flaky"]')?.title ?? ""`)
	if !strings.Contains(title, "1 restarts") {
		t.Errorf("status bar title for flaky: %q", title)
	}
}

func TestBrowserReconnectsAfterServerRestart(t *testing.T) {
	ctx := newBrowser(t)
	srv, url := startServer(t)
	navigate(t, ctx, url)
	waitJS(t, ctx, "live", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "offline", `document.getElementById("conn-state").dataset.state === "offline"`, 10*time.Second)

	// A new server on the same port and data directory: the page must find it
	// by itself and resubscribe.
	cfg := srv.Config
	cfg.Addr = strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	srv2, err := app.New(context.Background(), cfg, srv.Log, testAssets())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), srv2); err != nil {
		t.Fatal(err)
	}
	defer srv2.Shutdown(context.Background())
	waitJS(t, ctx, "live again", `document.getElementById("conn-state").dataset.state === "live"`, 20*time.Second)
	n := eval[float64](t, ctx, `window.metastationHome.updates`)
	waitJS(t, ctx, "updates after the reconnect", fmt.Sprintf(`window.metastationHome.updates >= %v`, n+2), 10*time.Second)
}

// TestBrowserHomeTilesFollowWork: the Learning tile's line names the run
// training now, the Data tile's the job generating now, and each goes back
// to what its page offers when the work stops.
func TestBrowserHomeTilesFollowWork(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url)
	waitJS(t, ctx, "the socket to be live", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)
	if got := eval[string](t, ctx, `document.getElementById("live-learning").textContent`); got != "PPO · SAC · QMIX · MADDPG" {
		t.Errorf("the Learning tile at rest reads %q", got)
	}
	// 500,000 steps are 499,712: whole rollouts of 4 × 128.
	if code, body := httpDo(t, "POST", url+"api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":500000,"seed":1}`); code != 201 {
		t.Fatalf("start a run: %d %s", code, body)
	}
	waitJS(t, ctx, "the Learning tile to name the run", `/^training PPO on cartpole · [0-9,]+\/499,712 steps$/.test(document.getElementById("live-learning").textContent)`, 15*time.Second)
	if code, body := httpDo(t, "POST", url+"api/rl/runs/1/stop", ""); code != 202 {
		t.Fatalf("stop the run: %d %s", code, body)
	}
	waitJS(t, ctx, "the Learning tile at rest again", `document.getElementById("live-learning").textContent === "PPO · SAC · QMIX · MADDPG"`, 15*time.Second)

	// The Data tile follows a job that generates. A fast machine may write
	// the 3M rows in under a second, so every text the tile shows is kept.
	eval[bool](t, ctx, `(() => { const e = document.getElementById("live-data"); window.dataTexts = [];
		new MutationObserver(() => window.dataTexts.push(e.textContent)).observe(e, {childList: true, characterData: true, subtree: true});
		return true; })()`)
	if code, body := httpDo(t, "POST", url+"api/synth/jobs", `{"kind":"shipments","rows":3000000,"seed":1}`); code != 202 {
		t.Fatalf("start a job: %d %s", code, body)
	}
	waitJS(t, ctx, "the Data tile to name the job", `window.dataTexts.some((x) => /^generating shipments · [0-9,]+\/3,000,000 rows$/.test(x))`, 15*time.Second)
	httpDo(t, "DELETE", url+"api/synth/jobs/1", "") // it may have finished already
	waitJS(t, ctx, "the Data tile at rest again", `document.getElementById("live-data").textContent === "synthetic"`, 15*time.Second)
}
