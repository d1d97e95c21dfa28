package research

import (
	"fmt"
	"math"
	"slices"
)

// Signal is a trading rule a hypothesis is about. Each gives a position in
// {−1, 0, +1} for day t from returns before t only.
type Signal string

// The signals the experimenter can test.
const (
	Momentum  Signal = "momentum"   // sign of the past horizon's return
	Reversal  Signal = "reversal"   // against the past horizon's return
	Trend     Signal = "trend"      // price above its moving average
	VolTiming Signal = "vol_timing" // long when volatility is below its yearly level, short above
	NoiseRule Signal = "noise"      // a seeded coin, held horizon days: the null the tests plant
	noSignal  Signal = ""
)

// Signals lists the testable signals (not the noise rule).
var Signals = []Signal{Momentum, Reversal, Trend, VolTiming}

// Regime is when a hypothesis trades: always, or only when the market is
// calm or stressed. Strategies see stress as trailing 21-day volatility
// above the trailing 252-day volatility; simulated effects are planted on
// the latent regime, which strategies never see.
type Regime string

// The regimes.
const (
	AnyRegime Regime = "any"
	Calm      Regime = "calm"
	Stressed  Regime = "stressed"
)

// Regimes lists them.
var Regimes = []Regime{AnyRegime, Calm, Stressed}

func (r Regime) holds(stressed bool) bool {
	switch r {
	case Calm:
		return !stressed
	case Stressed:
		return stressed
	}
	return true
}

// Horizons are the lookbacks a hypothesis may name, in trading days.
var Horizons = []int{5, 21, 63}

// features are running sums over one return series, so a signal at any day
// costs O(1).
type features struct {
	r   []float64
	cum []float64 // cum[t] = r[0]+...+r[t-1]
	sq  []float64 // the same of r²
	cc  []float64 // cum of cum: for moving averages of the log price
}

func newFeatures(r []float64) *features {
	f := &features{r: r, cum: make([]float64, len(r)+1), sq: make([]float64, len(r)+1), cc: make([]float64, len(r)+1)}
	for t, x := range r {
		f.cum[t+1] = f.cum[t] + x
		f.sq[t+1] = f.sq[t] + x*x
		f.cc[t+1] = f.cc[t] + f.cum[t+1]
	}
	return f
}

// set changes r[t] and the sums through t+1; called for t ascending it
// keeps every sum true (plant does so).
func (f *features) set(t int, x float64) {
	f.r[t] = x
	f.cum[t+1] = f.cum[t] + x
	f.sq[t+1] = f.sq[t] + x*x
	f.cc[t+1] = f.cc[t] + f.cum[t+1]
}

// sum is the return over the n days before t.
func (f *features) sum(t, n int) float64 {
	lo := max(0, t-n)
	return f.cum[t] - f.cum[lo]
}

// vol is the standard deviation of the n daily returns before t.
func (f *features) vol(t, n int) float64 {
	lo := max(0, t-n)
	k := float64(t - lo)
	if k < 2 {
		return 0
	}
	m := (f.cum[t] - f.cum[lo]) / k
	v := (f.sq[t]-f.sq[lo])/k - m*m
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v)
}

// stressed reports whether the market looked stressed before day t.
func (f *features) stressed(t int) bool {
	return t >= 63 && f.vol(t, 21) > f.vol(t, 252)
}

