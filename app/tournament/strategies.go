package tournament

import (
	"math"

	"gonum.org/v1/gonum/stat"

	"github.com/metastation/metastation/app/market/book"
)

// DefaultRoster is the five house strategies, in the order they are listed
// on the floor.
func DefaultRoster() []Maker {
	return []Maker{
		func(uint64) Strategy { return NewMomentum() },
		func(uint64) Strategy { return NewArbitrageur() },
		func(uint64) Strategy { return NewMeanReverter() },
		func(uint64) Strategy { return NewMarketMaker() },
		func(seed uint64) Strategy { return NewLearner(seed) },
	}
}

// symbolIndex returns the index of symbol among v's instruments, or -1.
func symbolIndex(v *View, symbol string) int {
	for i, in := range v.Instruments {
		if in.Symbol == symbol {
			return i
		}
	}
	return -1
}

// appendTarget appends the market order that moves instrument i to value,
// if it is at least one lot.
func appendTarget(v *View, out []Order, i int, value float64) []Order {
	if o := v.Target(i, value); o.Qty > 0 {
		out = append(out, o)
	}
	return out
}

// ema updates an exponential moving average with n steps of memory.
func ema(prev, x float64, n int) float64 {
	if prev == 0 {
		return x
	}
	a := 2 / (float64(n) + 1)
	return prev + a*(x-prev)
}

// Momentum is the Momentum Chaser: trend following with breakouts on three
// instruments. It goes long when the price breaks above the highest mid of
// the last Window steps while the fast average is above the slow one, short
// on the mirror image, and exits when the averages cross back. It sends
// market orders: it pays the spread to be in the move.
type Momentum struct {
	Symbols    []string
	Window     int     // breakout look-back, steps
	Fast, Slow int     // moving averages, steps
	Size       float64 // position as a share of capital
	fast, slow []float64
	dir        []int
}

// NewMomentum returns the Momentum Chaser with its default parameters.
func NewMomentum() *Momentum {
	return &Momentum{Symbols: []string{"SPX", "AAPL", "JPM"}, Window: 180, Fast: 20, Slow: 90, Size: 0.25}
}

func (m *Momentum) Profile() Profile {
	return Profile{ID: "momentum", Name: "Momentum Chaser", Color: "#ff6b4a", Shape: "cone",
		Bio:   "Never met a breakout it did not like. Buys strength, sells weakness, and asks questions later.",
		Style: "trend following with breakouts", Risk: "high", Holding: "tens of minutes",
		Phrases: []string{"The trend is my friend!", "Higher highs, baby!", "Ride it till it bends."}}
}

func (m *Momentum) Decide(v *View, out []Order) []Order {
	if m.fast == nil {
		m.fast = make([]float64, len(m.Symbols))
		m.slow = make([]float64, len(m.Symbols))
		m.dir = make([]int, len(m.Symbols))
	}
	for k, sym := range m.Symbols {
		i := symbolIndex(v, sym)
		if i < 0 {
			continue
		}
		mids := v.Mids(i)
		p := mids[len(mids)-1]
		m.fast[k] = ema(m.fast[k], p, m.Fast)
		m.slow[k] = ema(m.slow[k], p, m.Slow)
		if len(mids) <= m.Window {
			continue
		}
		hi, lo := math.Inf(-1), math.Inf(1)
		for _, x := range mids[len(mids)-1-m.Window : len(mids)-1] {
			hi, lo = max(hi, x), min(lo, x)
		}
		d := m.dir[k]
		switch {
		case p > hi && m.fast[k] > m.slow[k]:
			d = 1
		case p < lo && m.fast[k] < m.slow[k]:
			d = -1
		case d == 1 && m.fast[k] < m.slow[k], d == -1 && m.fast[k] > m.slow[k]:
			d = 0
		}
		if d != m.dir[k] {
			m.dir[k] = d
			out = appendTarget(v, out, i, float64(d)*m.Size*v.Account.Capital)
		}
	}
	return out
}

// Arbitrageur is the Risk Arbitrageur: statistical arbitrage on the
// cointegrated pair PEP/KO. Every step it regresses PEP's mid on KO's over
// the last Window steps (ordinary least squares, gonum's
// stat.LinearRegression), takes the z-score of the current residual
// against the window's residuals, sells the spread (PEP short, hedge-ratio
// times as much KO long) above Entry, buys it below -Entry, takes profit
// inside Exit and cuts the trade beyond Stop.
type Arbitrageur struct {
	Y, X              string
	Window            int
	Entry, Exit, Stop float64
	Size              float64 // money in the Y leg as a share of capital
	state             int     // -1 short spread, 0 flat, 1 long spread
	cooldown          int
	resid             []float64
}

