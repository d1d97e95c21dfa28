// Package book is a limit order book with price-time priority: limit,
// market and immediate-or-cancel orders, cancels, partial fills.
//
// Prices are whole ticks and quantities whole lots (int64), so matching is
// exact. A Book is not safe for concurrent use; one goroutine owns it.
package book

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Side is the side of an order: Buy or Sell.
type Side int8

// The two sides.
const (
	Buy  Side = 1
	Sell Side = -1
)

func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return fmt.Sprintf("side(%d)", int8(s))
}

// MarshalText writes "buy" or "sell".
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Type is how an order treats what it cannot fill at once.
type Type uint8

// The order types.
const (
	Limit  Type = iota // rest the remainder in the book at its price
	Market             // take whatever the book has at any price; drop the rest
	IOC                // take what is available up to the limit price; drop the rest
)

// Order is an instruction to the book. ID must be unique among resting
// orders and not zero; Price is ignored for Market orders.
type Order struct {
	ID    uint64
	Owner int32
	Side  Side
	Type  Type
	Price int64 // ticks
	Qty   int64 // lots
}

// Trade is one fill between a resting (maker) order and an incoming (taker)
// one, at the maker's price.
type Trade struct {
	Price      int64  `json:"price"`
	Qty        int64  `json:"qty"`
	TakerSide  Side   `json:"taker_side"`
	Maker      uint64 `json:"maker"`
	Taker      uint64 `json:"taker"`
	MakerOwner int32  `json:"maker_owner"`
	TakerOwner int32  `json:"taker_owner"`
}

// Result tells what became of a submitted order's quantity: Filled +
// Rested + Dropped = Qty.
type Result struct {
	Filled  int64
	Rested  int64 // left in the book (Limit only)
	Dropped int64 // unfilled and discarded (Market, IOC)
}

// Errors of Submit.
var (
	ErrBadQty    = errors.New("order quantity must be positive")
	ErrBadPrice  = errors.New("limit price must be positive")
	ErrBadSide   = errors.New("order side must be buy or sell")
	ErrDuplicate = errors.New("an order with this id is already resting")
	ErrZeroID    = errors.New("order id must not be zero")
	ErrOverflow  = errors.New("the price level cannot hold that much more quantity")
)

// Level is the aggregate of one price level.
type Level struct {
	Price  int64 `json:"price"`
	Qty    int64 `json:"qty"`
	Orders int   `json:"orders"`
}

// Quote is the top of the book. A side with no orders has zero quantity.
type Quote struct {
	Bid    int64 `json:"bid"`
	BidQty int64 `json:"bid_qty"`
	Ask    int64 `json:"ask"`
	AskQty int64 `json:"ask_qty"`
}

// entry is a resting order in the arena. id zero marks a cancelled entry
// still sitting in its level's queue.
type entry struct {
	id    uint64
	owner int32
	qty   int64
}

type level struct {
	price int64
	total int64   // resting quantity
	live  int     // resting orders
	q     []int32 // arena slots in time order, from head
	head  int
}

// Book is one instrument's order book.
type Book struct {
	bids   []level // ascending price: the best bid is last
	asks   []level // descending price: the best ask is last
	orders map[uint64]ref
	arena  []entry
	free   []int32
}

type ref struct {
	slot  int32
	side  Side
	price int64
}

// New returns an empty book.
func New() *Book {
	return &Book{orders: make(map[uint64]ref)}
}

// Len is the number of resting orders.
func (b *Book) Len() int { return len(b.orders) }

// Submit matches o against the book and, for a Limit order, rests what is
// left. The trades are appended to trades and returned.
func (b *Book) Submit(o Order, trades []Trade) ([]Trade, Result, error) {
	switch {
	case o.Qty <= 0:
		return trades, Result{}, ErrBadQty
	case o.Side != Buy && o.Side != Sell:
		return trades, Result{}, ErrBadSide
	case o.Type != Market && o.Price <= 0:
		return trades, Result{}, ErrBadPrice
	case o.ID == 0:
		return trades, Result{}, ErrZeroID
	}
	if _, dup := b.orders[o.ID]; dup {
		return trades, Result{}, ErrDuplicate
	}
	if o.Type == Limit && b.wouldOverflow(o) {
		return trades, Result{}, ErrOverflow
	}
	left := o.Qty
	opp := &b.asks
	if o.Side == Sell {
		opp = &b.bids
	}
	for left > 0 && len(*opp) > 0 {
		lv := &(*opp)[len(*opp)-1]
		if o.Type != Market && (o.Side == Buy && lv.price > o.Price || o.Side == Sell && lv.price < o.Price) {
			break
		}
		for left > 0 && lv.live > 0 {
			slot := lv.q[lv.head]
			e := &b.arena[slot]
			if e.id == 0 { // cancelled
				lv.head++
				b.free = append(b.free, slot)
				continue
			}
			fill := min(left, e.qty)
			trades = append(trades, Trade{
				Price: lv.price, Qty: fill, TakerSide: o.Side,
				Maker: e.id, Taker: o.ID, MakerOwner: e.owner, TakerOwner: o.Owner,
			})
			left -= fill
			e.qty -= fill
			lv.total -= fill
			if e.qty == 0 {
				delete(b.orders, e.id)
				e.id = 0
				lv.live--
				lv.head++
				b.free = append(b.free, slot)
			}
		}
		if lv.live == 0 {
			b.dropLevel(lv)
			*opp = (*opp)[:len(*opp)-1]
		} else {
			lv.compact()
		}
	}
	res := Result{Filled: o.Qty - left}
	if left == 0 {
		return trades, res, nil
	}
	if o.Type != Limit {
		res.Dropped = left
		return trades, res, nil
	}
	b.rest(o, left)
	res.Rested = left
	return trades, res, nil
}

