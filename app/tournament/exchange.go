package tournament

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/market/book"
)

// exchange is a round's market: the market package's latent price process
// (GARCH, jumps, regimes, scripted shocks) drives one limit order book per
// instrument. A house liquidity provider keeps a ladder of limit orders
// around the latent price shifted by the market's impact, and noise traders
// send small market orders. Strategies trade against both and against each
// other, so they pay the spread, walk the book, and their own flow moves the
// price through the impact term (which decays with a half-life).
//
// On top of the latent price, each instrument has a slowly changing
// order-flow drift (an Ornstein–Uhlenbeck process with a half-life of an
// hour): intraday trends a trend follower can ride and a contrarian can be
// run over by.
//
// The universe is the market's equity preset plus PEP, an instrument
// cointegrated with KO: its latent log price is KO's plus a constant plus a
// mean-reverting (Ornstein–Uhlenbeck) spread. That pair is what the Risk
// Arbitrageur trades.
type exchange struct {
	ins    []Instrument
	minst  []market.Instrument
	proc   *market.Process
	nproc  int // instruments driven by proc; the rest is the pair leg
	books  []*book.Book
	rng    *rand.Rand
	latent []float64 // latent prices, including the pair leg
	impact []float64 // log-price impact of recent flow, decaying
	trend  []float64 // order-flow drift per second (log), Ornstein–Uhlenbeck
	drift  []float64 // accumulated drift (log)
	last   []float64 // last trade price
	liq    [][]uint64
	nextID uint64
	buf    []book.Trade
	// onTrades sees every trade on every book, house and noise included.
	onTrades func(i int, trades []book.Trade)

	step    time.Duration
	session time.Duration // simulated length of one "day" of variance
	elapsed time.Duration
	script  market.Script
	next    int

	spread   float64 // OU state of the pair spread, log
	pairBase float64 // log(PEP/KO) at the start
	ko       int     // index of KO
}

// Parameters of the round's market.
const (
	ladderLevels   = 6
	ladderNotional = 60_000   // money per ladder level
	halfSpreadBps  = 1.5      // house half-spread around the centre, in basis points
	levelStepBps   = 1.0      // distance between ladder levels
	impactPerMoney = 4e-9     // log-price impact per unit of signed money taken (4 bp per 100k)
	impactHalfLife = 300.0    // seconds
	noisePerStep   = 0.6      // mean noise market orders per instrument and step
	noiseNotional  = 25_000   // mean money of one noise order
	pairHalfLife   = 1800.0   // seconds: the pair spread's mean reversion
	pairSpreadVol  = 0.006    // stationary standard deviation of the log spread
	trendHalfLife  = 3600.0   // seconds: persistence of the order-flow drift
	trendVol       = 2.5e-6   // stationary standard deviation of the drift, log per second
	pairPrice      = 170.0    // PEP's starting price
	houseOwner     = -1       // book owner of the house liquidity
	noiseOwner     = -2       // book owner of the noise traders
	pairSymbol     = "PEP"    // the cointegrated leg
	pairWith       = "KO"     // the leg it is tied to
	baseUniverse   = "equity" // the market preset the round trades
)

// newExchange builds the market of a round from its seed and script.
func newExchange(seed uint64, script market.Script, step, session time.Duration) (*exchange, error) {
	u, err := market.Preset(baseUniverse)
	if err != nil {
		return nil, err
	}
	proc, err := market.NewProcess(u, seed)
	if err != nil {
		return nil, fmt.Errorf("round market: %w", err)
	}
	x := &exchange{
		proc: proc, nproc: len(u.Instruments),
		rng:  rand.New(rand.NewPCG(seed^0x7a3b, seed+0x51)),
		step: step, session: session, script: script, ko: u.Index(pairWith),
	}
	for _, in := range u.Instruments {
		x.minst = append(x.minst, in)
		x.ins = append(x.ins, Instrument{Symbol: in.Symbol, Tick: in.TickSize, Lot: in.LotSize})
	}
	x.ins = append(x.ins, Instrument{Symbol: pairSymbol, Tick: 0.01, Lot: 1})
	x.pairBase = math.Log(pairPrice / proc.Price(x.ko))
	n := len(x.ins)
	x.books = make([]*book.Book, n)
	x.latent = make([]float64, n)
	x.impact = make([]float64, n)
	x.trend = make([]float64, n)
	x.drift = make([]float64, n)
	x.last = make([]float64, n)
	x.liq = make([][]uint64, n)
	for i := range x.books {
		x.books[i] = book.New()
	}
	x.updateLatent()
	for i := range x.ins {
		x.last[i] = x.latent[i]
		x.refresh(i)
	}
	x.applyScript()
	return x, nil
}

func (x *exchange) updateLatent() {
	for i := range x.nproc {
		x.latent[i] = x.proc.Price(i) * math.Exp(x.drift[i])
	}
	x.latent[x.nproc] = math.Exp(math.Log(x.latent[x.ko]) + x.pairBase + x.spread)
}

// applyScript forces every script step that is due. Script times are in the
// round's simulated clock.
func (x *exchange) applyScript() (changed bool) {
	for x.next < len(x.script) && x.script[x.next].At <= x.elapsed {
		st := x.script[x.next]
		st.At = 0
		x.proc.SetScript(market.Script{st})
		x.next++
		changed = true
	}
	if changed {
		x.updateLatent()
	}
	return changed
}