// position is the signal's position for day t.
func (s Signal) position(f *features, t, h int) float64 {
	if t < h+1 {
		return 0
	}
	switch s {
	case Momentum:
		return sign(f.sum(t, h))
	case Reversal:
		return -sign(f.sum(t, h))
	case Trend:
		// log price before t is cum[t]; its h-day moving average is the
		// mean of cum[t-h+1..t].
		lo := max(0, t-h)
		ma := (f.cc[t] - f.cc[lo]) / float64(t-lo)
		return sign(f.cum[t] - ma)
	case VolTiming:
		if t < 63 {
			return 0
		}
		return sign(f.vol(t, 252) - f.vol(t, h))
	}
	return 0
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// Rule is one fully specified strategy: a trial.
type Rule struct {
	Signal   Signal  `json:"signal"`
	Lookback int     `json:"lookback"`
	Regime   Regime  `json:"regime"`
	Sign     float64 `json:"sign"`           // +1 to follow the signal, −1 to fade it
	Seed     uint64  `json:"seed,omitempty"` // the noise rule's coin
}

// Slippage is the market impact per unit of turnover, in units of the
// day's trailing volatility.
const Slippage = 0.05

// Backtest is a rule's daily net returns on a dataset: an equal-weight
// portfolio of the set's instruments, each holding the rule's position,
// paying cost and slippage on every change of position.
type Backtest struct {
	PnL      []float64 // net daily return of the portfolio
	Turnover float64   // mean |Δposition| per day
	Costs    float64   // mean cost per day (commission, spread, slippage)
	Exposure float64   // share of days with a position
}

// Run backtests r on d over days [from, to).
func (r Rule) Run(d Dataset, from, to int) (Backtest, error) {
	if from < 0 || to > d.Days || from >= to {
		return Backtest{}, fmt.Errorf("backtest %s: days %d..%d out of 0..%d", d.Name, from, to, d.Days)
	}
	n := to - from
	bt := Backtest{PnL: make([]float64, n)}
	w := 1 / float64(len(d.Returns))
	var turn, cost, active float64
	for i, ret := range d.Returns {
		var f *features
		if i < len(d.feat) {
			f = d.feat[i]
		} else {
			f = newFeatures(ret)
		}
		var coin *coinFlips
		if r.Signal == NoiseRule {
			coin = newCoin(r.Seed, uint64(i), r.Lookback)
		}
		prev := 0.0
		if from > 0 {
			prev = r.positionAt(f, coin, from-1)
		}
		for t := from; t < to; t++ {
			pos := r.positionAt(f, coin, t)
			dp := math.Abs(pos - prev)
			c := dp * (d.Cost + Slippage*f.vol(t, 21))
			bt.PnL[t-from] += w * (pos*ret[t] - c)
			turn += w * dp
			cost += w * c
			if pos != 0 {
				active += w
			}
			prev = pos
		}
	}
	bt.Turnover, bt.Costs, bt.Exposure = turn/float64(n), cost/float64(n), active/float64(n)
	return bt, nil
}

func (r Rule) positionAt(f *features, coin *coinFlips, t int) float64 {
	if !r.Regime.holds(f.stressed(t)) {
		return 0
	}
	if coin != nil {
		return coin.at(t)
	}
	return r.Sign * r.Signal.position(f, t, r.Lookback)
}

// coinFlips is the noise rule: a seeded ±1 held for hold days.
type coinFlips struct {
	seed, inst uint64
	hold       int
}

func newCoin(seed, inst uint64, hold int) *coinFlips {
	return &coinFlips{seed: seed, inst: inst, hold: max(1, hold)}
}

// at is the coin for day t: a hash of (seed, instrument, t/hold), so any
// day's position is known without replaying the days before it.
func (c *coinFlips) at(t int) float64 {
	x := splitmix(c.seed ^ splitmix(c.inst+1) ^ splitmix(uint64(t/c.hold)+0x9e37))
	if x&1 == 0 {
		return -1
	}
	return 1
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Performance is what a memo reports of a return series.
type Performance struct {
	Days      int     `json:"days"`
	Sharpe    float64 `json:"sharpe"` // annualised
	SharpeLo  float64 `json:"sharpe_lo"`
	SharpeHi  float64 `json:"sharpe_hi"` // 95 % interval, annualised
	Sortino   float64 `json:"sortino"`
	MaxDD     float64 `json:"max_drawdown"` // of cumulative log-return, positive
	AnnReturn float64 `json:"ann_return"`
	AnnVol    float64 `json:"ann_vol"`
	Turnover  float64 `json:"turnover"` // annualised |Δposition|
	AnnCosts  float64 `json:"ann_costs"`
	T         float64 `json:"t"`
	P         float64 `json:"p"` // one-sided, mean > 0
	Moments   Moments `json:"moments"`
}

// daysPerYear annualises every figure (the simulator's and the equity
// files' year; crypto trades more days, which annualising at 252 only
// understates).
const daysPerYear = 252

// Measure computes the performance of pnl.
func Measure(pnl []float64, turnover, costs float64) Performance {
	m := MomentsOf(pnl)
	lo, hi := SharpeCI(m, 0.95)
	ann := math.Sqrt(daysPerYear)
	p, t := OneSidedP(m)
	perf := Performance{
		Days: len(pnl), Sharpe: m.Sharpe * ann, SharpeLo: lo * ann, SharpeHi: hi * ann,
		AnnReturn: m.Mean * daysPerYear, AnnVol: m.Std * ann,
		Turnover: turnover * daysPerYear, AnnCosts: costs * daysPerYear, T: t, P: p, Moments: m,
	}
	for _, x := range []*float64{&perf.SharpeLo, &perf.SharpeHi} {
		if !isFinite(*x) {
			*x = perf.Sharpe // no spread to speak of (fewer than two days)
		}
	}
	var down float64
	var peak, cum float64
	for _, x := range pnl {
		if x < 0 {
			down += x * x
		}
		cum += x
		peak = math.Max(peak, cum)
		perf.MaxDD = math.Max(perf.MaxDD, peak-cum)
	}
	if down > 0 {
		perf.Sortino = m.Mean / math.Sqrt(down/float64(len(pnl))) * ann
	}
	return perf
}

func slicesSort(s []string) { slices.Sort(s) }
