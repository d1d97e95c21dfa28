package web

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chartTail is the chart's last candle and volume bar as the page's hook
// reads them from the chart itself.
type chartTail struct {
	CandleTime  int64   `json:"candle"`
	VolumeTime  int64   `json:"volume_time"`
	Volume      float64 `json:"volume"`
	FormingTime int64   `json:"forming"`
}

const chartTailJS = `(() => {
	const c = window.metastationMarket.chart(1), f = window.metastationMarket.state.forming;
	return { candle: c.candles.at(-1)?.time ?? 0, volume_time: c.volumes.at(-1)?.time ?? -1,
		volume: c.volumes.at(-1)?.value ?? -1, forming: f?.time ?? 0 };
})()`

// TestBrowserMarketVolumeFollowsCandle: the volume bar of the forming
// candle is drawn with it, in the same minute, and grows with its trades
// (it used to appear only once the bar had closed, one bar behind).
func TestBrowserMarketVolumeFollowsCandle(t *testing.T) {
	ctx := newBrowser(t)
	errors := pageErrors(ctx)
	_, url := startServer(t)
	navigate(t, ctx, url+"market")
	waitJS(t, ctx, "a forming candle on the chart", `window.metastationMarket.state?.forming != null && window.metastationMarket.chartBars > 0`, 30*time.Second)
	// Sample the chart for a while (the server's market runs at 10x: a
	// minute bar forms over 6 s): every sample's last volume bar is the last
	// candle's, and within one minute the volume grows.
	var samples []chartTail
	grew := 0
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) && (len(samples) < 40 || grew < 3) {
		s := eval[chartTail](t, ctx, chartTailJS)
		if s.FormingTime != 0 && s.CandleTime == s.FormingTime {
			if s.VolumeTime != s.CandleTime {
				t.Fatalf("the last candle is at %d but the last volume bar at %d: the volume lags the candle", s.CandleTime, s.VolumeTime)
			}
			if n := len(samples); n > 0 && samples[n-1].CandleTime == s.CandleTime && s.Volume > samples[n-1].Volume {
				grew++
			}
			samples = append(samples, s)
		}
		time.Sleep(150 * time.Millisecond)
	}
	if len(samples) < 10 || grew < 3 {
		t.Errorf("%d samples with a forming candle, its volume grew %d times within a minute: want ≥ 10 and ≥ 3 (last %+v)", len(samples), grew, samples[len(samples)-1:])
	}
	if e := errors(); len(e) > 0 {
		t.Errorf("JavaScript errors: %v", e)
	}
}

