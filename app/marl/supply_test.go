package marl

import (
	"testing"

	"github.com/metastation/metastation/app/rl"
)

// runSupply plays episodes with order(e, k) and returns the mean team
// return and the mean bullwhip ratio of the supplier's orders.
func runSupply(episodes int, disruption float64, order func(e *Supply, k int) int) (ret, bullwhip float64) {
	e := NewSupply()
	e.Disruption = disruption
	for ep := 0; ep < episodes; ep++ {
		e.Reset(uint64(ep))
		for {
			s := e.StepOrders(func(k int) int { return order(e, k) })
			ret += s.TeamReward() / float64(episodes)
			if s.Done() {
				break
			}
		}
		bullwhip += e.Bullwhip()[3] / float64(episodes)
	}
	return ret, bullwhip
}

// Without disruptions base-stock passes demand up the chain (bullwhip
// ratio near 1); disruptions make its supplier reorder in bursts. It costs
// less than ordering at random, and an echelon that over-reacts to every
// change in its orders, as people do in the beer game, makes the bullwhip.
func TestSupplyBaseStockAndBullwhip(t *testing.T) {
	base := DefaultBaseStock(NewSupply())
	_, calmBW := runSupply(40, 0, base.Order)
	bsRet, bsBW := runSupply(40, NewSupply().Disruption, base.Order)
	overRet, overBW := runSupply(40, NewSupply().Disruption, func(e *Supply, k int) int {
		return max(0, 2*e.Incoming[k]-int(e.Demand)+(base.Level-e.Position(k))/2)
	})
	rnd := EvaluateTeam(NewSupply(), RandomController{}, 40, 3, false)
	rndRet, _ := rl.MeanStd(rnd)
	t.Logf("base-stock (level %d): supplier bullwhip %.2f without disruptions; with them team return %.1f, bullwhip %.2f; over-reacting: %.1f, %.2f; random deltas: %.1f",
		base.Level, calmBW, bsRet, bsBW, overRet, overBW, rndRet)
	if calmBW < 0.7 || calmBW > 1.3 {
		t.Errorf("base-stock bullwhip without disruptions %.2f, want about 1", calmBW)
	}
	if overBW < 2*bsBW {
		t.Errorf("over-reacting bullwhip %.2f not clearly above base-stock %.2f", overBW, bsBW)
	}
	if bsRet <= rndRet || bsRet <= overRet {
		t.Errorf("base-stock return %.1f not above random %.1f and over-reacting %.1f", bsRet, rndRet, overRet)
	}
}

func TestSupplyConservesGoods(t *testing.T) {
	e := NewSupply()
	e.Disruption = 0
	e.Reset(1)
	total := func() int {
		s := 0
		for k := 0; k < 4; k++ {
			s += e.Stock[k] + e.transit(k)
		}
		return s
	}
	before := total()
	var shippedToCustomers, sourced int
	for i := 0; i < 20; i++ {
		backBefore := e.Back[0]
		e.StepOrders(func(k int) int { return 8 })
		sourced += 8
		shippedToCustomers += e.Incoming[0] + backBefore - e.Back[0]
	}
	if got := total(); got != before+sourced-shippedToCustomers {
		t.Fatalf("goods: start %d + sourced %d − sold %d ≠ now %d", before, sourced, shippedToCustomers, got)
	}
}
