package marl

import (
	"math"
	"testing"

	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/rl"
)

func TestTradingMAShapesAndDeterminism(t *testing.T) {
	e := NewTradingMA()
	obs := e.Reset(3)
	if len(obs) != e.N || len(obs[0]) != e.ObsDim() || len(e.State()) != e.StateDim() {
		t.Fatalf("obs %d×%d, state %d", len(obs), len(obs[0]), len(e.State()))
	}
	a := EvaluateTeam(NewTradingMA(), RandomController{}, 5, 1, false)
	b := EvaluateTeam(NewTradingMA(), RandomController{}, 5, 1, false)
	for i := range a {
		if a[i] != b[i] || math.IsNaN(a[i]) {
			t.Fatalf("episode %d: %v then %v", i, a[i], b[i])
		}
	}
}

// Traders pay the spread and move the price against themselves: buying the
// whole capital costs more per lot than buying a small position, and when
// two traders buy on the same day the second pays more than the first.
func TestTradingMAImpactCouplesTraders(t *testing.T) {
	e := NewTradingMA()
	e.Noise = 0
	e.Reset(1)
	f := e.fund[e.T]
	e.Step([]int{4, 2, 2}) // agent 0 buys a full position alone
	alone := -e.Cash[0] + e.capital
	e.Reset(1)
	e.Step([]int{4, 4, 2}) // agents 0 and 1 both buy
	both := 2*e.capital - e.Cash[0] - e.Cash[1]
	perLotAlone := alone / float64(e.Lots)
	perLotBoth := both / float64(2*e.Lots)
	t.Logf("fundamental %.2f, average price alone %.3f, together %.3f", f, perLotAlone, perLotBoth)
	if !(perLotAlone > f && perLotBoth > perLotAlone) {
		t.Fatalf("fundamental %.2f, alone %.3f, together %.3f: want f < alone < together", f, perLotAlone, perLotBoth)
	}
}

// Buy-and-hold earns more in calm markets than in black swans.
func TestTradingMARegimes(t *testing.T) {
	hold := fixedController(4)
	var means []float64
	for _, r := range []market.Regime{market.Calm, market.BlackSwan} {
		e := NewTradingMA()
		e.Regime = r
		m, _ := rl.MeanStd(EvaluateTeam(e, hold, 40, 5, true))
		means = append(means, m)
	}
	t.Logf("buy-and-hold team return: calm %.1f, black swan %.1f", means[0], means[1])
	if means[0] <= means[1] {
		t.Fatalf("calm %.1f not above black swan %.1f", means[0], means[1])
	}
}