// NewArbitrageur returns the Risk Arbitrageur with its default parameters.
func NewArbitrageur() *Arbitrageur {
	return &Arbitrageur{Y: "PEP", X: "KO", Window: 480, Entry: 2, Exit: 0.5, Stop: 4.5, Size: 0.2}
}

func (a *Arbitrageur) Profile() Profile {
	return Profile{ID: "arbitrageur", Name: "Risk Arbitrageur", Color: "#4ac6ff", Shape: "box",
		Bio:   "A quiet quant with a spreadsheet for a heart. Bets that two twins who drifted apart will make up.",
		Style: "pairs trading on a cointegrated spread", Risk: "low", Holding: "an hour or two",
		Phrases: []string{"Spreads always come home.", "Two sigma is a gift.", "Hedged and happy."}}
}

// Z returns the hedge ratio and the current z-score of the spread, or ok
// false when there is not enough history.
func (a *Arbitrageur) Z(v *View) (beta, z float64, ok bool) {
	iy, ix := symbolIndex(v, a.Y), symbolIndex(v, a.X)
	if iy < 0 || ix < 0 {
		return 0, 0, false
	}
	ys, xs := v.Mids(iy), v.Mids(ix)
	if len(ys) < a.Window {
		return 0, 0, false
	}
	ys, xs = ys[len(ys)-a.Window:], xs[len(xs)-a.Window:]
	alpha, beta := stat.LinearRegression(xs, ys, nil, false)
	a.resid = a.resid[:0]
	for k := range ys {
		a.resid = append(a.resid, ys[k]-alpha-beta*xs[k])
	}
	mean, sd := stat.MeanStdDev(a.resid, nil)
	if !(sd > 0) {
		return beta, 0, false
	}
	return beta, (a.resid[len(a.resid)-1] - mean) / sd, true
}

func (a *Arbitrageur) Decide(v *View, out []Order) []Order {
	beta, z, ok := a.Z(v)
	if !ok {
		return out
	}
	if a.cooldown > 0 {
		a.cooldown--
	}
	next := a.state
	switch {
	case a.state != 0 && math.Abs(z) > a.Stop:
		next, a.cooldown = 0, a.Window/2
	case a.state != 0 && math.Abs(z) < a.Exit:
		next = 0
	case a.state == 0 && a.cooldown == 0 && z > a.Entry && z < a.Stop:
		next = -1
	case a.state == 0 && a.cooldown == 0 && z < -a.Entry && z > -a.Stop:
		next = 1
	}
	iy, ix := symbolIndex(v, a.Y), symbolIndex(v, a.X)
	if next != a.state {
		a.state = next
		yValue := float64(next) * a.Size * v.Account.Capital
		yUnits := yValue / v.Quotes[iy].Mid
		out = appendTarget(v, out, iy, yValue)
		out = appendTarget(v, out, ix, -beta*yUnits*v.Quotes[ix].Mid)
	}
	return out
}

// MeanReverter is the Mean Reverter: contrarian entries on stretched moves.
// It buys when the mid is below the lower Bollinger band (mean minus K
// standard deviations over Window steps) and the RSI over RSIWindow steps is
// under 30, sells on the mirror image, and exits at the middle band. It
// works with passive limit orders at the touch, so it earns the spread
// instead of paying it, and may not be filled.
type MeanReverter struct {
	Symbols   []string
	Window    int
	K         float64
	RSIWindow int
	Size      float64
	target    []float64
}

// NewMeanReverter returns the Mean Reverter with its default parameters.
func NewMeanReverter() *MeanReverter {
	return &MeanReverter{Symbols: []string{"AAPL", "JPM", "KO"}, Window: 240, K: 3, RSIWindow: 14, Size: 0.15}
}

func (m *MeanReverter) Profile() Profile {
	return Profile{ID: "reverter", Name: "Mean Reverter", Color: "#b694ff", Shape: "sphere",
		Bio:   "A contrarian with patience. When the crowd panics it buys, when the crowd cheers it sells.",
		Style: "Bollinger bands and RSI, passive orders", Risk: "medium", Holding: "minutes",
		Phrases: []string{"What goes up...", "Buy the panic.", "Everything returns to the mean."}}
}

// RSI is Wilder's relative strength index over the last n changes of xs,
// with simple averages: 100 − 100/(1 + gains/losses).
func RSI(xs []float64, n int) float64 {
	if len(xs) < n+1 {
		return 50
	}
	var up, down float64
	for k := len(xs) - n; k < len(xs); k++ {
		d := xs[k] - xs[k-1]
		if d > 0 {
			up += d
		} else {
			down -= d
		}
	}
	if down == 0 {
		if up == 0 {
			return 50
		}
		return 100
	}
	return 100 - 100/(1+up/down)
}

