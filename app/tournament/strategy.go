// Package tournament is Metastation's AI trading tournament: trading
// strategies with personalities that trade through real order books on a
// simulated market, rounds and seasons, scoring, audience votes and live
// commentary.
//
// Everything is deterministic from a seed: the same seed and regime script
// replay the same round with the same fills and the same scores.
//
// # Adding your own strategy
//
// Write a type that implements Strategy, and a Maker that builds it from a
// seed:
//
//	type Coin struct{ rng *rand.Rand }
//
//	func (c *Coin) Profile() tournament.Profile {
//		return tournament.Profile{ID: "coin", Name: "Coin Flipper", Color: "#ffffff", Shape: "cone",
//			Bio: "Flips a coin every minute.", Risk: "high", Holding: "minutes",
//			Phrases: []string{"Heads!"}}
//	}
//
//	func (c *Coin) Decide(v *tournament.View, out []tournament.Order) []tournament.Order {
//		if v.Step%12 != 0 {
//			return out
//		}
//		return append(out, v.Target(0, float64(c.rng.IntN(3)-1)*0.1*v.Account.Capital))
//	}
//
// then add it to the roster: Config.Roster = append(tournament.DefaultRoster(),
// func(seed uint64) tournament.Strategy { return &Coin{rand.New(rand.NewPCG(seed, 1))} }).
//
// The engine, not the strategy, enforces the rules: orders go through the
// order book (market orders pay the spread and walk the book, limit orders
// rest until the strategy's next decision), every fill pays the fee, the
// position limit clips orders, and the risk stop flattens and benches a
// strategy whose equity falls too far from its peak.
package tournament

import (
	"math"
	"time"

	"github.com/metastation/metastation/app/market/book"
)

// Strategy is one trader in the tournament. The engine calls Decide once
// per simulated step, in a fixed order that rotates every step, with a view
// of the market and of the strategy's own account. Decide appends the orders
// it wants sent to out and returns it; it must not keep v or its slices.
//
// Limit orders a strategy sent in one step are cancelled before its next
// Decide: a strategy that wants to keep quoting says so again every step.
// A Strategy is used by one goroutine and must be deterministic given its
// seed and the views it is shown.
type Strategy interface {
	Profile() Profile
	Decide(v *View, out []Order) []Order
}

// Maker builds a fresh strategy for one round from a seed.
type Maker func(seed uint64) Strategy

// Profile is a strategy's personality: who it is on the floor and in the
// commentary.
type Profile struct {
	ID      string   `json:"id"`      // short stable key: "momentum"
	Name    string   `json:"name"`    // "Momentum Chaser"
	Color   string   `json:"color"`   // CSS colour of its avatar
	Shape   string   `json:"shape"`   // avatar shape: capsule, box, cone, sphere, torus
	Bio     string   `json:"bio"`     // one or two sentences
	Style   string   `json:"style"`   // the strategy in a few words
	Risk    string   `json:"risk"`    // risk appetite: low, medium, high
	Holding string   `json:"holding"` // typical holding period
	Phrases []string `json:"phrases"` // catch phrases the commentary may quote
	// Entrant is set by Service.Enter on the service's own copy (State's
	// Profiles): the strategy was entered, it is not of the house roster,
	// and it can be withdrawn.
	Entrant bool `json:"entrant,omitempty"`
	// Digest identifies what plays under ID when the same id can play
	// differently (a learned entrant: the hash of its network and
	// settings); "" for the house strategies, which are this binary's
	// code. Nodes of a cluster play a round only with the same roster:
	// the same ids with the same digests.
	Digest string `json:"digest,omitempty"`
}

// Instrument is one tradable instrument of a round.
type Instrument struct {
	Symbol string  `json:"symbol"`
	Tick   float64 `json:"tick"` // price increment
	Lot    float64 `json:"lot"`  // quantity increment, in units
}

// Quote is the top of one book as a strategy sees it.
type Quote struct {
	Bid, Ask, Mid, Last float64
}

// Account is a strategy's money and positions.
type Account struct {
	Capital  float64   // starting equity
	Cash     float64   // after fees
	Position []float64 // units per instrument, negative when short
	Equity   float64   // cash plus positions at mid prices
	Peak     float64   // highest equity so far
	Fees     float64   // paid so far
	Stopped  bool      // the risk stop benched it for the rest of the round
}

// View is what a strategy sees when it decides.
type View struct {
	Step        int           // steps since the round began, from 0
	Steps       int           // steps in the round
	Elapsed     time.Duration // simulated time since the round began
	Instruments []Instrument
	Quotes      []Quote
	Account     Account
	MaxPosition float64 // largest allowed |position × mid| per instrument, in money

	mids [][]float64 // mid of each instrument at each step so far, oldest first
}

// Mids returns the mid prices of instrument i at every step so far, oldest
// first, ending with the current one. The slice is read-only.
func (v *View) Mids(i int) []float64 { return v.mids[i] }

// Remaining is the share of the round still to come, from 1 to 0.
func (v *View) Remaining() float64 {
	if v.Steps == 0 {
		return 0
	}
	return 1 - float64(v.Step)/float64(v.Steps)
}

// Target returns a market order that moves instrument i's position to the
// given money value (negative for short) at the current mid, or an order of
// zero quantity when the position is already within one lot of it.
func (v *View) Target(i int, value float64) Order {
	mid := v.Quotes[i].Mid
	if mid <= 0 {
		return Order{Instrument: i}
	}
	want := value / mid
	diff := want - v.Account.Position[i]
	lot := v.Instruments[i].Lot
	qty := math.Floor(math.Abs(diff)/lot) * lot
	side := book.Buy
	if diff < 0 {
		side = book.Sell
	}
	return Order{Instrument: i, Side: side, Qty: qty}
}

// Order is what a strategy wants done. Limit zero means a market order,
// which takes what the book offers now and drops the rest; a positive Limit
// rests in the book until the strategy's next decision.
type Order struct {
	Instrument int
	Side       book.Side
	Qty        float64 // units, rounded down to whole lots
	Limit      float64 // price; 0 for a market order
}
