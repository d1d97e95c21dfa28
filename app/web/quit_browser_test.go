package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserWelcomeAndQuit opens the first-run page, checks it says what
// runs, where the data is and how to stop, then presses Quit twice (the
// first press only arms it) and checks the page says Metastation stopped and
// the server is gone. The test stands in for metastation serve, which shuts
// down when the quit is requested (app/cli's TestQuitStopsServe runs the
// real command).
func TestBrowserWelcomeAndQuit(t *testing.T) {
	ctx := newBrowser(t)
	cfg := testConfig(t)
	a, url, stop := startServerToStop(t, cfg, nil)
	go func() { <-a.QuitRequested(); stop() }()

	navigate(t, ctx, url+"welcome")
	text := eval[string](t, ctx, `document.querySelector("main").textContent`)
	for _, want := range []string{"What is running", cfg.DataDir, "How to stop it", "Closing this tab does not stop Metastation", "market", "tournament"} {
		if !strings.Contains(text, want) {
			t.Errorf("the welcome page does not say %q:\n%s", want, text)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#quit`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the first press to arm Quit", `document.getElementById("quit").textContent === "Press again to quit"`, 5*time.Second)
	select {
	case <-a.QuitRequested():
		t.Fatal("one press of Quit stopped the server; it should only arm it")
	case <-time.After(300 * time.Millisecond):
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#quit`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page to say Metastation stopped", `!!document.getElementById("stopped")`, 10*time.Second)
	select {
	case <-a.QuitRequested():
	case <-time.After(5 * time.Second):
		t.Fatal("Quit did not ask the server to stop")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "healthz")
		if err != nil {
			break // refused: the server is down
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still answers 20 s after Quit")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserContentSecurityPolicy loads every page of the navigation and
// the welcome page under the CSP and fails on any violation (a script or
// style the policy blocks would break the page silently), then checks that
// an injected inline script without the nonce is refused.
func TestBrowserContentSecurityPolicy(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	// Registered before any page script runs; CDP-injected scripts are not
	// subject to the page's CSP.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`,
	}); err != nil {
		t.Fatal(err)
	}
	paths := []string{"/welcome", "/audit"}
	for _, n := range nav() {
		paths = append(paths, n.Href)
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			navigate(t, ctx, url+strings.TrimPrefix(p, "/"))
			time.Sleep(1500 * time.Millisecond) // let module scripts load and draw
			if v := eval[[]string](t, ctx, `window.__csp`); len(v) > 0 {
				t.Errorf("CSP violations on %s: %v", p, v)
			}
		})
	}
	// (eval itself cannot be tried from here: DevTools' evaluation is exempt
	// from the page's CSP; TestSecurityHeaders checks the policy has no
	// unsafe-eval.) An inline script added to the page must not run.
	got := eval[string](t, ctx, `(() => { window.__ran = false; const s = document.createElement("script"); s.textContent = "window.__ran = true"; document.body.append(s); return String(window.__ran); })()`)
	if got != "false" {
		t.Errorf("an inline script without the nonce ran")
	}
}