func (m *MeanReverter) Decide(v *View, out []Order) []Order {
	if m.target == nil {
		m.target = make([]float64, len(m.Symbols))
	}
	for k, sym := range m.Symbols {
		i := symbolIndex(v, sym)
		if i < 0 {
			continue
		}
		mids := v.Mids(i)
		if len(mids) < m.Window {
			continue
		}
		w := mids[len(mids)-m.Window:]
		mean, sd := stat.MeanStdDev(w, nil)
		p := mids[len(mids)-1]
		rsi := RSI(mids, m.RSIWindow)
		switch {
		case p < mean-m.K*sd && rsi < 30:
			m.target[k] = m.Size * v.Account.Capital
		case p > mean+m.K*sd && rsi > 70:
			m.target[k] = -m.Size * v.Account.Capital
		case m.target[k] > 0 && p >= mean, m.target[k] < 0 && p <= mean:
			m.target[k] = 0
		}
		o := v.Target(i, m.target[k])
		if o.Qty <= 0 {
			continue
		}
		q := v.Quotes[i]
		o.Limit = q.Bid // join the best bid to buy
		if o.Side == book.Sell {
			o.Limit = q.Ask
		}
		if o.Limit > 0 {
			out = append(out, o)
		}
	}
	return out
}

// MarketMaker is the Market Maker: Avellaneda–Stoikov quoting with
// inventory control. For each instrument, in ticks:
//
//	reservation r = mid − q·γ·σ²·τ
//	spread      δ = γ·σ²·τ + (2/γ)·ln(1 + γ/k)
//
// with q the inventory in clips, σ² the variance of the mid over the whole
// round estimated from an exponential average of squared one-step changes,
// τ the share of the round still to come, k the order arrival decay per
// tick, taken as K over one step's standard deviation (quotes closer than
// the price moves in one step get run over). γ is set each step so that γ·σ² = Skew ticks: one clip of inventory
// shifts the quotes by Skew·τ ticks. Beyond MaxClips it quotes only the side
// that reduces its inventory.
type MarketMaker struct {
	Symbols  []string
	Clip     float64 // money per quote
	MaxClips float64
	Skew     float64 // ticks of reservation shift per clip at the open
	K        float64 // order arrival decay: k = K / (one step's standard deviation in ticks)
	vars     []float64
}

// NewMarketMaker returns the Market Maker with its default parameters.
func NewMarketMaker() *MarketMaker {
	return &MarketMaker{Symbols: []string{"AAPL", "KO", "PEP"}, Clip: 40_000, MaxClips: 3, Skew: 4, K: 0.5}
}

func (m *MarketMaker) Profile() Profile {
	return Profile{ID: "maker", Name: "Market Maker", Color: "#7cf2c5", Shape: "torus",
		Bio:   "Always open for business. Buys on the bid, sells on the offer, and hates holding anything overnight.",
		Style: "Avellaneda–Stoikov quoting", Risk: "medium", Holding: "seconds to minutes",
		Phrases: []string{"Two-way price, any size.", "Flat is beautiful.", "Thanks for the spread."}}
}

func (m *MarketMaker) Decide(v *View, out []Order) []Order {
	if m.vars == nil {
		m.vars = make([]float64, len(m.Symbols))
	}
	tau := v.Remaining()
	for k, sym := range m.Symbols {
		i := symbolIndex(v, sym)
		if i < 0 {
			continue
		}
		in := v.Instruments[i]
		mids := v.Mids(i)
		if len(mids) < 2 {
			continue
		}
		d := (mids[len(mids)-1] - mids[len(mids)-2]) / in.Tick
		m.vars[k] = ema(m.vars[k], d*d, 120)
		step2 := max(m.vars[k], 0.25)      // ticks² per step
		sigma2 := step2 * float64(v.Steps) // ticks² over the round
		gamma := m.Skew / sigma2
		kk := m.K / math.Sqrt(step2) // order arrivals fade over K one-step moves
		mid := v.Quotes[i].Mid / in.Tick
		clip := m.Clip / v.Quotes[i].Mid
		q := v.Account.Position[i] / clip
		r := mid - q*gamma*sigma2*tau
		delta := gamma*sigma2*tau + 2/gamma*math.Log(1+gamma/kk)
		bid := math.Floor(r - delta/2)
		ask := math.Ceil(r + delta/2)
		// Never cross the book: a quote is a passive order.
		if qt := v.Quotes[i]; qt.Ask > 0 {
			bid = min(bid, qt.Ask/in.Tick-1)
		}
		if qt := v.Quotes[i]; qt.Bid > 0 {
			ask = max(ask, qt.Bid/in.Tick+1)
		}
		lots := math.Floor(clip/in.Lot) * in.Lot
		if q < m.MaxClips && bid > 0 {
			out = append(out, Order{Instrument: i, Side: book.Buy, Qty: lots, Limit: bid * in.Tick})
		}
		if q > -m.MaxClips {
			out = append(out, Order{Instrument: i, Side: book.Sell, Qty: lots, Limit: ask * in.Tick})
		}
	}
	return out
}

