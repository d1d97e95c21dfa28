package rl

import (
	"math"
	"testing"
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
