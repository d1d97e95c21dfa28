package marl

import (
	"math"
	"math/rand/v2"
)

// SupplyDeltas are the supply-chain actions: an echelon orders what its
// downstream customer ordered this period plus one of these.
var SupplyDeltas = []int{-8, -4, 0, 4, 8}

// Supply is a four-echelon supply chain in the style of the beer game:
// retailer (agent 0) → distributor (1) → manufacturer (2) → supplier (3).
// Every period, in order: shipments due arrive; the retailer faces Poisson
// demand of mean Demand; every echelon ships what it can of its customer's
// order and its backlog, the shipment arriving LeadTime periods later; then
// every echelon orders from its upstream, which sees the order the next
// period; the supplier orders from an outside source that ships like an
// upstream echelon with unlimited stock. A disruption (with
// probability Disruption per period, lasting 4 periods) caps the outside
// source at a quarter of mean demand.
//
// Observation of an echelon (7 values, in units of mean demand): on-hand
// stock, backlog, the order it just received, the goods in transit to it,
// its last order, its inventory position (stock − backlog + on order) and
// whether a disruption is on. Action: an index into SupplyDeltas; the order
// is the customer's order plus the delta, at least 0. The reward is
// cooperative: every echelon gets −(total holding and backlog cost of the
// chain)/(10·N), so the team return is −total cost/10. Holding costs
// Holding per unit and period, backlog Backlog per unit and period. The
// global state is every observation plus the period's demand. Episodes are
// truncated after Horizon periods.
type Supply struct {
	Horizon, LeadTime  int
	Demand             float64
	Holding, Backlog   float64
	Disruption         float64
	Stock, Back, Last  [4]int
	Incoming           [4]int   // the order each echelon received this period
	Transit            [4][]int // Transit[k][d]: arriving at k in d+1 periods
	T, Disrupted       int      // Disrupted: periods of disruption left
	CustomerDemand     []float64
	Orders             [4][]float64 // orders placed, per echelon, for the bullwhip ratio
	TotalCost, LastDem float64
	rng                *rand.Rand
}

// NewSupply returns the chain with its defaults: 50 periods, lead time 2,
// mean demand 8, holding 0.5, backlog 1, disruptions 2% of periods.
func NewSupply() *Supply {
	return &Supply{Horizon: 50, LeadTime: 2, Demand: 8, Holding: 0.5, Backlog: 1, Disruption: 0.02}
}

// Name returns "supply".
func (e *Supply) Name() string { return "supply" }

// NumAgents returns 4.
func (e *Supply) NumAgents() int { return 4 }

// ObsDim returns 7.
func (e *Supply) ObsDim() int { return 7 }

// NumActions returns len(SupplyDeltas).
func (e *Supply) NumActions() int { return len(SupplyDeltas) }

// StateDim returns 29.
func (e *Supply) StateDim() int { return 4*7 + 1 }

// Limit returns Horizon.
func (e *Supply) Limit() int { return e.Horizon }

// Reset starts every echelon in the steady state of DefaultBaseStock: a
// pipeline of mean-demand shipments, a pending order of mean demand and
// the safety stock on hand.
func (e *Supply) Reset(seed uint64) [][]float64 {
	e.rng = rand.New(rand.NewPCG(seed, 0x737570706c79))
	mu := int(e.Demand)
	stock := DefaultBaseStock(e).Level - mu*(e.LeadTime+1)
	for k := 0; k < 4; k++ {
		e.Stock[k], e.Back[k], e.Last[k], e.Incoming[k] = stock, 0, mu, mu
		e.Transit[k] = make([]int, e.LeadTime)
		for d := range e.Transit[k] {
			e.Transit[k][d] = mu
		}
		e.Orders[k] = e.Orders[k][:0]
	}
	e.T, e.Disrupted, e.TotalCost, e.LastDem = 0, 0, 0, e.Demand
	e.CustomerDemand = e.CustomerDemand[:0]
	return e.observe()
}

// Step maps actions to orders and plays one period.
func (e *Supply) Step(actions []int) Step {
	return e.StepOrders(func(k int) int { return max(0, e.Incoming[k]+SupplyDeltas[actions[k]]) })
}

