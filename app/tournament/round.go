package tournament

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/market/book"
)

// RoundConfig sets up one round. Zero fields take the defaults.
type RoundConfig struct {
	Seed uint64
	// Script is the regime script in market.ParseScript's form, with clock
	// times on the round's day (it opens at 09:30), e.g. the default
	// "calm; 10:30 black_swan shock=-6; 10:40 crisis; 11:30 volatile; 13:00 calm".
	Script       string
	Length       time.Duration // simulated length; default 6h30m, one trading day
	Step         time.Duration // simulated time per step; default 5s
	Capital      float64       // starting equity of each strategy; default 1,000,000
	FeeBps       float64       // fee on the money of aggressive (taker) fills, in basis points; default 1; negative means none
	MakerFeeBps  float64       // fee on fills of resting (maker) orders; default 0, as on maker-taker exchanges; negative is a rebate
	MaxPosition  float64       // largest |position| per instrument as a share of capital; default 0.3
	StopDrawdown float64       // the risk stop: drawdown from peak equity that benches a strategy; default 0.05
	Roster       []Maker       // default DefaultRoster()
}

// DefaultScript is the round's default scenario: a calm open, a flash crash
// at 10:30, then recovery through crisis and volatile to calm.
const DefaultScript = "calm; 10:30 black_swan shock=-6; 10:40 crisis; 11:30 volatile; 13:00 calm"

// OpenTime is when every round's simulated day opens.
var OpenTime = time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)

func (c RoundConfig) withDefaults() RoundConfig {
	if c.Length == 0 {
		c.Length = 6*time.Hour + 30*time.Minute
	}
	if c.Step == 0 {
		c.Step = 5 * time.Second
	}
	if c.Capital == 0 {
		c.Capital = 1_000_000
	}
	if c.FeeBps == 0 {
		c.FeeBps = 1
	}
	if c.FeeBps < 0 {
		c.FeeBps = 0
	}
	if c.MaxPosition == 0 {
		c.MaxPosition = 0.3
	}
	if c.StopDrawdown == 0 {
		c.StopDrawdown = 0.05
	}
	if c.Roster == nil {
		c.Roster = DefaultRoster()
	}
	return c
}

// Fill is one execution of a strategy's order.
type Fill struct {
	Step     int       `json:"step"`
	Strategy string    `json:"strategy"` // profile id
	Symbol   string    `json:"symbol"`
	Side     book.Side `json:"side"`
	Price    float64   `json:"price"`
	Qty      float64   `json:"qty"`
	Maker    bool      `json:"maker"` // its order was resting
	Fee      float64   `json:"fee"`
}

// Event is something that happened in a round that the commentary may talk
// about. Every name and number a commentary line quotes is one of its fields.
type Event struct {
	Kind     string  `json:"kind"`
	Step     int     `json:"step"`
	Clock    string  `json:"clock"` // simulated time of day, "10:31"
	Strategy string  `json:"strategy,omitempty"`
	Name     string  `json:"name,omitempty"`  // the strategy's name
	Other    string  `json:"other,omitempty"` // a second strategy's name (the one overtaken)
	Symbol   string  `json:"symbol,omitempty"`
	Side     string  `json:"side,omitempty"`
	Regime   string  `json:"regime,omitempty"`
	Value    float64 `json:"value,omitempty"` // money: P&L, fill value
	Pct      float64 `json:"pct,omitempty"`   // a percentage: drawdown, return, vote share
	Qty      float64 `json:"qty,omitempty"`
	Price    float64 `json:"price,omitempty"`
}

// The kinds of events.
const (
	EventLeadChange = "lead_change"
	EventNewHigh    = "new_high"
	EventDrawdown   = "drawdown"
	EventRegime     = "regime"
	EventBigFill    = "big_fill"
	EventStop       = "stop"
	EventComeback   = "comeback"
	EventVoteSwing  = "vote_swing"
	EventFinal      = "final_minute"
	EventResult     = "result"
	EventOpen       = "open"
)