// Learner is the Adaptive Learner: online logistic regression. For each
// instrument it predicts whether the mid will be higher Horizon steps from
// now from four signals (the last step's move, the moves over 12 and 60
// steps, and the distance from the 48-step mean, each in units of the
// recent volatility), learns from every outcome by one step of stochastic
// gradient descent on the log loss, and holds a position proportional to
// its confidence. Its weights are its signal mix, and they change as it
// trades. It rebalances every Horizon steps.
type Learner struct {
	Symbols []string
	Horizon int
	Rate    float64 // learning rate
	L2      float64 // weight decay
	Size    float64
	w       [][5]float64
	pending [][][5]float64 // features waiting for their outcome, per instrument
	seed    uint64
}

// NewLearner returns the Adaptive Learner. The seed sets its initial weights.
func NewLearner(seed uint64) *Learner {
	return &Learner{Symbols: []string{"SPX", "AAPL", "JPM"}, Horizon: 12, Rate: 0.05, L2: 1e-4, Size: 0.25, seed: seed}
}

func (l *Learner) Profile() Profile {
	return Profile{ID: "learner", Name: "Adaptive Learner", Color: "#ffc46a", Shape: "capsule",
		Bio:   "Started the day knowing nothing. Learns from every trade and changes its mind when the market does.",
		Style: "online logistic regression over signals", Risk: "medium", Holding: "a minute or two",
		Phrases: []string{"Updating my priors.", "Gradient says go.", "I learn, therefore I earn."}}
}

// Weights are the current signal weights of instrument k (bias first).
func (l *Learner) Weights(k int) [5]float64 { return l.w[k] }

func (l *Learner) features(mids []float64) ([5]float64, bool) {
	n := len(mids)
	if n < 61 {
		return [5]float64{}, false
	}
	var s2 float64
	for k := n - 60; k < n; k++ {
		d := math.Log(mids[k] / mids[k-1])
		s2 += d * d
	}
	vol := math.Sqrt(s2/60) + 1e-12
	p := mids[n-1]
	mean := stat.Mean(mids[n-48:], nil)
	clamp := func(x float64) float64 { return max(-4, min(4, x)) }
	return [5]float64{1,
		clamp(math.Log(p/mids[n-2]) / vol),
		clamp(math.Log(p/mids[n-13]) / (vol * math.Sqrt(12))),
		clamp(math.Log(p/mids[n-61]) / (vol * math.Sqrt(60))),
		clamp(math.Log(p/mean) / (vol * math.Sqrt(24))),
	}, true
}

func (l *Learner) Decide(v *View, out []Order) []Order {
	if l.w == nil {
		l.w = make([][5]float64, len(l.Symbols))
		l.pending = make([][][5]float64, len(l.Symbols))
		s := l.seed
		for k := range l.w {
			for j := range l.w[k] {
				s = s*6364136223846793005 + 1442695040888963407
				l.w[k][j] = (float64(s>>11)/(1<<53) - 0.5) * 0.02
			}
		}
	}
	for k, sym := range l.Symbols {
		i := symbolIndex(v, sym)
		if i < 0 {
			continue
		}
		mids := v.Mids(i)
		x, ok := l.features(mids)
		if !ok {
			continue
		}
		// Learn from the features of Horizon steps ago, now that the outcome is known.
		l.pending[k] = append(l.pending[k], x)
		if len(l.pending[k]) > l.Horizon {
			old := l.pending[k][0]
			l.pending[k] = l.pending[k][1:]
			y := 0.0
			if mids[len(mids)-1] > mids[len(mids)-1-l.Horizon] {
				y = 1
			}
			p := sigmoid(dot(l.w[k], old))
			for j := range l.w[k] {
				l.w[k][j] -= l.Rate * ((p-y)*old[j] + l.L2*l.w[k][j])
			}
		}
		if v.Step%l.Horizon != 0 {
			continue
		}
		edge := 2*sigmoid(dot(l.w[k], x)) - 1
		target := 0.0
		if math.Abs(edge) > 0.1 {
			target = max(-1, min(1, 3*edge)) * l.Size * v.Account.Capital
		}
		// Trade only when the target moved by a quarter of the full size:
		// small changes of mind are not worth the spread.
		if math.Abs(target-v.Account.Position[i]*v.Quotes[i].Mid) > 0.25*l.Size*v.Account.Capital {
			out = appendTarget(v, out, i, target)
		}
	}
	return out
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func dot(a, b [5]float64) float64 {
	var s float64
	for j := range a {
		s += a[j] * b[j]
	}
	return s
}
