package market

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/metastation/metastation/app/market/book"
)

// SimConfig sets up a simulated market.
type SimConfig struct {
	Universe Universe
	Seed     uint64
	Agents   int           // background agents in total; 0 means 1,000
	Mix      AgentMix      // zero means DefaultMix
	Start    time.Time     // zero means Monday 2026-01-05 09:30 UTC
	Step     time.Duration // simulated time per step; zero means one second
	Script   Script        // optional forced regimes
	// Replay maps symbols to daily log-returns their latent price follows
	// instead of the model (see Process.Replay and ReplayUniverse).
	Replay map[string][]float64
}

// DefaultStart is when simulations start unless told otherwise.
var DefaultStart = time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)

// Trade is a trade on the simulated market.
type Trade struct {
	Symbol string    `json:"symbol"`
	Time   time.Time `json:"time"`
	Price  float64   `json:"price"`
	Qty    float64   `json:"qty"`
	Side   book.Side `json:"side"` // the aggressor's side
}

// Quote is the top of one instrument's book.
type Quote struct {
	Symbol string    `json:"symbol"`
	Time   time.Time `json:"time"`
	Bid    float64   `json:"bid"`
	BidQty float64   `json:"bid_qty"`
	Ask    float64   `json:"ask"`
	AskQty float64   `json:"ask_qty"`
	Last   float64   `json:"last"`
	Latent float64   `json:"latent"` // the fundamental price the book is tied to
}

// Counters are the simulation's running totals.
type Counters struct {
	Steps     uint64 `json:"steps"`
	Decisions uint64 `json:"decisions"`
	Orders    uint64 `json:"orders"`
	Cancels   uint64 `json:"cancels"`
	Trades    uint64 `json:"trades"`
}

// Sim is a simulated market: the latent process, one order book per
// instrument, the background agents, and the bars made from the trades. It
// advances one Step at a time and is not safe for concurrent use; the
// Service adds the clock and the locking.
type Sim struct {
	u     Universe
	proc  *Process
	rng   *rand.Rand
	books []*book.Book
	inst  []instState
	ag    agents
	now   time.Time
	step  time.Duration

	nextID    uint64
	tradeBuf  []book.Trade
	trades    []Trade       // since the last DrainTrades
	bars      []Bar         // closed since the last DrainBars
	keep      bool          // keep trades and bars for draining
	outside   []OutsideFill // fills of outside owners since the last DrainOutside
	decisions uint64
	orders    uint64
	cancels   uint64
	nTrades   uint64
	steps     uint64
}

type instState struct {
	in        Instrument
	latent    float64 // latent price in ticks
	ref       int64   // reference price in ticks: the mid, or what is known
	last      int64   // last trade, ticks; 0 before the first
	scale     float64 // one minute's standard deviation, in ticks, at least 1
	minuteVol float64 // one minute's standard deviation of the log price
	fast      float64 // moving averages of ref, in ticks
	slow      float64
	top       book.Quote  // top of the book after the last step
	moved     bool        // top changed since the last ChangedQuotes
	makers    [3]barMaker // one per Intervals entry

	// What market makers watch (see makeMarket): the squared change of the
	// reference price per second, averaged over about 20 seconds and over
	// about 30 minutes, and the aggressors' signed and total lots over
	// about a minute.
	prevRef          int64
	rvFast, rvSlow   float64
	flowNet, flowAll float64
	maxStop          int64 // the highest armed stop-loss, ticks
}

// volRatio is the recent volatility of the reference price against the
// usual one: about 1 in a quiet market.
func (st *instState) volRatio() float64 {
	if st.rvSlow <= 0 {
		return 1
	}
	return math.Sqrt(st.rvFast / st.rvSlow)
}

// toxicity is how one-sided the recent order flow is: 0 when buyers and
// sellers take liquidity alike, 1 when one side does all of it.
func (st *instState) toxicity() float64 {
	if st.flowAll < 20 { // too few lots to tell
		return 0
	}
	return math.Abs(st.flowNet) / st.flowAll
}

