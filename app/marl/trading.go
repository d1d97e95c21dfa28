package marl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/market/book"
)

// TradingLevels are the target positions of the trading world's actions,
// in units of an agent's capital.
var TradingLevels = []float64{-1, -0.5, 0, 0.5, 1}

// TradingMA is the Metastation trading world: several learning traders and a
// background population share one limit order book (package market/book)
// on one instrument whose fundamental price follows the market's latent
// process (SPX from the equity preset) in a chosen regime.
//
// Each step is one trading day. The book is rebuilt around the day's
// fundamental price by market makers (Levels price levels a side, spaced in
// proportion to the regime's volatility, Depth lots each); noise traders and
// the learning traders then send market orders in a random order. A
// trader's order walks the book, so it pays the spread and its own impact
// and moves the price for the traders after it; the learners' net flow also
// moves the fundamental price permanently (PermImpact per lot of the day's
// depth). Positions are marked at the next day's fundamental price.
//
// Observation of agent i (Window+4 values): the last Window daily returns
// of the mark (percent), their 20-day standard deviation (percent), its
// position (units of capital), its equity − 1, and yesterday's net flow of
// all learners (lots over one side's depth). Action: one of TradingLevels as
// the target position. Reward of agent i, the risk-adjusted change of its
// equity in percent of capital: 100·Δe − Risk·(100·Δe)². The global state is
// the market part of the observation, every position and every equity − 1.
// An episode is truncated after Horizon days and terminates when an agent's
// equity falls below 20% of its capital.
type TradingMA struct {
	N          int
	Horizon    int
	Window     int
	Lots       int64 // lots that make a position of 1
	Levels     int
	Depth      int64
	Noise      int // noise-trader market orders per day
	PermImpact float64
	Risk       float64
	// Regime is the regime of every episode unless Mixed, in which case
	// each episode draws its regime from the market's long-run frequencies
	// of the four (Mixed mirrors a direct, uncurated training diet).
	Regime market.Regime
	Mixed  bool

	Marks    []float64 // marks: warm-up then one per day
	Pos      []int64   // lots
	Cash     []float64
	Equity   []float64
	Flow     float64
	T        int
	fund     []float64 // fundamental prices for the rest of the episode
	rng      *rand.Rand
	capital  float64
	orderID  uint64
	episodeR market.Regime
}

// NewTradingMA returns the world with its defaults: 3 traders, 60 days,
// 10 returns observed.
func NewTradingMA() *TradingMA {
	return &TradingMA{N: 3, Horizon: 60, Window: 10, Lots: 100, Levels: 8, Depth: 40, Noise: 6,
		PermImpact: 0.002, Risk: 0.01}
}

const tradingWarmup = 20

// Name returns "trading-ma".
func (e *TradingMA) Name() string { return "trading-ma" }

// NumAgents returns N.
func (e *TradingMA) NumAgents() int { return e.N }

// ObsDim returns Window+4.
func (e *TradingMA) ObsDim() int { return e.Window + 4 }

// NumActions returns len(TradingLevels).
func (e *TradingMA) NumActions() int { return len(TradingLevels) }

// StateDim returns Window+1+2N.
func (e *TradingMA) StateDim() int { return e.Window + 1 + 2*e.N }

// Limit returns Horizon.
func (e *TradingMA) Limit() int { return e.Horizon }

// EpisodeRegime is the regime the current episode runs in.
func (e *TradingMA) EpisodeRegime() market.Regime { return e.episodeR }

// mixedWeights are the long-run shares of the four regimes (calm about 3/4,
// volatile 1/5, crisis 1/20, black swan a few days a decade), rounded up
// for the rare ones so that a mixed diet meets them at all.
var mixedWeights = [4]float64{0.70, 0.20, 0.07, 0.03}

// Reset simulates the episode's fundamental prices from seed.
func (e *TradingMA) Reset(seed uint64) [][]float64 {
	e.rng = rand.New(rand.NewPCG(seed, 0x74726d61))
	u, err := market.Preset("equity")
	if err != nil {
		panic(fmt.Sprintf("marl: trading: %v", err)) // the preset is compiled in
	}
	idx := u.Index("SPX")
	p, err := market.NewProcess(u, e.rng.Uint64())
	if err != nil {
		panic(fmt.Sprintf("marl: trading: %v", err))
	}
	e.episodeR = e.Regime
	if e.Mixed {
		x, acc := e.rng.Float64(), 0.0
		for r, w := range mixedWeights {
			acc += w
			if x < acc {
				e.episodeR = market.Regime(r)
				break
			}
		}
	}
	p.SetScript(market.Script{{At: 0, Regime: e.episodeR}})
	n := tradingWarmup + e.Horizon + 1
	e.fund = make([]float64, n)
	for d := range e.fund {
		p.Step(1)
		e.fund[d] = p.Price(idx)
	}
	e.Marks = append(e.Marks[:0], e.fund[:tradingWarmup]...)
	e.T = tradingWarmup - 1
	e.capital = float64(e.Lots) * e.fund[e.T]
	e.Pos, e.Cash, e.Equity = make([]int64, e.N), make([]float64, e.N), make([]float64, e.N)
	for i := range e.Cash {
		e.Cash[i], e.Equity[i] = e.capital, 1
	}
	e.Flow = 0
	return e.observe()
}