// Round runs one round: all strategies on the same market, one step at a
// time. It is not safe for concurrent use.
type Round struct {
	cfg        RoundConfig
	x          *exchange
	strategies []Strategy
	profiles   []Profile
	accounts   []Account
	equity     [][]float64 // per strategy, equity after each step, starting with Capital
	traded     []float64   // money traded per strategy
	resting    [][]restingOrder
	mids       [][]float64
	steps      int
	step       int
	regime     market.Regime
	fills      []Fill // since the last DrainFills
	events     []Event
	orders     []Order
	view       View
	timing     bool
	decisions  []time.Duration
}

type restingOrder struct {
	inst int
	id   uint64
}

// NewRound builds a round from cfg.
func NewRound(cfg RoundConfig) (*Round, error) {
	cfg = cfg.withDefaults()
	if cfg.Step <= 0 || cfg.Length < cfg.Step {
		return nil, errors.New("a round needs a positive step no longer than the round")
	}
	var script market.Script
	if cfg.Script != "" {
		var err error
		script, err = market.ParseScript(cfg.Script, OpenTime)
		if err != nil {
			return nil, fmt.Errorf("round script: %w", err)
		}
	}
	// One trading day's variance over the round's length.
	x, err := newExchange(cfg.Seed, script, cfg.Step, 6*time.Hour+30*time.Minute)
	if err != nil {
		return nil, err
	}
	r := &Round{cfg: cfg, x: x, steps: int(cfg.Length / cfg.Step), regime: x.regime()}
	x.onTrades = r.absorb
	for k, mk := range cfg.Roster {
		s := mk(cfg.Seed*1_000_003 + uint64(k) + 1)
		r.strategies = append(r.strategies, s)
		r.profiles = append(r.profiles, s.Profile())
		r.accounts = append(r.accounts, Account{Capital: cfg.Capital, Cash: cfg.Capital, Equity: cfg.Capital,
			Peak: cfg.Capital, Position: make([]float64, len(x.ins))})
		r.equity = append(r.equity, []float64{cfg.Capital})
	}
	r.traded = make([]float64, len(r.strategies))
	r.resting = make([][]restingOrder, len(r.strategies))
	r.mids = make([][]float64, len(x.ins))
	for i := range x.ins {
		r.mids[i] = []float64{x.quote(i).Mid}
	}
	r.view = View{Steps: r.steps, Instruments: x.ins, Quotes: make([]Quote, len(x.ins)),
		Account: Account{Position: make([]float64, len(x.ins))}}
	return r, nil
}

// Profiles are the strategies' profiles, in roster order.
func (r *Round) Profiles() []Profile { return r.profiles }

// Instruments are the round's instruments.
func (r *Round) Instruments() []Instrument { return r.x.ins }

// Steps is the number of steps in the round; Done reports that all ran.
func (r *Round) Steps() int  { return r.steps }
func (r *Round) Done() bool  { return r.step >= r.steps }
func (r *Round) StepNo() int { return r.step }

// Clock is the simulated time of day.
func (r *Round) Clock() time.Time { return OpenTime.Add(time.Duration(r.step) * r.cfg.Step) }

// Regime is the market's current regime.
func (r *Round) Regime() market.Regime { return r.regime }

// Config is the round's configuration with defaults filled in.
func (r *Round) Config() RoundConfig { return r.cfg }

// Account returns strategy k's account (its Position is shared; do not change it).
func (r *Round) Account(k int) Account { return r.accounts[k] }

// Equity returns strategy k's equity after each step so far, starting with
// its capital. The slice is read-only.
func (r *Round) Equity(k int) []float64 { return r.equity[k] }

// Mids returns instrument i's mid price at every step so far.
func (r *Round) Mids(i int) []float64 { return r.mids[i] }

// Quote returns the top of instrument i's book.
func (r *Round) Quote(i int) Quote { return r.x.quote(i) }

// Traded is the money strategy k has traded so far.
func (r *Round) Traded(k int) float64 { return r.traded[k] }

// TimeDecisions makes the round measure every Decide call (for the bench).
func (r *Round) TimeDecisions(on bool) { r.timing = on }

// DecisionTimes are the measured Decide durations.
func (r *Round) DecisionTimes() []time.Duration { return r.decisions }

// DrainFills returns the strategies' fills since the last call.
func (r *Round) DrainFills() []Fill {
	f := r.fills
	r.fills = nil
	return f
}

