package web

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestBrowserMarketPage opens the market page and uses it as a person would:
// quotes and the book are live, the speed and a flash crash can be set, and
// an order sent from the ticket fills against the book.
func TestBrowserMarketPage(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	// Script errors (the chart refuses out-of-order updates with one) fail the test.
	var mu sync.Mutex
	var jsErrors []string
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			mu.Lock()
			jsErrors = append(jsErrors, msg)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
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
	// The chart is TradingView Lightweight Charts: it draws every closed bar
	// (plus the forming candle) and shows the attribution its licence asks for.
	waitJS(t, ctx, "the candles drawn by the chart",
		`window.metastationMarket.chartBars >= window.metastationMarket.state.bars.length && document.querySelectorAll("#mk-chart canvas").length > 0`, 10*time.Second)
	if !eval[bool](t, ctx, `!!document.querySelector('#mk-chart a#tv-attr-logo[href^="https://www.tradingview.com/"]') && !!document.querySelector('.chart-credit a[href="https://www.tradingview.com/"]')`) {
		t.Error("the chart lacks the TradingView attribution (logo on the chart and the link under it)")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-interval="1h"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the 1h chart", `window.metastationMarket.chartInterval === "1h" && window.metastationMarket.chartBars === window.metastationMarket.state.bars.length + (window.metastationMarket.state.forming ? 1 : 0)`, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-interval="1m"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "back to 1m candles", `window.metastationMarket.chartInterval === "1m" && window.metastationMarket.state.bars.length > 0 && window.metastationMarket.chartBars > 0`, 10*time.Second)
	first := eval[string](t, ctx, `window.metastationMarket.state.symbol`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#mk-instruments tr[data-symbol="BTC"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the BTC chart", `window.metastationMarket.chartKey === "BTC/1m" && window.metastationMarket.chartBars > 0`, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#mk-instruments tr[data-symbol=%q]`, first)))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "back to the first chart", fmt.Sprintf(`window.metastationMarket.chartKey === "%s/1m" && window.metastationMarket.chartBars > 0`, first), 10*time.Second)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#mk-ticket button[type="submit"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the market order filled", `(window.metastationMarket.lastFill?.filled ?? 0) > 0`, 10*time.Second)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#mk-crash`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the black swan", `document.getElementById("mk-regime").dataset.regime === "black_swan"`, 10*time.Second)
	// A few more candles after the shock, so the chart shows it.
	crashBars := eval[int](t, ctx, `window.metastationMarket.state.bars.length`)
	waitJS(t, ctx, "candles after the crash", fmt.Sprintf(`window.metastationMarket.state.bars.length >= %d`, crashBars+6), 15*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("mk-error").textContent`); msg != "" {
		t.Errorf("the page shows an error: %q", msg)
	}
	screenshot(t, ctx, "market")

	// The chart follows its panel on a phone.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the chart resized with its panel", `(() => {
		const box = document.getElementById("mk-chart"), inner = box.firstElementChild;
		return box.clientWidth < 390 && Math.abs(inner.getBoundingClientRect().width - box.clientWidth) <= 2;
	})()`, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for _, msg := range jsErrors {
		t.Errorf("script error on the page: %s", msg)
	}
}
