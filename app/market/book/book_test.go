package book

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func lim(id uint64, s Side, price, qty int64) Order {
	return Order{ID: id, Owner: int32(id), Side: s, Type: Limit, Price: price, Qty: qty}
}

func TestMatchingRules(t *testing.T) {
	type fill struct {
		price, qty int64
		maker      uint64
	}
	tests := []struct {
		name    string
		resting []Order
		cancel  []uint64
		in      Order
		fills   []fill
		res     Result
		top     Quote
		wantErr error
	}{
		{name: "limit rests when nothing crosses",
			resting: []Order{lim(1, Sell, 101, 5)},
			in:      lim(2, Buy, 100, 3),
			res:     Result{Rested: 3},
			top:     Quote{Bid: 100, BidQty: 3, Ask: 101, AskQty: 5}},
		{name: "crossing limit fills at the maker's price",
			resting: []Order{lim(1, Sell, 101, 5)},
			in:      lim(2, Buy, 103, 2),
			fills:   []fill{{101, 2, 1}},
			res:     Result{Filled: 2},
			top:     Quote{Ask: 101, AskQty: 3}},
		{name: "price priority: best ask first",
			resting: []Order{lim(1, Sell, 102, 5), lim(2, Sell, 101, 5)},
			in:      lim(3, Buy, 102, 7),
			fills:   []fill{{101, 5, 2}, {102, 2, 1}},
			res:     Result{Filled: 7},
			top:     Quote{Ask: 102, AskQty: 3}},
		{name: "time priority within a level",
			resting: []Order{lim(1, Buy, 100, 2), lim(2, Buy, 100, 2), lim(3, Buy, 100, 2)},
			in:      lim(4, Sell, 100, 3),
			fills:   []fill{{100, 2, 1}, {100, 1, 2}},
			res:     Result{Filled: 3},
			top:     Quote{Bid: 100, BidQty: 3}},
		{name: "partial fill rests the remainder",
			resting: []Order{lim(1, Sell, 101, 2)},
			in:      lim(2, Buy, 101, 5),
			fills:   []fill{{101, 2, 1}},
			res:     Result{Filled: 2, Rested: 3},
			top:     Quote{Bid: 101, BidQty: 3}},
		{name: "market order sweeps levels and drops the rest",
			resting: []Order{lim(1, Sell, 101, 2), lim(2, Sell, 105, 2)},
			in:      Order{ID: 3, Side: Buy, Type: Market, Qty: 6},
			fills:   []fill{{101, 2, 1}, {105, 2, 2}},
			res:     Result{Filled: 4, Dropped: 2}},
		{name: "market order on an empty side is dropped",
			in:  Order{ID: 3, Side: Sell, Type: Market, Qty: 6},
			res: Result{Dropped: 6}},
		{name: "IOC takes up to its limit and never rests",
			resting: []Order{lim(1, Sell, 101, 2), lim(2, Sell, 102, 2)},
			in:      Order{ID: 3, Side: Buy, Type: IOC, Price: 101, Qty: 5},
			fills:   []fill{{101, 2, 1}},
			res:     Result{Filled: 2, Dropped: 3},
			top:     Quote{Ask: 102, AskQty: 2}},
		{name: "cancelled orders are skipped",
			resting: []Order{lim(1, Sell, 101, 2), lim(2, Sell, 101, 2)},
			cancel:  []uint64{1},
			in:      lim(3, Buy, 101, 2),
			fills:   []fill{{101, 2, 2}},
			res:     Result{Filled: 2}},
		{name: "cancelling the only order empties the level",
			resting: []Order{lim(1, Sell, 101, 2), lim(2, Sell, 102, 2)},
			cancel:  []uint64{1},
			in:      lim(3, Buy, 100, 1),
			res:     Result{Rested: 1},
			top:     Quote{Bid: 100, BidQty: 1, Ask: 102, AskQty: 2}},
		{name: "sell limit crossing several bids",
			resting: []Order{lim(1, Buy, 99, 1), lim(2, Buy, 100, 1)},
			in:      lim(3, Sell, 99, 3),
			fills:   []fill{{100, 1, 2}, {99, 1, 1}},
			res:     Result{Filled: 2, Rested: 1},
			top:     Quote{Ask: 99, AskQty: 1}},
		{name: "duplicate id", resting: []Order{lim(1, Sell, 101, 2)}, in: lim(1, Buy, 90, 1), wantErr: ErrDuplicate,
			top: Quote{Ask: 101, AskQty: 2}},
		{name: "zero quantity", in: lim(1, Buy, 90, 0), wantErr: ErrBadQty},
		{name: "zero price", in: lim(1, Buy, 0, 1), wantErr: ErrBadPrice},
		{name: "no side", in: Order{ID: 1, Price: 1, Qty: 1}, wantErr: ErrBadSide},
		{name: "zero id", in: lim(0, Buy, 1, 1), wantErr: ErrZeroID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := New()
			for _, o := range tc.resting {
				if _, _, err := b.Submit(o, nil); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tc.cancel {
				if _, ok := b.Cancel(id); !ok {
					t.Fatalf("cancel %d failed", id)
				}
			}
			trades, res, err := b.Submit(tc.in, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			var got []fill
			for _, tr := range trades {
				got = append(got, fill{tr.Price, tr.Qty, tr.Maker})
				if tr.Taker != tc.in.ID || tr.TakerSide != tc.in.Side {
					t.Errorf("trade %+v does not name the taker", tr)
				}
			}
			if !reflect.DeepEqual(got, tc.fills) {
				t.Errorf("fills %v, want %v", got, tc.fills)
			}
			if res != tc.res {
				t.Errorf("result %+v, want %+v", res, tc.res)
			}
			if top := b.Top(); top != tc.top {
				t.Errorf("top %+v, want %+v", top, tc.top)
			}
		})
	}
}

func TestCancelUnknownAndTwice(t *testing.T) {
	b := New()
	b.Submit(lim(1, Buy, 100, 4), nil)
	if q, ok := b.Cancel(1); !ok || q != 4 {
		t.Errorf("cancel = %d, %v; want 4, true", q, ok)
	}
	if _, ok := b.Cancel(1); ok {
		t.Error("second cancel succeeded")
	}
	if _, ok := b.Cancel(99); ok {
		t.Error("cancel of an unknown id succeeded")
	}
	if b.Len() != 0 {
		t.Errorf("book holds %d orders, want 0", b.Len())
	}
}

// TestRandomFlowInvariants drives the book with a random mix of limit,
// market, IOC orders and cancels, and checks after every event that the book
// is not crossed, that quantities are conserved, and that the per-order
// bookkeeping matches the levels.
func TestRandomFlowInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		b := New()
		var submitted, filled, dropped, cancelled int64
		var live []uint64
		id := uint64(0)
		for step := range 20000 {
			if len(live) > 0 && rng.IntN(4) == 0 {
				k := rng.IntN(len(live))
				if q, ok := b.Cancel(live[k]); ok {
					cancelled += q
				}
				live[k] = live[len(live)-1]
				live = live[:len(live)-1]
			} else {
				id++
				side := Buy
				if rng.IntN(2) == 0 {
					side = Sell
				}
				o := Order{ID: id, Side: side, Price: 1000 + int64(rng.IntN(21)) - 10, Qty: 1 + int64(rng.IntN(9))}
				switch rng.IntN(10) {
				case 0:
					o.Type = Market
				case 1:
					o.Type = IOC
				}
				trades, res, err := b.Submit(o, nil)
				if err != nil {
					t.Fatal(err)
				}
				var tq int64
				for _, tr := range trades {
					tq += tr.Qty
					if o.Type != Market && (side == Buy && tr.Price > o.Price || side == Sell && tr.Price < o.Price) {
						t.Fatalf("seed %d step %d: trade at %d breaks the limit %d", seed, step, tr.Price, o.Price)
					}
				}
				if tq != res.Filled || res.Filled+res.Rested+res.Dropped != o.Qty {
					t.Fatalf("seed %d step %d: result %+v does not add up to %d (trades %d)", seed, step, res, o.Qty, tq)
				}
				submitted += o.Qty
				filled += 2 * res.Filled // both sides of each fill leave the book's accounting
				dropped += res.Dropped
				if res.Rested > 0 {
					live = append(live, id)
				}
			}
			top := b.Top()
			if top.BidQty > 0 && top.AskQty > 0 && top.Bid >= top.Ask {
				t.Fatalf("seed %d step %d: book crossed: %+v", seed, step, top)
			}
			bid, ask := b.Totals()
			if submitted != filled+dropped+cancelled+bid+ask {
				t.Fatalf("seed %d step %d: %d submitted but %d filled (both sides) + %d dropped + %d cancelled + %d resting",
					seed, step, submitted, filled, dropped, cancelled, bid+ask)
			}
		}
		var sum int64
		for _, id := range live {
			q, _ := b.Resting(id)
			sum += q
		}
		bid, ask := b.Totals()
		if sum != bid+ask {
			t.Errorf("seed %d: resting orders hold %d but levels %d", seed, sum, bid+ask)
		}
	}
}