// advance moves the market by one step: latent prices, the pair spread,
// the regime script, impact decay, the house ladder and the noise flow.
func (x *exchange) advance() {
	// Uninformed flow first, at the quotes everyone left at the end of the
	// last step; then the news: the latent price moves and the house
	// re-quotes around it.
	for i := range x.ins {
		for k := poisson(x.rng, noisePerStep); k > 0; k-- {
			side := book.Buy
			if x.rng.IntN(2) == 0 {
				side = book.Sell
			}
			money := noiseNotional * x.rng.ExpFloat64()
			lots := max(1, int64(money/x.latent[i]/x.ins[i].Lot))
			x.submit(i, book.Order{Owner: noiseOwner, Side: side, Type: book.Market, Qty: lots})
		}
	}
	dt := x.step.Seconds()
	x.proc.Step(dt / x.session.Seconds())
	x.elapsed += x.step
	kappa := math.Ln2 / pairHalfLife
	a := math.Exp(-kappa * dt)
	x.spread = a*x.spread + pairSpreadVol*math.Sqrt(1-a*a)*x.rng.NormFloat64()
	b := math.Exp(-math.Ln2 * dt / trendHalfLife)
	for i := range x.nproc {
		x.trend[i] = b*x.trend[i] + trendVol*math.Sqrt(1-b*b)*x.rng.NormFloat64()
		x.drift[i] += x.trend[i] * dt
	}
	x.applyScript()
	x.updateLatent()
	decay := math.Exp(-math.Ln2 * dt / impactHalfLife)
	for i := range x.ins {
		x.impact[i] *= decay
		x.refresh(i)
	}
}

// centre is the price the house quotes around: latent price times impact.
func (x *exchange) centre(i int) float64 { return x.latent[i] * math.Exp(x.impact[i]) }

// refresh replaces the house ladder of instrument i.
func (x *exchange) refresh(i int) {
	b := x.books[i]
	for _, id := range x.liq[i] {
		b.Cancel(id)
	}
	x.liq[i] = x.liq[i][:0]
	// The house posts only: its ladder never crosses the strategies'
	// resting orders (what is left in the book once its own are gone).
	top := b.Top()
	c := x.centre(i)
	tick := x.ins[i].Tick
	lots := max(1, int64(ladderNotional/c/x.ins[i].Lot))
	for k := range ladderLevels {
		off := c * (halfSpreadBps + float64(k)*levelStepBps) / 1e4
		bid := int64(math.Floor((c - off) / tick))
		ask := int64(math.Ceil((c + off) / tick))
		if ask <= bid {
			ask = bid + 1
		}
		if top.AskQty > 0 {
			bid = min(bid, top.Ask-1)
		}
		if top.BidQty > 0 {
			ask = max(ask, top.Bid+1)
		}
		for _, o := range []book.Order{
			{Owner: houseOwner, Side: book.Buy, Type: book.Limit, Price: bid - int64(k), Qty: lots},
			{Owner: houseOwner, Side: book.Sell, Type: book.Limit, Price: ask + int64(k), Qty: lots},
		} {
			if o.Price <= 0 {
				continue
			}
			x.nextID++
			o.ID = x.nextID
			var res book.Result
			x.buf, res, _ = b.Submit(o, x.buf[:0])
			x.noteTrades(i, x.buf)
			if res.Rested > 0 {
				x.liq[i] = append(x.liq[i], o.ID)
			}
		}
	}
}

// submit sends an order to book i and returns its id. Price is in ticks
// for limit orders.
func (x *exchange) submit(i int, o book.Order) uint64 {
	x.nextID++
	o.ID = x.nextID
	var err error
	x.buf, _, err = x.books[i].Submit(o, x.buf[:0])
	if err != nil {
		return 0
	}
	x.noteTrades(i, x.buf)
	return o.ID
}

// noteTrades updates the last price and the impact from trades on book i.
func (x *exchange) noteTrades(i int, trades []book.Trade) {
	for _, t := range trades {
		px := float64(t.Price) * x.ins[i].Tick
		x.last[i] = px
		x.impact[i] += impactPerMoney * float64(t.TakerSide) * px * float64(t.Qty) * x.ins[i].Lot
	}
	if x.onTrades != nil && len(trades) > 0 {
		x.onTrades(i, trades)
	}
}

// quote is the top of book i.
func (x *exchange) quote(i int) Quote {
	t := x.books[i].Top()
	tick := x.ins[i].Tick
	q := Quote{Bid: float64(t.Bid) * tick, Ask: float64(t.Ask) * tick, Last: x.last[i]}
	switch {
	case t.BidQty > 0 && t.AskQty > 0:
		q.Mid = (q.Bid + q.Ask) / 2
	case t.BidQty > 0:
		q.Mid = q.Bid
	case t.AskQty > 0:
		q.Mid = q.Ask
	default:
		q.Mid = x.centre(i)
	}
	return q
}

// regime is the market's current regime.
func (x *exchange) regime() market.Regime { return x.proc.Regime() }

// poisson draws a Poisson count with a small mean (Knuth's method).
func poisson(rng *rand.Rand, mean float64) int {
	l := math.Exp(-mean)
	k := 0
	for p := rng.Float64(); p > l; p *= rng.Float64() {
		k++
	}
	return k
}
