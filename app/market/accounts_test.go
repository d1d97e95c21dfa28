package market

import (
	"math"
	"strconv"
	"testing"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/market/book"
)

// TestHoldingAverageCost: buys average in, a sale realises against the
// average, a sale through zero opens a short at its price, and USDJPY's yen
// become dollars at the fill's price.
func TestHoldingAverageCost(t *testing.T) {
	spx := Instrument{Symbol: "SPX", Class: ClassIndex, TickSize: 0.25, LotSize: 1}
	jpy := Instrument{Symbol: "USDJPY", Class: ClassFX, TickSize: 0.001, LotSize: 1000}
	fill := func(in Instrument, side book.Side, lots int64, px float64) OutsideFill {
		return OutsideFill{Side: side, Lots: lots, Price: in.Ticks(px)}
	}
	tests := []struct {
		name     string
		in       Instrument
		fills    []OutsideFill
		lots     int64
		avg      float64
		realised float64
	}{
		{"buys average in", spx, []OutsideFill{fill(spx, book.Buy, 2, 100), fill(spx, book.Buy, 2, 110)}, 4, 105, 0},
		{"a sale realises against the average", spx, []OutsideFill{fill(spx, book.Buy, 2, 100), fill(spx, book.Buy, 2, 110),
			fill(spx, book.Sell, 3, 120)}, 1, 105, 45},
		{"through zero opens a short at the price", spx, []OutsideFill{fill(spx, book.Buy, 2, 100), fill(spx, book.Buy, 2, 110),
			fill(spx, book.Sell, 3, 120), fill(spx, book.Sell, 2, 100)}, -1, 100, 40},
		{"a short covered higher loses", spx, []OutsideFill{fill(spx, book.Sell, 1, 100), fill(spx, book.Buy, 1, 104)}, 0, 0, -4},
		{"yen become dollars", jpy, []OutsideFill{fill(jpy, book.Buy, 1, 150), fill(jpy, book.Sell, 1, 151)}, 0, 0, 1000 * 1.0 / 151},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h holding
			for _, f := range tc.fills {
				h.book(tc.in, f)
			}
			if h.lots != tc.lots || math.Abs(h.avg-tc.avg) > 1e-9 || math.Abs(h.realised-tc.realised) > 1e-9 {
				t.Errorf("lots %d avg %g realised %g; want %d, %g, %g", h.lots, h.avg, h.realised, tc.lots, tc.avg, tc.realised)
			}
		})
	}
}

