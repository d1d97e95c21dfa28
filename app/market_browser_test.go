package app

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserMarketPage opens the market page and uses it as a person would:
// quotes and the book are live, the speed and a flash crash can be set, and
// an order sent from the ticket fills against the book.
func TestBrowserMarketPage(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url+"market")
	waitJS(t, ctx, "market.state on the page", `window.metastationMarket.states >= 2`, 20*time.Second)
	waitJS(t, ctx, "every instrument quoted",
		`[...document.querySelectorAll("#mk-instruments tbody tr")].filter(tr => tr.querySelector(".last").textContent !== "–").length === 10`, 20*time.Second)
	waitJS(t, ctx, "the order book", `window.metastationMarket.bookLevels > 0`, 10*time.Second)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-speed="100"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "speed 100x", `document.querySelector('[data-speed="100"]').getAttribute("aria-pressed") === "true"`, 10*time.Second)
	waitJS(t, ctx, "a 1-minute bar on the chart", `window.metastationMarket.state.bars.length > 0`, 20*time.Second)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#mk-ticket button[type="submit"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the market order filled", `(window.metastationMarket.lastFill?.filled ?? 0) > 0`, 10*time.Second)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#mk-crash`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the black swan", `document.getElementById("mk-regime").dataset.regime === "black_swan"`, 10*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("mk-error").textContent`); msg != "" {
		t.Errorf("the page shows an error: %q", msg)
	}
	screenshot(t, ctx, "market")
}