// StepOrders plays one period; order(k) gives echelon k's order once the
// period's goods have arrived and been shipped, which is how baseline
// policies such as BaseStock act. Orders placed now are what the upstream
// echelon must fill next period.
func (e *Supply) StepOrders(order func(k int) int) Step {
	// Arrivals.
	for k := 0; k < 4; k++ {
		e.Stock[k] += e.Transit[k][0]
		copy(e.Transit[k], e.Transit[k][1:])
		e.Transit[k][len(e.Transit[k])-1] = 0
	}
	// Demand and shipping, downstream first. Echelon k's customer order is
	// the demand (k = 0) or the order k−1 placed last period.
	d := poisson(e.rng, e.Demand)
	e.LastDem = float64(d)
	e.CustomerDemand = append(e.CustomerDemand, float64(d))
	e.Incoming[0] = d
	for k := 1; k < 4; k++ {
		e.Incoming[k] = e.Last[k-1]
	}
	for k := 0; k < 4; k++ {
		want := e.Incoming[k] + e.Back[k]
		ship := min(want, e.Stock[k])
		e.Stock[k] -= ship
		e.Back[k] = want - ship
		if k > 0 {
			e.Transit[k-1][len(e.Transit[k-1])-1] += ship
		}
	}
	// The outside source fills the supplier's last order, like any
	// upstream, unless disrupted.
	src := e.Last[3]
	if e.Disrupted > 0 {
		src = min(src, int(e.Demand/4))
	}
	e.Transit[3][len(e.Transit[3])-1] += src
	// Orders; the supplier's outside source may be disrupted.
	if e.Disrupted > 0 {
		e.Disrupted--
	} else if e.rng.Float64() < e.Disruption {
		e.Disrupted = 4
	}
	for k := 0; k < 4; k++ {
		o := order(k)
		e.Last[k] = o
		e.Orders[k] = append(e.Orders[k], float64(o))
	}
	// Costs.
	var cost float64
	for k := 0; k < 4; k++ {
		cost += e.Holding*float64(e.Stock[k]) + e.Backlog*float64(e.Back[k])
	}
	e.TotalCost += cost
	e.T++
	s := Step{Obs: e.observe(), Rewards: make([]float64, 4), Terminated: make([]bool, 4), Truncated: make([]bool, 4)}
	for k := range s.Rewards {
		s.Rewards[k] = -cost / 40
		s.Truncated[k] = e.T >= e.Horizon
	}
	return s
}

// poisson draws a Poisson variate by Knuth's method (small means).
func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (e *Supply) transit(k int) int {
	s := 0
	for _, q := range e.Transit[k] {
		s += q
	}
	return s
}

// Position is echelon k's inventory position: stock − backlog + goods on
// order (in transit, plus what its upstream owes it as backlog). The
// outside source keeps no backlog: what a disruption withholds is lost.
func (e *Supply) Position(k int) int {
	p := e.Stock[k] - e.Back[k] + e.transit(k)
	if k < 3 {
		p += e.Back[k+1]
	}
	return p
}

func (e *Supply) observe() [][]float64 {
	out := make([][]float64, 4)
	dis := 0.0
	if e.Disrupted > 0 {
		dis = 1
	}
	for k := range out {
		out[k] = []float64{
			float64(e.Stock[k]) / e.Demand, float64(e.Back[k]) / e.Demand, float64(e.Incoming[k]) / e.Demand,
			float64(e.transit(k)) / e.Demand, float64(e.Last[k]) / e.Demand, float64(e.Position(k)) / e.Demand, dis,
		}
	}
	return out
}

// State is every echelon's observation and the period's demand.
func (e *Supply) State() []float64 {
	var s []float64
	for _, o := range e.observe() {
		s = append(s, o...)
	}
	return append(s, e.LastDem/e.Demand)
}

// AvailActions allows every delta.
func (e *Supply) AvailActions() [][]bool { return allAvail(4, len(SupplyDeltas)) }

// Bullwhip returns, per echelon, the variance of its orders over the
// variance of customer demand in the episode so far.
func (e *Supply) Bullwhip() [4]float64 {
	var out [4]float64
	vd := variance(e.CustomerDemand)
	for k := range out {
		out[k] = variance(e.Orders[k]) / vd
	}
	return out
}

func variance(xs []float64) float64 {
	var m, v float64
	for _, x := range xs {
		m += x / float64(len(xs))
	}
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return v / float64(len(xs)-1)
}

// BaseStock is the classic baseline: every echelon orders up to Level,
// that is Level minus its inventory position after shipping, at least 0.
// It passes demand up the chain without amplifying it.
type BaseStock struct{ Level int }

// Order is the base-stock order of echelon k of e.
func (b BaseStock) Order(e *Supply, k int) int { return max(0, b.Level-e.Position(k)) }

// DefaultBaseStock covers mean demand over the time from one order to the
// next one's arrival (a period for the order to be seen, the lead time, and
// the review period), plus a safety stock of two standard deviations of
// that demand.
func DefaultBaseStock(e *Supply) BaseStock {
	m := e.Demand * float64(e.LeadTime+2)
	return BaseStock{Level: int(math.Round(m + 2*math.Sqrt(m)))}
}