// TestAccountsBookEachUsersFills: two users on a live book. A's resting
// sell is open until B's marketable buy takes it; then A's account shows
// the fill as a maker, the order gone and a short, B's the long, and
// neither can cancel the other's orders.
func TestAccountsBookEachUsersFills(t *testing.T) {
	u, _ := Preset("equity")
	svc, err := NewService(ServiceConfig{Sim: SimConfig{Universe: u, Seed: 2, Agents: 300}}, bus.New(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 120 { // two simulated minutes: the agents fill the books
		svc.sim.Step()
		svc.bookOutside()
	}
	q := svc.State().Quotes[u.Index("KO")]
	if q.Bid <= 0 || q.Ask <= 0 {
		t.Fatalf("no book to trade against: %+v", q)
	}
	// A rests a sell one cent inside the spread (or at the ask), the best.
	price := math.Max(q.Bid+0.01, q.Ask-0.01)
	f, err := svc.SubmitAs("alice", "KO", book.Sell, book.Limit, price, 5)
	if err != nil || f.ID == 0 || f.Rested != 5 {
		t.Fatalf("alice's sell: %+v, %v", f, err)
	}
	a, _ := svc.Account("alice")
	if len(a.Orders) != 1 || a.Orders[0].Open != 5 || a.Orders[0].Price != price {
		t.Fatalf("alice's open orders: %+v", a.Orders)
	}
	if err := svc.CancelAs("bob", f.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("bob cancelled alice's order: %v", err)
	}
	g, err := svc.SubmitAs("bob", "KO", book.Buy, book.Limit, price, 3)
	if err != nil || g.Filled != 3 {
		t.Fatalf("bob's marketable buy: %+v, %v", g, err)
	}
	a, _ = svc.Account("alice")
	b, _ := svc.Account("bob")
	if len(a.Orders) != 1 || a.Orders[0].Open != 2 {
		t.Errorf("alice's order after bob's buy: %+v", a.Orders)
	}
	if len(a.Fills) != 1 || !a.Fills[0].Maker || a.Fills[0].Qty != 3 || a.Fills[0].Side != book.Sell {
		t.Errorf("alice's fills: %+v", a.Fills)
	}
	if len(a.Positions) != 1 || a.Positions[0].Qty != -3 || a.Positions[0].AvgPrice != price {
		t.Errorf("alice's position: %+v", a.Positions)
	}
	if len(b.Fills) != 1 || b.Fills[0].Maker || len(b.Positions) != 1 || b.Positions[0].Qty != 3 || len(b.Orders) != 0 {
		t.Errorf("bob's account: %+v", b)
	}
	if err := svc.CancelAs("alice", f.ID); err != nil {
		t.Fatalf("alice cancels: %v", err)
	}
	if a, _ = svc.Account("alice"); len(a.Orders) != 0 {
		t.Errorf("alice's order after the cancel: %+v", a.Orders)
	}
	if _, ok := svc.sim.books[u.Index("KO")].Resting(f.ID); ok {
		t.Error("the cancelled order still rests in the book")
	}
	// Carol's buy rests at the best bid; the background agents fill it
	// later, outside any call of hers.
	q = svc.State().Quotes[u.Index("KO")]
	c, err := svc.SubmitAs("carol", "KO", book.Buy, book.Limit, q.Bid, 2)
	if err != nil || c.Rested != 2 {
		t.Fatalf("carol's bid: %+v, %v", c, err)
	}
	var ca Account
	for k := 0; k < 1800; k++ {
		svc.sim.Step()
		svc.bookOutside()
		if ca, _ = svc.Account("carol"); len(ca.Orders) == 0 {
			break
		}
	}
	if len(ca.Orders) != 0 || len(ca.Fills) == 0 || !ca.Fills[0].Maker || ca.Positions[0].Qty != 2 || ca.Positions[0].AvgPrice != q.Bid {
		t.Errorf("carol's bid after half an hour: %+v", ca)
	}
	// Marked to the last trade: the two sides of alice and bob's trade add
	// up to zero as the market moves.
	a, _ = svc.Account("alice")
	b, _ = svc.Account("bob")
	last := a.Positions[0].Last
	if want := 3 * (last - price); math.Abs(b.Unrealised-want) > 1e-9 || math.Abs(a.Unrealised+want) > 1e-9 || b.Total != b.Unrealised {
		t.Errorf("unrealised at last %g: alice %g, bob %g, want ∓%g", last, a.Unrealised, b.Unrealised, want)
	}
	for _, bad := range []string{"", "a b", string(make([]byte, 65))} {
		if _, err := svc.SubmitAs(bad, "KO", book.Buy, book.Market, 0, 1); !errs.Is(err, errs.Invalid) {
			t.Errorf("user %q: %v", bad, err)
		}
	}
}

// TestAccountsEvictTheLeastRecent: past MaxAccounts the least recently
// active account goes, with its resting orders.
func TestAccountsEvictTheLeastRecent(t *testing.T) {
	a := newAccounts()
	var cancelled []uint64
	for k := range MaxAccounts {
		a.get("u"+strconv.Itoa(k), nil)
	}
	a.byName["u1"].open[7] = &OpenOrder{ID: 7, instIdx: 2}
	a.get("u0", nil) // u0 is now the most recent; u1 the least
	a.get("new", func(inst int, id uint64) { cancelled = append(cancelled, uint64(inst)*100+id) })
	if len(a.byName) != MaxAccounts || a.byName["u0"] == nil || a.byName["u1"] != nil || len(cancelled) != 1 || cancelled[0] != 207 {
		t.Errorf("%d accounts, u0 kept %v, u1 gone %v, cancelled %v", len(a.byName), a.byName["u0"] != nil, a.byName["u1"] == nil, cancelled)
	}
	if len(a.byOwner) != MaxAccounts || a.byOwner[a.byName["new"].owner] != a.byName["new"] {
		t.Errorf("owners out of step with names: %d", len(a.byOwner))
	}
}