// track updates what market makers watch after a step of dt seconds.
func (st *instState) track(dt float64) {
	d := float64(st.ref - st.prevRef)
	st.prevRef = st.ref
	v := d * d / dt
	if st.rvSlow == 0 {
		st.rvSlow, st.rvFast = max(v, 1e-9), max(v, 1e-9)
	}
	ff, fs, fl := -math.Expm1(-dt/20), -math.Expm1(-dt/1800), math.Exp(-dt/60)
	st.rvFast += ff * (v - st.rvFast)
	st.rvSlow += fs * (v - st.rvSlow)
	st.flowNet *= fl
	st.flowAll *= fl
}

// NewSim builds a simulated market from cfg.
func NewSim(cfg SimConfig) (*Sim, error) {
	if cfg.Agents == 0 {
		cfg.Agents = 1000
	}
	if cfg.Mix == (AgentMix{}) {
		cfg.Mix = DefaultMix
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	if cfg.Step == 0 {
		cfg.Step = time.Second
	}
	if cfg.Step < time.Millisecond || cfg.Step > time.Hour {
		return nil, fmt.Errorf("the simulation step must be between 1ms and 1h, not %s", cfg.Step)
	}
	proc, err := NewProcess(cfg.Universe, cfg.Seed)
	if err != nil {
		return nil, err
	}
	for sym, r := range cfg.Replay {
		i := cfg.Universe.Index(sym)
		if i < 0 {
			return nil, fmt.Errorf("cannot replay %s: it is not in the universe", sym)
		}
		proc.Replay(i, r)
	}
	if cfg.Script != nil {
		proc.SetScript(cfg.Script)
	}
	s := &Sim{
		u:    cfg.Universe,
		proc: proc,
		rng:  rand.New(rand.NewPCG(cfg.Seed^0xa5a5a5a5, cfg.Seed+1)),
		now:  cfg.Start,
		step: cfg.Step,
		keep: true,
	}
	for i, in := range cfg.Universe.Instruments {
		s.books = append(s.books, book.New())
		lat := proc.Price(i) / in.TickSize
		st := instState{in: in, latent: lat, ref: int64(math.Round(lat)), fast: lat, slow: lat}
		st.prevRef = st.ref
		st.minuteVol = math.Sqrt(in.dailyVariance() / 1440)
		for k, iv := range Intervals {
			st.makers[k].cur = Bar{Symbol: in.Symbol, Interval: iv}
			st.makers[k].roll(s.now, nil)
		}
		s.inst = append(s.inst, st)
	}
	if err := s.buildAgents(cfg.Agents, cfg.Mix); err != nil {
		return nil, err
	}
	return s, nil
}

// Universe is the simulated universe.
func (s *Sim) Universe() Universe { return s.u }

// Now is the simulated time.
func (s *Sim) Now() time.Time { return s.now }

// StepSize is the simulated time one Step covers.
func (s *Sim) StepSize() time.Duration { return s.step }

// Regime is the current regime and whether a script forces it.
func (s *Sim) Regime() (Regime, bool) { return s.proc.Regime(), s.proc.Forced() }

// SetScript forces regimes from now on (offsets count from now); nil hands
// them back to the Markov chain.
func (s *Sim) SetScript(sc Script) { s.proc.SetScript(sc) }

// Counters returns the running totals.
func (s *Sim) Counters() Counters {
	return Counters{Steps: s.steps, Decisions: s.decisions, Orders: s.orders, Cancels: s.cancels, Trades: s.nTrades}
}

// KeepEvents sets whether trades and closed bars are kept for DrainTrades
// and DrainBars (the default). Benchmarks turn it off.
func (s *Sim) KeepEvents(keep bool) { s.keep = keep }

// Step advances the market by one step: the latent prices move, the bars
// roll, and the agents due in this step decide.
func (s *Sim) Step() {
	dt := s.step.Seconds()
	s.proc.Step(dt / 86400)
	s.now = s.now.Add(s.step)
	s.steps++
	regimeVol := regimeEffects[s.proc.Regime()].Vol
	af, as := min(1, dt/60), min(1, dt/600)
	for i := range s.inst {
		st := &s.inst[i]
		st.latent = s.proc.Price(i) / st.in.TickSize
		st.scale = max(1, st.latent*st.minuteVol*regimeVol)
		st.ref = s.reference(i)
		st.fast += af * (float64(st.ref) - st.fast)
		st.slow += as * (float64(st.ref) - st.slow)
		st.track(dt)
		for k := range st.makers {
			if s.keep {
				s.bars = st.makers[k].roll(s.now, s.bars)
			} else {
				st.makers[k].roll(s.now, nil)
			}
		}
		s.triggerStops(i)
		s.wake(i, dt)
		if top := s.books[i].Top(); top != st.top {
			st.top, st.moved = top, true
		}
	}
}

// ChangedQuotes returns the top of every book whose best bid or ask (price
// or size) changed since the last call: the top-of-book events, coalesced.
func (s *Sim) ChangedQuotes() []Quote {
	var out []Quote
	for i := range s.inst {
		if s.inst[i].moved {
			s.inst[i].moved = false
			out = append(out, s.Quote(i))
		}
	}
	return out
}

// reference is the price agents work from: the mid when both sides have
// orders, one side's best when only it has, else the last trade, else the
// latent price.
func (s *Sim) reference(i int) int64 {
	q := s.books[i].Top()
	st := &s.inst[i]
	switch {
	case q.BidQty > 0 && q.AskQty > 0:
		return (q.Bid + q.Ask) / 2
	case q.BidQty > 0:
		return q.Bid
	case q.AskQty > 0:
		return q.Ask
	case st.last > 0:
		return st.last
	}
	return int64(math.Round(st.latent))
}

// submit sends an order of agent a to book i, records its trades, and
// returns the order's id if part of it rests, else 0.
func (s *Sim) submit(i int, a int32, o book.Order) uint64 {
	if o.Type != book.Market && o.Price <= 0 {
		return 0
	}
	s.nextID++
	o.ID, o.Owner = s.nextID, a
	s.orders++
	var res book.Result
	var err error
	s.tradeBuf, res, err = s.books[i].Submit(o, s.tradeBuf[:0])
	if err != nil {
		return 0 // agents build valid orders; a rejected one is just lost
	}
	s.record(i, s.tradeBuf)
	if res.Rested > 0 {
		return o.ID
	}
	return 0
}

// record books trades on instrument i: inventories, last price, bars, events.
func (s *Sim) record(i int, trades []book.Trade) {
	st := &s.inst[i]
	for _, t := range trades {
		s.nTrades++
		q := int32(t.Qty)
		if t.MakerOwner >= 0 {
			s.ag.inv[t.MakerOwner] -= int32(t.TakerSide) * q
		}
		if t.TakerOwner >= 0 {
			s.ag.inv[t.TakerOwner] += int32(t.TakerSide) * q
		}
		if t.MakerOwner < 0 || t.TakerOwner < 0 {
			s.noteOutside(i, t)
		}
		st.last = t.Price
		st.flowNet += float64(int64(t.TakerSide) * t.Qty)
		st.flowAll += float64(t.Qty)
		px := st.in.PriceOf(t.Price)
		qty := float64(t.Qty) * st.in.LotSize
		for k := range st.makers {
			st.makers[k].add(px, qty)
		}
		if s.keep {
			if len(s.trades) >= 2*maxKeptTrades { // nobody drains fast enough: keep the latest
				s.trades = s.trades[:copy(s.trades, s.trades[len(s.trades)-maxKeptTrades:])]
			}
			s.trades = append(s.trades, Trade{Symbol: st.in.Symbol, Time: s.now, Price: px, Qty: qty, Side: t.TakerSide})
		}
	}
}

// OutsideFill is one fill of an order from outside the background
// population (owner < 0): a person's order sent through the Service, say.
// A trade between two outside orders is two fills, one per side.
type OutsideFill struct {
	Owner int32
	Inst  int       // instrument index
	Order uint64    // the owner's order id
	Time  time.Time // simulated
	Price int64     // ticks
	Lots  int64
	Side  book.Side // the owner's side
	Maker bool      // the owner's order was resting
}

// maxOutsideFills bounds the outside fills kept when nobody drains them.
const maxOutsideFills = 10000

// noteOutside keeps trade t of instrument i for DrainOutside, once per side
// that is an outside owner.
func (s *Sim) noteOutside(i int, t book.Trade) {
	if len(s.outside) >= 2*maxOutsideFills {
		s.outside = s.outside[:copy(s.outside, s.outside[len(s.outside)-maxOutsideFills:])]
	}
	if t.MakerOwner < 0 {
		s.outside = append(s.outside, OutsideFill{Owner: t.MakerOwner, Inst: i, Order: t.Maker, Time: s.now,
			Price: t.Price, Lots: t.Qty, Side: -t.TakerSide, Maker: true})
	}
	if t.TakerOwner < 0 {
		s.outside = append(s.outside, OutsideFill{Owner: t.TakerOwner, Inst: i, Order: t.Taker, Time: s.now,
			Price: t.Price, Lots: t.Qty, Side: t.TakerSide})
	}
}

// DrainOutside returns the fills of outside owners since the last call and
// forgets them. The slice is reused by later trades: use it before the
// next Step or Submit.
func (s *Sim) DrainOutside() []OutsideFill {
	f := s.outside
	s.outside = s.outside[:0]
	return f
}

// Forming returns the bars in progress of instrument i, one per Intervals
// entry: what has traded since each bar began. A bar without trades yet is
// flat at the last trade with zero volume; before any trade there is none.
func (s *Sim) Forming(i int, out []Bar) []Bar {
	st := &s.inst[i]
	for k := range st.makers {
		m := &st.makers[k]
		if !m.open || (m.cur.Trades == 0 && !m.hasLast) {
			continue
		}
		b := m.cur
		if b.Trades == 0 {
			b.Open, b.High, b.Low, b.Close = m.lastPx, m.lastPx, m.lastPx, m.lastPx
		}
		out = append(out, b)
	}
	return out
}

// maxKeptTrades bounds the trades kept between two DrainTrades: between
// one and two times this many of the latest are kept.
const maxKeptTrades = 10000

// DrainTrades returns the trades since the last call (at most the latest
// 10,000 to 20,000 of them) and forgets them.
func (s *Sim) DrainTrades() []Trade {
	t := s.trades
	s.trades = nil
	return t
}

// DrainBars returns the bars closed since the last call and forgets them.
func (s *Sim) DrainBars() []Bar {
	b := s.bars
	s.bars = nil
	return b
}

// Quote returns the top of instrument i's book.
func (s *Sim) Quote(i int) Quote {
	st := &s.inst[i]
	q := s.books[i].Top()
	lot := st.in.LotSize
	out := Quote{
		Symbol: st.in.Symbol, Time: s.now,
		Bid: st.in.PriceOf(q.Bid), BidQty: float64(q.BidQty) * lot,
		Ask: st.in.PriceOf(q.Ask), AskQty: float64(q.AskQty) * lot,
		Latent: st.in.PriceOf(int64(math.Round(st.latent))),
	}
	if st.last > 0 {
		out.Last = st.in.PriceOf(st.last)
	}
	return out
}

// BookLevel is one price level of a book snapshot, in prices and units.
type BookLevel struct {
	Price  float64 `json:"price"`
	Qty    float64 `json:"qty"`
	Orders int     `json:"orders"`
}

// BookSnapshot is the current book of one instrument, best levels first.
type BookSnapshot struct {
	Symbol string      `json:"symbol"`
	Time   time.Time   `json:"time"`
	Bids   []BookLevel `json:"bids"`
	Asks   []BookLevel `json:"asks"`
	Last   float64     `json:"last"`
	Latent float64     `json:"latent"`
}

// Book returns up to depth levels per side of instrument i's book.
func (s *Sim) Book(i, depth int) BookSnapshot {
	st := &s.inst[i]
	bids, asks := s.books[i].Depth(depth)
	conv := func(ls []book.Level) []BookLevel {
		out := make([]BookLevel, len(ls))
		for k, l := range ls {
			out[k] = BookLevel{Price: st.in.PriceOf(l.Price), Qty: float64(l.Qty) * st.in.LotSize, Orders: l.Orders}
		}
		return out
	}
	q := s.Quote(i)
	return BookSnapshot{Symbol: st.in.Symbol, Time: s.now, Bids: conv(bids), Asks: conv(asks), Last: q.Last, Latent: q.Latent}
}
