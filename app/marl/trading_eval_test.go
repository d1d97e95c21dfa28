package marl

import (
	"math"
	"testing"

	"github.com/metastation/metastation/app/market"
)

// Cash earns exactly nothing, every agent long buys once and pays its way
// in, the same seed gives the same episodes, and the pooled sums add up.
func TestEvalTradingDaily(t *testing.T) {
	mixed := func() *TradingMA { e := NewTradingMA(); e.Mixed = true; return e }
	const n = 5
	cash := EvalTradingDaily(Fixed(2), mixed, n, 11)
	long := EvalTradingDaily(Fixed(4), mixed, n, 11)
	again := EvalTradingDaily(Fixed(4), mixed, n, 11)
	h := NewTradingMA().Horizon
	for k := range cash {
		if cash[k].Sharpe != 0 || cash[k].Return != 0 || cash[k].Turnover != 0 || cash[k].Sum != 0 {
			t.Fatalf("cash episode %d: %+v, want all zero", k, cash[k])
		}
		if long[k] != again[k] {
			t.Fatalf("episode %d differs between two runs of one seed", k)
		}
		if long[k].Regime != cash[k].Regime || long[k].Regime > market.BlackSwan {
			t.Fatalf("episode %d: regimes %v and %v", k, long[k].Regime, cash[k].Regime)
		}
		if math.Abs(long[k].Turnover-1) > 1e-12 {
			t.Fatalf("all long: turnover %v, want 1 (the first day's purchase)", long[k].Turnover)
		}
		if long[k].Days != 3*h || long[k].SumSq <= 0 || long[k].DownSq > long[k].SumSq {
			t.Fatalf("pooled sums of episode %d: %+v", k, long[k])
		}
	}
}
