package market

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/market/book"
	"github.com/metastation/metastation/app/store"
)

// TestOutsideOrdersAreBounded is the regression test of one order that
// corrupted the market for good: qty 1e19 overflowed to a negative lot count
// ("less than one lot"), a market order swept the book and moved the last
// price to 5e14, and the bars built from that trade were saved and served
// after a restart. Orders from outside are now bounded in size by the
// book's depth and in price by a collar around the last trade, and no bar
// in the database strays from it.
func TestOutsideOrdersAreBounded(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := store.NewWriter(db, store.WriterOptions{}, slog.Default())
	t.Cleanup(func() { w.Close() })
	u, _ := Preset("equity")
	svc, err := NewService(ServiceConfig{Sim: SimConfig{Universe: u, Seed: 3, Agents: 300}, Speed: 0,
		PublishEvery: 50 * time.Millisecond}, bus.New(), w, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	last := func() float64 {
		for _, q := range svc.State().Quotes {
			if q.Symbol == "SPX" {
				return q.Last
			}
		}
		return 0
	}
	for give := time.Now().Add(20 * time.Second); svc.State().Time.Before(DefaultStart.Add(30*time.Minute)) || last() == 0; {
		if time.Now().After(give) {
			t.Fatal("the market did not trade in 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	tests := []struct {
		name       string
		side       book.Side
		typ        book.Type
		price, qty float64
		want       string // "" for accepted
	}{
		{"qty 1e19", book.Buy, book.Market, 0, 1e19, "more than the largest order"},
		{"qty 9.3e18 limit", book.Sell, book.Limit, 4000, 9.3e18, "more than the largest order"},
		{"qty NaN", book.Buy, book.Market, 0, math.NaN(), "number of units"},
		{"qty +Inf", book.Buy, book.Market, 0, math.Inf(1), "number of units"},
		{"price 5e14", book.Buy, book.Limit, 5e14, 1, "from SPX's last price"},
		{"price 1e300", book.Buy, book.Limit, 1e300, 1, "positive number"},
		{"price a tenth", book.Sell, book.Limit, 1, 1, "from SPX's last price"},
		{"qty 0.4 lots", book.Buy, book.Market, 0, 0.4, "less than one lot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Submit("SPX", tc.side, tc.typ, tc.price, tc.qty, -1)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), tc.want) {
				t.Fatalf("got %v, want errs.Invalid saying %q", err, tc.want)
			}
		})
	}

	// The largest order allowed, at market, trades no further than the
	// collar from the last price.
	ref := last()
	// The depth moves between calls: the floor of the cap is always allowed.
	max := float64(minMaxOrderLots) * u.Instruments[u.Index("SPX")].LotSize
	for _, side := range []book.Side{book.Buy, book.Sell} {
		f, err := svc.Submit("SPX", side, book.Market, 0, max, -1)
		if err != nil {
			t.Fatalf("the largest market order: %v", err)
		}
		for _, tr := range f.Trades {
			if tr.Price > ref*(1+priceCollar)*1.01 || tr.Price < ref*(1-priceCollar)*0.99 {
				t.Fatalf("a market order traded at %g, more than the collar from %g", tr.Price, ref)
			}
		}
		ref = last()
	}
	time.Sleep(300 * time.Millisecond) // a few more bars after the sweep
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	var hi, lo float64
	if err := db.R.QueryRowContext(ctx, `SELECT count(*), max(high), min(low) FROM market_bars WHERE symbol = 'SPX'`).Scan(&n, &hi, &lo); err != nil {
		t.Fatal(err)
	}
	if n == 0 || hi > 3*ref || lo <= 0 || lo < ref/3 {
		t.Fatalf("%d saved SPX bars range %g to %g around %g: a bar strays", n, lo, hi, ref)
	}
}

func TestBarsSkipInvalidTrades(t *testing.T) {
	for _, tc := range []struct {
		px, qty float64
		ok      bool
	}{
		{100, 1, true}, {0, 1, false}, {-1, 1, false}, {math.NaN(), 1, false},
		{math.Inf(1), 1, false}, {100, 0, false}, {100, math.NaN(), false},
	} {
		m := barMaker{}
		m.add(tc.px, tc.qty)
		if got := m.cur.Trades == 1; got != tc.ok {
			t.Errorf("trade %g x %g in a bar: %v, want %v", tc.px, tc.qty, got, tc.ok)
		}
	}
}