func BenchmarkMixedFlow(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	bk := New()
	var live []uint64
	trades := make([]Trade, 0, 64)
	id := uint64(0)
	for i := 0; i < b.N; i++ {
		switch r := rng.IntN(10); {
		case r < 3 && len(live) > 0:
			k := rng.IntN(len(live))
			bk.Cancel(live[k])
			live[k] = live[len(live)-1]
			live = live[:len(live)-1]
		default:
			id++
			side := Buy
			if rng.IntN(2) == 0 {
				side = Sell
			}
			o := Order{ID: id, Side: side, Type: Limit, Price: 1000 + int64(rng.IntN(41)) - 20, Qty: 1 + int64(rng.IntN(9))}
			if r == 9 {
				o.Type = Market
			}
			var res Result
			trades, res, _ = bk.Submit(o, trades[:0])
			if res.Rested > 0 {
				live = append(live, id)
			}
		}
	}
}

// TestLevelTotalCannotOverflow: resting orders at one price whose sum
// passes int64 once showed a level of -8.4e18 lots; the order that would
// overflow is refused and the level stays as it was.
func TestLevelTotalCannotOverflow(t *testing.T) {
	b := New()
	big := int64(math.MaxInt64/2 + 1)
	if _, _, err := b.Submit(Order{ID: 1, Side: Buy, Type: Limit, Price: 100, Qty: big}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Submit(Order{ID: 2, Side: Buy, Type: Limit, Price: 100, Qty: big}, nil); !errors.Is(err, ErrOverflow) {
		t.Fatalf("second order: %v, want ErrOverflow", err)
	}
	if bid, _ := b.Totals(); bid != big {
		t.Fatalf("bid total %d after a refused order, want %d", bid, big)
	}
	bids, _ := b.Depth(1)
	if len(bids) != 1 || bids[0].Qty <= 0 {
		t.Fatalf("depth %+v: the level went negative", bids)
	}
}