// DrainEvents returns the round's own events (fills, stops, regimes) since
// the last call.
func (r *Round) DrainEvents() []Event {
	e := r.events
	r.events = nil
	return e
}

func (r *Round) clock() string { return r.Clock().Format("15:04") }

// Step runs one step: the market moves, then every strategy decides in an
// order that rotates each step, then accounts are marked to market and the
// risk stop is checked.
func (r *Round) Step() {
	if r.Done() {
		return
	}
	if r.step == 0 {
		r.events = append(r.events, Event{Kind: EventOpen, Step: 0, Clock: r.clock(), Regime: r.regime.String()})
	}
	r.x.advance()
	r.step++
	if reg := r.x.regime(); reg != r.regime {
		r.regime = reg
		r.events = append(r.events, Event{Kind: EventRegime, Step: r.step, Clock: r.clock(), Regime: reg.String()})
	}
	for i := range r.x.ins {
		r.view.Quotes[i] = r.x.quote(i)
		r.mids[i] = append(r.mids[i], r.view.Quotes[i].Mid)
	}
	n := len(r.strategies)
	for k := range n {
		r.decide((r.step + k) % n)
	}
	for i := range r.x.ins {
		r.view.Quotes[i] = r.x.quote(i)
	}
	for k := range r.accounts {
		a := &r.accounts[k]
		r.mark(k)
		if !a.Stopped && a.Equity < a.Peak*(1-r.cfg.StopDrawdown) {
			dd := 1 - a.Equity/a.Peak
			r.flatten(k)
			a.Stopped = true
			r.mark(k)
			r.events = append(r.events, Event{Kind: EventStop, Step: r.step, Clock: r.clock(), Strategy: r.profiles[k].ID,
				Name: r.profiles[k].Name, Pct: round2(100 * dd)})
		}
		r.equity[k] = append(r.equity[k], a.Equity)
	}
}

// mark values strategy k's positions at the mid prices.
func (r *Round) mark(k int) {
	a := &r.accounts[k]
	eq := a.Cash
	for i, p := range a.Position {
		eq += p * r.view.Quotes[i].Mid
	}
	a.Equity = eq
	a.Peak = max(a.Peak, eq)
}

// decide lets strategy k decide and sends its orders.
func (r *Round) decide(k int) {
	for _, o := range r.resting[k] {
		r.x.books[o.inst].Cancel(o.id)
	}
	r.resting[k] = r.resting[k][:0]
	a := &r.accounts[k]
	if a.Stopped {
		return
	}
	r.mark(k)
	v := &r.view
	v.Step, v.Elapsed, v.mids = r.step, time.Duration(r.step)*r.cfg.Step, r.mids
	v.MaxPosition = r.cfg.MaxPosition * r.cfg.Capital
	pos := v.Account.Position
	copy(pos, a.Position)
	v.Account = *a
	v.Account.Position = pos
	var t0 time.Time
	if r.timing {
		t0 = time.Now()
	}
	r.orders = r.strategies[k].Decide(v, r.orders[:0])
	if r.timing {
		r.decisions = append(r.decisions, time.Since(t0))
	}
	for _, o := range r.orders {
		r.send(k, o)
	}
}

// send checks, clips and submits one order of strategy k.
func (r *Round) send(k int, o Order) {
	if o.Instrument < 0 || o.Instrument >= len(r.x.ins) || (o.Side != book.Buy && o.Side != book.Sell) ||
		!(o.Qty > 0) || o.Limit < 0 || math.IsNaN(o.Limit) || math.IsInf(o.Limit, 0) {
		return
	}
	in := r.x.ins[o.Instrument]
	mid := r.view.Quotes[o.Instrument].Mid
	pos := r.accounts[k].Position[o.Instrument]
	room := r.cfg.MaxPosition*r.cfg.Capital/mid - float64(o.Side)*pos // the position limit
	qty := math.Floor(min(o.Qty, room)/in.Lot + 1e-9)
	if qty < 1 {
		return
	}
	bo := book.Order{Owner: int32(k), Side: o.Side, Type: book.Market, Qty: int64(qty)}
	if o.Limit > 0 {
		bo.Type, bo.Price = book.Limit, int64(math.Round(o.Limit/in.Tick))
		if bo.Price <= 0 {
			return
		}
	}
	id := r.x.submit(o.Instrument, bo)
	if bo.Type == book.Limit {
		if _, ok := r.x.books[o.Instrument].Resting(id); ok {
			r.resting[k] = append(r.resting[k], restingOrder{o.Instrument, id})
		}
	}
}

