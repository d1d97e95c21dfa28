package rl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/metastation/metastation/app/market"
)

func TestSharpeSortino(t *testing.T) {
	cases := []struct {
		name          string
		daily         []float64
		sharpe, sorti float64
	}{
		{"flat series scores zero", []float64{0, 0, 0, 0}, 0, 0},
		{"no down day: Sortino zero", []float64{0.01, 0.02, 0.01, 0.02}, math.Sqrt(252) * 0.015 / math.Sqrt(1.0/3*4*0.005*0.005), 0},
		// mean 0, so both ratios are zero whatever the spread.
		{"symmetric", []float64{0.01, -0.01, 0.01, -0.01}, 0, 0},
		{"one down day", []float64{0.02, -0.01}, math.Sqrt(252) * 0.005 / math.Sqrt(2*0.015*0.015/1), math.Sqrt(252) * 0.005 / math.Sqrt(0.0001/2)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sh, so := SharpeSortino(c.daily)
			if math.Abs(sh-c.sharpe) > 1e-9 || math.Abs(so-c.sorti) > 1e-9 {
				t.Fatalf("SharpeSortino(%v) = %v, %v; want %v, %v", c.daily, sh, so, c.sharpe, c.sorti)
			}
		})
	}
}

// Every policy given the same seed meets the same episodes (the pairing the
// learners bench relies on), cash earns exactly nothing, and buy-and-hold's
// return is the compounded market return of its path.
func TestEvalTradingEpisodesPairs(t *testing.T) {
	const n = 6
	bh := EvalTradingEpisodes(FixedPolicy(4), n, 42)
	cash := EvalTradingEpisodes(FixedPolicy(2), n, 42)
	again := EvalTradingEpisodes(FixedPolicy(4), n, 42)
	other := EvalTradingEpisodes(FixedPolicy(4), n, 43)
	for i := range bh {
		if bh[i] != again[i] {
			t.Fatalf("episode %d differs between two runs of the same seed: %+v vs %+v", i, bh[i], again[i])
		}
		if bh[i].Regime != cash[i].Regime {
			t.Fatalf("episode %d: regimes differ between policies on the same seed", i)
		}
		if cash[i].Return != 0 || cash[i].Sharpe != 0 || cash[i].Turnover != 0 {
			t.Fatalf("cash episode %d: %+v, want all zero", i, cash[i])
		}
		if bh[i].Turnover != 1 {
			t.Fatalf("buy-and-hold turnover %v, want 1 (the first day's purchase)", bh[i].Turnover)
		}
	}
	same := 0
	for i := range bh {
		if bh[i].Return == other[i].Return {
			same++
		}
	}
	if same == n {
		t.Fatal("seeds 42 and 43 gave the same episodes")
	}
	e := NewTrading()
	seeds := EvalTradingEpisodes(VolTimingPolicy{Window: e.Window, Threshold: 1e9}, n, 42)
	for i := range seeds {
		if seeds[i] != bh[i] {
			t.Fatalf("a volatility rule that is always long differs from buy-and-hold on episode %d", i)
		}
	}
}