// wouldOverflow reports whether resting all of o would take its price
// level's total past int64 (a level once showed -8.4e18 lots).
func (b *Book) wouldOverflow(o Order) bool {
	side := b.bids
	if o.Side == Sell {
		side = b.asks
	}
	i := b.find(side, o.Side, o.Price)
	return i < len(side) && side[i].price == o.Price && side[i].total > math.MaxInt64-o.Qty
}

// rest adds qty of o to its side at its price, behind the orders there.
func (b *Book) rest(o Order, qty int64) {
	side := &b.bids
	if o.Side == Sell {
		side = &b.asks
	}
	i := b.find(*side, o.Side, o.Price)
	if i == len(*side) || (*side)[i].price != o.Price {
		*side = append(*side, level{})
		copy((*side)[i+1:], (*side)[i:])
		(*side)[i] = level{price: o.Price}
	}
	var slot int32
	if n := len(b.free); n > 0 {
		slot = b.free[n-1]
		b.free = b.free[:n-1]
	} else {
		slot = int32(len(b.arena))
		b.arena = append(b.arena, entry{})
	}
	b.arena[slot] = entry{id: o.ID, owner: o.Owner, qty: qty}
	lv := &(*side)[i]
	lv.q = append(lv.q, slot)
	lv.total += qty
	lv.live++
	b.orders[o.ID] = ref{slot: slot, side: o.Side, price: o.Price}
}

// find returns the index of price in side's levels, or where it would go.
// Bids ascend and asks descend, so the best level is always last.
func (b *Book) find(levels []level, s Side, price int64) int {
	if s == Buy {
		return sort.Search(len(levels), func(i int) bool { return levels[i].price >= price })
	}
	return sort.Search(len(levels), func(i int) bool { return levels[i].price <= price })
}

// Cancel removes a resting order and returns its unfilled quantity, or false
// when no order with that id rests (already filled or cancelled).
func (b *Book) Cancel(id uint64) (int64, bool) {
	r, ok := b.orders[id]
	if !ok {
		return 0, false
	}
	delete(b.orders, id)
	side := &b.bids
	if r.side == Sell {
		side = &b.asks
	}
	i := b.find(*side, r.side, r.price)
	lv := &(*side)[i]
	e := &b.arena[r.slot]
	qty := e.qty
	e.id, e.qty = 0, 0
	lv.total -= qty
	lv.live--
	if lv.live == 0 {
		b.dropLevel(lv)
		*side = append((*side)[:i], (*side)[i+1:]...)
	}
	return qty, true
}

// dropLevel frees the arena slots still queued in an empty level.
func (b *Book) dropLevel(lv *level) {
	b.free = append(b.free, lv.q[lv.head:]...)
}

// compact drops the consumed front of the queue once it is most of it.
func (lv *level) compact() {
	if lv.head > 32 && lv.head > len(lv.q)/2 {
		n := copy(lv.q, lv.q[lv.head:])
		lv.q = lv.q[:n]
		lv.head = 0
	}
}

// Top returns the best bid and ask.
func (b *Book) Top() Quote {
	var q Quote
	if n := len(b.bids); n > 0 {
		q.Bid, q.BidQty = b.bids[n-1].price, b.bids[n-1].total
	}
	if n := len(b.asks); n > 0 {
		q.Ask, q.AskQty = b.asks[n-1].price, b.asks[n-1].total
	}
	return q
}

// Depth returns up to n levels per side, best first.
func (b *Book) Depth(n int) (bids, asks []Level) {
	take := func(side []level) []Level {
		out := make([]Level, 0, min(n, len(side)))
		for i := len(side) - 1; i >= 0 && len(out) < n; i-- {
			out = append(out, Level{Price: side[i].price, Qty: side[i].total, Orders: side[i].live})
		}
		return out
	}
	return take(b.bids), take(b.asks)
}

// Resting returns the unfilled quantity of a resting order.
func (b *Book) Resting(id uint64) (int64, bool) {
	r, ok := b.orders[id]
	if !ok {
		return 0, false
	}
	return b.arena[r.slot].qty, true
}

// Totals returns the resting quantity on each side; for tests and checks.
func (b *Book) Totals() (bid, ask int64) {
	for _, l := range b.bids {
		bid += l.total
	}
	for _, l := range b.asks {
		ask += l.total
	}
	return bid, ask
}