// absorb books the trades of book inst in the strategies' accounts.
func (r *Round) absorb(inst int, trades []book.Trade) {
	for _, t := range trades {
		if t.TakerOwner >= 0 {
			r.fill(int(t.TakerOwner), inst, t.TakerSide, t, false)
		}
		if t.MakerOwner >= 0 {
			r.fill(int(t.MakerOwner), inst, -t.TakerSide, t, true)
		}
	}
}

// fill books one fill for strategy k.
func (r *Round) fill(k, inst int, side book.Side, t book.Trade, maker bool) {
	in := r.x.ins[inst]
	px := float64(t.Price) * in.Tick
	qty := float64(t.Qty) * in.Lot
	money := px * qty
	fee := money * r.cfg.FeeBps / 1e4
	if maker {
		fee = money * r.cfg.MakerFeeBps / 1e4
	}
	a := &r.accounts[k]
	a.Cash -= float64(side)*money + fee
	a.Fees += fee
	a.Position[inst] += float64(side) * qty
	r.traded[k] += money
	f := Fill{Step: r.step, Strategy: r.profiles[k].ID, Symbol: in.Symbol, Side: side, Price: px, Qty: qty, Maker: maker, Fee: fee}
	r.fills = append(r.fills, f)
	if money >= bigFill {
		r.events = append(r.events, Event{Kind: EventBigFill, Step: r.step, Clock: r.clock(), Strategy: f.Strategy,
			Name: r.profiles[k].Name, Symbol: in.Symbol, Side: side.String(), Value: math.Round(money), Qty: qty, Price: px})
	}
}

// bigFill is the money of a fill the commentary calls big.
const bigFill = 150_000

// flatten closes all of strategy k's positions with market orders.
func (r *Round) flatten(k int) {
	for i, p := range r.accounts[k].Position {
		lots := int64(math.Round(math.Abs(p) / r.x.ins[i].Lot))
		if lots == 0 {
			continue
		}
		side := book.Sell
		if p < 0 {
			side = book.Buy
		}
		r.x.submit(i, book.Order{Owner: int32(k), Side: side, Type: book.Market, Qty: lots})
	}
	for i := range r.view.Quotes {
		r.view.Quotes[i] = r.x.quote(i)
	}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// Result is one strategy's outcome of a round.
type Result struct {
	Strategy string  `json:"strategy"`
	Name     string  `json:"name"`
	Equity   float64 `json:"equity"`
	Stopped  bool    `json:"stopped"`
	Metrics
	Rank int `json:"rank"`
}

// PeriodsPerYear is the annualisation factor of the round's one-minute
// returns: a round is one trading day, and a year has 252 of them.
func (r *Round) PeriodsPerYear() float64 {
	return 252 * float64(r.steps) / float64(r.minuteSteps())
}

// minuteSteps is how many steps make a simulated minute (one period of the
// returns the ratios are computed on).
func (r *Round) minuteSteps() int { return max(1, int(time.Minute/r.cfg.Step)) }

// Results scores every strategy on the round so far (its equity once a
// minute, and now) and ranks them by score (ties by P&L, then by id).
func (r *Round) Results(by ScoreBy) []Result {
	out := make([]Result, len(r.strategies))
	for k, p := range r.profiles {
		a := r.accounts[k]
		out[k] = Result{Strategy: p.ID, Name: p.Name, Equity: a.Equity, Stopped: a.Stopped,
			Metrics: Compute(everyMinute(r.equity[k], r.cfg.Step), r.traded[k], a.Fees, r.PeriodsPerYear(), by)}
	}
	rank(out)
	return out
}

// rank orders results best first and numbers them.
func rank(out []Result) {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.PnL != b.PnL {
			return a.PnL > b.PnL
		}
		return a.Strategy < b.Strategy
	})
	for k := range out {
		out[k].Rank = k + 1
	}
}