// Step trades one day.
func (e *TradingMA) Step(actions []int) Step {
	const tick = 0.01
	f := e.fund[e.T]
	vol := e.vol() / 100
	gap := max(1, int64(math.Round(f/tick*vol*0.1))) // ticks between levels
	center := int64(math.Round(f / tick))
	b := book.New()
	for k := int64(0); k < int64(e.Levels); k++ {
		e.submit(b, -1, book.Buy, book.Limit, center-gap*(k+1)+gap/2, e.Depth)
		e.submit(b, -1, book.Sell, book.Limit, center+gap*(k+1)-gap/2, e.Depth)
	}
	// Orders arrive in a random order: noise traders (owner −2) and learners.
	type order struct {
		owner int
		qty   int64 // signed
	}
	var orders []order
	for k := 0; k < e.Noise; k++ {
		q := 1 + e.rng.Int64N(e.Depth/2)
		if e.rng.IntN(2) == 0 {
			q = -q
		}
		orders = append(orders, order{-2, q})
	}
	var flow int64
	for i, a := range actions {
		target := int64(math.Round(TradingLevels[a] * float64(e.Lots)))
		if d := target - e.Pos[i]; d != 0 {
			orders = append(orders, order{i, d})
			flow += d
		}
	}
	e.rng.Shuffle(len(orders), func(x, y int) { orders[x], orders[y] = orders[y], orders[x] })
	for _, o := range orders {
		side, q := book.Buy, o.qty
		if q < 0 {
			side, q = book.Sell, -q
		}
		trades := e.submit(b, int32(o.owner), side, book.Market, 0, q)
		if o.owner < 0 {
			continue
		}
		for _, tr := range trades {
			px := float64(tr.Price) * tick
			if side == book.Buy {
				e.Pos[o.owner] += tr.Qty
				e.Cash[o.owner] -= px * float64(tr.Qty)
			} else {
				e.Pos[o.owner] -= tr.Qty
				e.Cash[o.owner] += px * float64(tr.Qty)
			}
		}
	}
	// Permanent impact of the learners' net flow on every later price.
	e.Flow = float64(flow) / float64(e.Depth*int64(e.Levels))
	shift := math.Exp(e.PermImpact * float64(flow) / float64(e.Depth))
	for d := e.T + 1; d < len(e.fund); d++ {
		e.fund[d] *= shift
	}
	e.T++
	mark := e.fund[e.T]
	e.Marks = append(e.Marks, mark)
	s := Step{Rewards: make([]float64, e.N), Terminated: make([]bool, e.N), Truncated: make([]bool, e.N)}
	ruined := false
	for i := range e.Pos {
		eq := (e.Cash[i] + float64(e.Pos[i])*mark) / e.capital
		d := 100 * (eq - e.Equity[i])
		s.Rewards[i] = d - e.Risk*d*d
		e.Equity[i] = eq
		ruined = ruined || eq < 0.2
	}
	done := e.T-tradingWarmup+1 >= e.Horizon
	for i := range s.Terminated {
		s.Terminated[i], s.Truncated[i] = ruined, !ruined && done
	}
	s.Obs = e.observe()
	return s
}

func (e *TradingMA) submit(b *book.Book, owner int32, side book.Side, typ book.Type, price, qty int64) []book.Trade {
	e.orderID++
	trades, _, err := b.Submit(book.Order{ID: e.orderID, Owner: owner, Side: side, Type: typ, Price: price, Qty: qty}, nil)
	if err != nil {
		panic(fmt.Sprintf("marl: trading: %v", err)) // orders are built valid above
	}
	return trades
}

// vol is the 20-day standard deviation of the marks' returns, in percent.
func (e *TradingMA) vol() float64 {
	n := len(e.Marks)
	var m, v float64
	rs := make([]float64, 0, 20)
	for k := n - 20; k < n; k++ {
		if k >= 1 {
			rs = append(rs, e.Marks[k]/e.Marks[k-1]-1)
		}
	}
	for _, r := range rs {
		m += r
	}
	m /= float64(len(rs))
	for _, r := range rs {
		v += (r - m) * (r - m)
	}
	return 100 * math.Sqrt(v/float64(len(rs)-1))
}

func (e *TradingMA) marketObs() []float64 {
	n := len(e.Marks)
	o := make([]float64, 0, e.Window+1)
	for k := n - e.Window; k < n; k++ {
		o = append(o, 100*(e.Marks[k]/e.Marks[k-1]-1))
	}
	return append(o, e.vol())
}

func (e *TradingMA) observe() [][]float64 {
	m := e.marketObs()
	out := make([][]float64, e.N)
	for i := range out {
		o := append([]float64(nil), m...)
		out[i] = append(o, float64(e.Pos[i])/float64(e.Lots), e.Equity[i]-1, e.Flow)
	}
	return out
}

// State is the market observation, every position and every equity − 1.
func (e *TradingMA) State() []float64 {
	s := e.marketObs()
	for i := range e.Pos {
		s = append(s, float64(e.Pos[i])/float64(e.Lots))
	}
	for i := range e.Equity {
		s = append(s, e.Equity[i]-1)
	}
	return s
}

// AvailActions allows every level.
func (e *TradingMA) AvailActions() [][]bool { return allAvail(e.N, len(TradingLevels)) }