// The variants the learners bench compares share the base world's price
// paths: a continuous position of 1 is buy-and-hold exactly, the informed
// observation only appends, and a volatility-targeted level of 1 holds
// min(1, target/σ̂) of the same returns.
func TestTradingVariantsSharePaths(t *testing.T) {
	const n, seed = 4, 7
	bh := EvalTradingEpisodes(FixedPolicy(4), n, seed)
	cont := NewTrading()
	cont.Continuous = true
	if sp := cont.ActionSpace(); sp.Discrete() || sp.Low[0] != -1 || sp.High[0] != 1 {
		t.Fatalf("continuous action space %+v, want the box [-1, 1]", sp)
	}
	got := EvalTradingEnv(cont, constAction{1}, n, seed)
	for i := range bh {
		if got[i] != bh[i] {
			t.Fatalf("continuous 1.0 differs from buy-and-hold on episode %d: %+v vs %+v", i, got[i], bh[i])
		}
	}
	// Out-of-range and NaN actions are clamped, not trusted.
	for _, c := range []struct{ a, want float64 }{{3, 1}, {-7, -1}, {0.25, 0.25}, {math.NaN(), 0}} {
		if x := cont.Target([]float64{c.a}); x != c.want {
			t.Errorf("Target(%v) = %v, want %v", c.a, x, c.want)
		}
	}

	base, inf := NewTrading(), NewTrading()
	inf.Informed, inf.VolTarget = true, 0.8
	ob, oi := base.Reset(3), inf.Reset(3)
	if len(oi) != inf.ObsDim() || len(ob) != base.ObsDim() || inf.ObsDim() != base.ObsDim()+4 {
		t.Fatalf("observation widths %d and %d (ObsDim %d, %d)", len(ob), len(oi), base.ObsDim(), inf.ObsDim())
	}
	for j := range ob {
		if ob[j] != oi[j] {
			t.Fatalf("informed observation changes value %d: %v vs %v", j, oi[j], ob[j])
		}
	}
	if oi[len(ob)+2] > 0 || oi[len(ob)] <= 0 || oi[len(ob)+1] <= 0 {
		t.Fatalf("informed features %v: volatilities must be positive, the drawdown not", oi[len(ob):])
	}
	sigma := inf.ewmaVol()
	want := min(1, 0.8/sigma)
	if x := inf.Target([]float64{4}); math.Abs(x-want) > 1e-12 {
		t.Fatalf("vol-targeted long = %v, want min(1, 0.8/%v) = %v", x, sigma, want)
	}
	if x := inf.Target([]float64{2}); x != 0 {
		t.Fatalf("vol-targeted flat = %v, want 0", x)
	}
	r := inf.Rets[inf.T]
	inf.Step([]float64{4})
	if math.Abs(inf.Equity-(1+want*r-inf.CostBps/1e4*want)) > 1e-12 {
		t.Fatalf("equity %v after one vol-targeted day, want %v", inf.Equity, 1+want*r-inf.CostBps/1e4*want)
	}
}

type constAction []float64

func (c constAction) Act([]float64, bool, *rand.Rand) []float64 { return c }

// Starts restricts the starting regime, and an episode's paths then differ
// from the default world's.
func TestTradingStarts(t *testing.T) {
	e := NewTrading()
	e.Starts = []market.Regime{market.Crisis, market.BlackSwan}
	seen := map[float64]int{}
	for _, ep := range EvalTradingEnv(e, FixedPolicy(4), 40, 9) {
		seen[ep.Regime]++
	}
	if len(seen) != 2 || seen[float64(market.Crisis)] == 0 || seen[float64(market.BlackSwan)] == 0 {
		t.Fatalf("starting regimes %v, want crisis and black swan only", seen)
	}
}

func TestPooledSharpeSortino(t *testing.T) {
	mk := func(daily ...float64) TradingEpisode {
		ep := TradingEpisode{Days: len(daily)}
		for _, r := range daily {
			ep.Sum, ep.SumSq = ep.Sum+r, ep.SumSq+r*r
			if r < 0 {
				ep.DownSq += r * r
			}
		}
		return ep
	}
	a, b := []float64{0.02, -0.01, 0.005}, []float64{0.01, -0.03}
	sh, so := PooledSharpeSortino([]TradingEpisode{mk(a...), mk(b...)})
	wsh, wso := SharpeSortino(append(append([]float64(nil), a...), b...))
	if math.Abs(sh-wsh) > 1e-9 || math.Abs(so-wso) > 1e-9 {
		t.Fatalf("pooled %v, %v; the concatenated series scores %v, %v", sh, so, wsh, wso)
	}
	if sh, so := PooledSharpeSortino([]TradingEpisode{mk(0, 0, 0)}); sh != 0 || so != 0 {
		t.Fatalf("cash pooled %v, %v; want 0, 0", sh, so)
	}
}
