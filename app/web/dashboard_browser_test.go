package web

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestBrowserDashboardIsLive opens /dashboard and checks that the system
// health charts fill from the analytics series, that their values change,
// that a forecast cone is drawn and that a panel exports as CSV and PNG.
func TestBrowserDashboardIsLive(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url+"dashboard")
	const bus = `window.metastationDashboard.charts["system.bus_per_s{subsystem=system}"]`
	waitJS(t, ctx, "the system panels", `window.metastationDashboard && window.metastationDashboard.panels >= 5`, 15*time.Second)
	waitJS(t, ctx, "points in the bus chart", bus+`?.points >= 2`, 15*time.Second)
	first := eval[map[string]any](t, ctx, `({t: `+bus+`.lastT, n: `+bus+`.points, updates: window.metastationDashboard.updates})`)
	waitJS(t, ctx, "the bus chart to move", fmt.Sprintf(bus+`.lastT > %v && window.metastationDashboard.updates > %v`,
		first["t"], first["updates"]), 10*time.Second)
	// Canvases with real pixels.
	drawn := eval[bool](t, ctx, `(() => { const c = document.querySelector('.chart-panel canvas');
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n > 1000; })()`)
	if !drawn {
		t.Error("the first chart is blank")
	}

	// A forecast needs 40 points; at one a second that is 40 s, too long for
	// a browser test, so the cone is checked on the heap series after
	// backfilling it through the registry the page reads.
	// The tournament's strategies: their metrics table and equity panels.
	waitJS(t, ctx, "the strategy metrics table", `document.querySelectorAll("#dash-strategy-table tbody tr").length >= 2`, 15*time.Second)
	waitJS(t, ctx, "per-strategy equity panels",
		`document.querySelectorAll('.dash-section[data-sub="tournament"] .chart-panel').length >= 2`, 15*time.Second)
	// The picture shows the charts: the system's section at the top, its
	// heading under the sticky top bar; for the README's picture, with
	// 40 s of points (a fresh server's charts are a spike at the right).
	if os.Getenv("METASTATION_SCREENSHOTS") == "1" {
		waitJS(t, ctx, "40 points in the bus chart", bus+`?.points >= 40`, 90*time.Second)
	}
	eval[bool](t, ctx, `(s => (window.scrollTo(0, s.getBoundingClientRect().top + scrollY - document.querySelector(".topbar").offsetHeight - 8), true))(document.querySelector('.dash-section[data-sub="system"]'))`)
	time.Sleep(300 * time.Millisecond)
	screenshot(t, ctx, "dashboard")
	csv := eval[map[string]any](t, ctx, `(() => { document.querySelector('.chart-panel button[data-export="csv"]').click();
		return window.metastationDashboard.lastExport; })()`)
	if !strings.HasPrefix(fmt.Sprint(csv["head"]), "time,value,forecast,lo80,hi80,lo95,hi95\n") {
		t.Errorf("CSV export %v", csv)
	}
	png := eval[map[string]any](t, ctx, `(() => { document.querySelector('.chart-panel button[data-export="png"]').click();
		return window.metastationDashboard.lastExport; })()`)
	if png["head"] != "data:image/png;base64,iVBORw0K" || png["bytes"].(float64) < 5000 {
		t.Errorf("PNG export %v", png)
	}
}

// TestBrowserDashboardDrawsForecastCone backfills a seasonal series into
// the running server's registry and waits for its cone.
func TestBrowserDashboardDrawsForecastCone(t *testing.T) {
	ctx := newBrowser(t)
	srv, url := startServer(t)
	now := time.Now()
	labels := map[string]string{"subsystem": "market", "instrument": "TEST"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 240; i >= 0; i-- {
		ts := now.Add(-time.Duration(i) * time.Second)
		v := 100 + 0.05*float64(240-i) + 3*sinDeg(float64(i)*15) + 0.6*rng.NormFloat64()
		srv.Analytics.Registry.Record("market.price", labels, "", ts, v)
	}
	navigate(t, ctx, url+"dashboard")
	const key = `window.metastationDashboard.charts["market.price{instrument=TEST,subsystem=market}"]`
	// Only panels on screen refresh: bring this one into view.
	waitJS(t, ctx, "the TEST panel", `(() => { const p = document.querySelector('.chart-panel[data-key="market.price{instrument=TEST,subsystem=market}"]');
		if (p) p.scrollIntoView({block: "center"}); return !!p; })()`, 15*time.Second)
	waitJS(t, ctx, "the forecast cone", key+`?.cone === true`, 20*time.Second)
	model := eval[string](t, ctx, key+`.model`)
	if model == "" {
		t.Error("no model named")
	}
	// The API says the same.
	resp, err := http.Get(url + "api/analytics/forecast/market.price?instrument=TEST&subsystem=market&range=5m&points=240&horizon=20")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fr ForecastResponse
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("forecast: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&fr); err != nil {
		t.Fatal(err)
	}
	if len(fr.Forecast.Mean) != 20 || len(fr.Times) != 20 || fr.Forecast.Hi95[19] <= fr.Forecast.Hi80[19] {
		t.Errorf("forecast %+v", fr.Forecast)
	}
	t.Logf("model %s, validation MASE %.2f, naive %.2f", fr.Forecast.Model, fr.Forecast.MASE, fr.Forecast.NaiveMASE)
	// Hover: the panel's header shows the value under the cursor, and in
	// the forecast part the forecast and its interval.
	box := eval[map[string]float64](t, ctx, `(() => { document.querySelector('.chart-panel[data-key="market.price{instrument=TEST,subsystem=market}"]').scrollIntoView({block: "center"});
		const r = document.querySelector('.chart-panel[data-key="market.price{instrument=TEST,subsystem=market}"] .u-over').getBoundingClientRect();
		return {x: r.left, y: r.top, w: r.width, h: r.height}; })()`)
	if _, err := chromedp.Run(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box["x"]+box["w"]-3, box["y"]+box["h"]/2)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the hover readout of the forecast", `(window.metastationDashboard.hover?.text || "").includes("≈")`, 5*time.Second)
	// (the readout was checked; move away so the picture shows the latest value)
	if _, err := chromedp.Run(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5)); err != nil {
		t.Fatal(err)
	}
	t.Logf("hover: %s", eval[string](t, ctx, `window.metastationDashboard.hover.text`))

	// The picture for the README: the last two minutes, the cone larger.
	eval[bool](t, ctx, `(() => { const s = document.getElementById("dash-range"); s.value = "2m";
		s.dispatchEvent(new Event("change")); return true; })()`)
	waitJS(t, ctx, "the cone on two minutes", key+`?.cone === true && `+key+`.points <= 130`, 20*time.Second)
	eval[bool](t, ctx, `(document.querySelector('.chart-panel[data-key="market.price{instrument=TEST,subsystem=market}"]').scrollIntoView({block: "center"}), true)`)
	time.Sleep(300 * time.Millisecond)
	screenshot(t, ctx, "dashboard-forecast")
}

func sinDeg(d float64) float64 { return math.Sin(d * math.Pi / 180) }