// TestBrowserMarketAccount: a person's own orders, fills, position and P&L.
// A limit order below the market rests and shows as open, survives a
// reload, and is cancelled from its row; a market buy then a market sell
// show as fills, the position opens and closes, and the realised P&L is
// the difference of the two fills' prices, in dollars.
func TestBrowserMarketAccount(t *testing.T) {
	ctx := newBrowser(t)
	errors := pageErrors(ctx)
	_, url := startServer(t)
	navigate(t, ctx, url+"market")
	waitJS(t, ctx, "the quotes and the account", `window.metastationMarket.state.quotes.get("SPX")?.bid > 0 && window.metastationMarket.account != null
		&& window.metastationMarket.state.symbol === "SPX"`, 30*time.Second)
	if got := eval[string](t, ctx, `document.getElementById("mk-orders-empty").hidden + " " + document.getElementById("mk-positions-empty").textContent`); !strings.HasPrefix(got, "false No position") {
		t.Errorf("a new browser's account does not say it is empty: %q", got)
	}
	send := func(side, typ, qty, price string) {
		t.Helper()
		eval[bool](t, ctx, fmt.Sprintf(`(() => { const f = document.getElementById("mk-ticket");
			const e = f.elements;
			e.side.value = %q; e.type.value = %q; e.qty.value = %q; e.price.value = %q; return true; })()`, side, typ, qty, price))
		// A click from script: a pointer click at the button's place can land
		// on the sticky navigation bar over it once the page has scrolled.
		eval[bool](t, ctx, `(document.querySelector('#mk-ticket button[type="submit"]').click(), true)`)
	}
	// wait is waitJS that says what the page showed when it times out.
	wait := func(what, expr string, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s; the page shows %s", timeout, what, eval[string](t, ctx, `JSON.stringify({href: location.href, title: document.title, error: document.getElementById("mk-error")?.textContent,
					fill: document.getElementById("mk-fill")?.textContent, account: window.metastationMarket?.account})`))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// 2 units 2 % under the bid: it rests.
	bid := eval[float64](t, ctx, `window.metastationMarket.state.quotes.get("SPX").bid`)
	limit := math.Round(bid*0.98*4) / 4
	send("buy", "limit", "2", fmt.Sprint(limit))
	wait("the open order", `document.querySelectorAll("#mk-orders tbody tr").length === 1 &&
		document.querySelector("#mk-orders tbody tr .open").textContent === "2 of 2"`, 15*time.Second)
	id := eval[string](t, ctx, `document.querySelector("#mk-orders tbody tr").dataset.id`)
	row := eval[string](t, ctx, `document.querySelector("#mk-orders tbody tr").textContent`)
	if want := fmt.Sprintf("SPX #%sbuy", id); !strings.HasPrefix(row, want) {
		t.Errorf("the open order reads %q, want it to start %q", row, want)
	}
	navigate(t, ctx, url+"market")
	wait("the open order after a reload", fmt.Sprintf(`document.querySelector("#mk-orders tbody tr[data-id='%s']") != null`, id), 20*time.Second)
	eval[bool](t, ctx, `(document.querySelector("#mk-orders tbody tr button.cancel").click(), true)`)
	wait("the order cancelled", `document.querySelectorAll("#mk-orders tbody tr").length === 0 && !document.getElementById("mk-orders-empty").hidden`, 15*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("mk-error").textContent`); msg != "" {
		t.Errorf("the page shows an error: %q", msg)
	}

	// A market buy fills at once: a fill, a position of 1 unit, P&L in $.
	wait("the ticket on SPX again", `window.metastationMarket.state.symbol === "SPX" && window.metastationMarket.state.quotes.get("SPX")?.ask > 0`, 20*time.Second)
	send("buy", "market", "1", "")
	wait("the fill and the position", `document.querySelectorAll("#mk-fills tbody tr").length === 1 &&
		document.querySelector("#mk-positions tbody tr[data-symbol='SPX'] .qty")?.textContent === "1 unit"`, 15*time.Second)
	if got := eval[string](t, ctx, `document.querySelector("#mk-fills tbody tr").textContent`); !strings.Contains(got, "buy SPX") || !strings.HasSuffix(got, "taker") {
		t.Errorf("the fill reads %q", got)
	}
	for _, id := range []string{"mk-unrealised", "mk-realised", "mk-total"} {
		if got := eval[string](t, ctx, `document.getElementById("`+id+`").textContent`); !strings.Contains(got, "$") {
			t.Errorf("%s reads %q: no dollars", id, got)
		}
	}
	// Marked to the market: the unrealised P&L moves with the last price.
	wait("the unrealised P&L to move", `(() => { const p = window.metastationMarket.account?.positions?.find((p) => p.symbol === "SPX");
		return p && p.qty === 1 && p.last !== p.avg_price && Math.abs(p.unrealised_usd - (p.last - p.avg_price)) < 1e-6
			&& document.querySelector("#mk-positions tbody tr[data-symbol='SPX'] .unrealised").textContent !== "$0.00"; })()`, 60*time.Second)
	send("sell", "market", "1", "")
	wait("the position closed", `document.querySelectorAll("#mk-fills tbody tr").length === 2 &&
		document.querySelector("#mk-positions tbody tr[data-symbol='SPX'] .qty")?.textContent === "0 units"`, 15*time.Second)
	got := eval[map[string]float64](t, ctx, `(() => { const a = window.metastationMarket.account, p = a.positions.find((p) => p.symbol === "SPX");
		const buy = a.fills.find((f) => f.side === "buy"), sell = a.fills.find((f) => f.side === "sell");
		return { realised: p.realised_usd, unrealised: p.unrealised_usd, buy: buy.price, sell: sell.price, total: a.total_usd,
			shown: Number(document.getElementById("mk-realised").textContent.replace(/[$,+]/g, "").replace("−", "-")) }; })()`)
	if want := got["sell"] - got["buy"]; math.Abs(got["realised"]-want) > 1e-6 || got["unrealised"] != 0 || math.Abs(got["total"]-want) > 1e-6 {
		t.Errorf("after buying at %v and selling at %v: realised %v, unrealised %v, total %v; want %v realised", got["buy"], got["sell"], got["realised"], got["unrealised"], got["total"], want)
	}
	if math.Abs(got["shown"]-got["realised"]) > 0.005 {
		t.Errorf("the page shows realised %v, the account %v", got["shown"], got["realised"])
	}
	eval[bool](t, ctx, `(document.getElementById("mk-account").scrollIntoView(), true)`)
	screenshot(t, ctx, "market-account")
	// On a phone the account's tables scroll inside their panel.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	wait("the page at 390 px", `window.innerWidth === 390`, 5*time.Second)
	time.Sleep(500 * time.Millisecond) // a layout pass and a refresh of the account
	if w := eval[float64](t, ctx, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`); w > 390 {
		t.Errorf("with an account filled in, the market page is %v px wide on a 390 px phone", w)
	}
	if e := errors(); len(e) > 0 {
		t.Errorf("JavaScript errors: %v", e)
	}
}

// TestBrowserTwoMarketsSaySo: the tournament and the Market page trade two
// different markets, and each page says so where its prices are (the
// tournament's lede said "the same simulated market").
func TestBrowserTwoMarketsSaySo(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url+"tournament")
	waitJS(t, ctx, "the tournament page", `document.getElementById("t-two-markets") != null`, 15*time.Second)
	got := eval[map[string]string](t, ctx, `({text: document.getElementById("t-two-markets").textContent, lede: document.querySelector(".lede").textContent,
		link: document.querySelector('#t-two-markets a[href="/market"]')?.textContent ?? ""})`)
	if !strings.Contains(got["text"], "not the Market page") || got["link"] == "" || strings.Contains(got["lede"], "the same simulated market") || !strings.Contains(got["text"], "gap") {
		t.Errorf("the tournament page does not say its market is another than /market's: %+v", got)
	}
	navigate(t, ctx, url+"market")
	waitJS(t, ctx, "the market page", `document.getElementById("mk-two-markets") != null`, 15*time.Second)
	if txt := eval[string](t, ctx, `document.getElementById("mk-two-markets").textContent`); !strings.Contains(txt, "not the tournament's") || !strings.Contains(txt, "slides") {
		t.Errorf("the market page does not say the tournament's market is another: %q", txt)
	}
}
