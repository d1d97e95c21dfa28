package supply

import "math"

// Tracker keeps the series of a run that its KPIs are computed from.
type Tracker struct {
	Net     *Network
	Cost    []float64   // total cost per period
	Reward  []float64   // profit per period
	Demand  []float64   // market demand per period (all markets)
	OnTime  []float64   // demand met in its period
	Unmet   []float64   // demand not met in its period
	Backlog []float64   // market backlog after the period
	Orders  [][]float64 // per node: total ordered per period
	Stock   [][]float64 // per node: stock after the period
}

// NewTracker returns an empty tracker for network n.
func NewTracker(n *Network) *Tracker {
	return &Tracker{Net: n, Orders: make([][]float64, len(n.Nodes)), Stock: make([][]float64, len(n.Nodes))}
}

// Add records one period.
func (k *Tracker) Add(s *Sim, p Period) {
	k.Cost = append(k.Cost, p.TotalCost)
	k.Reward = append(k.Reward, p.Reward)
	k.Demand = append(k.Demand, sum(p.Demand))
	k.OnTime = append(k.OnTime, sum(p.OnTime))
	k.Unmet = append(k.Unmet, sum(p.Unmet))
	k.Backlog = append(k.Backlog, sum(p.Backlog))
	for i := range k.Orders {
		var o float64
		for _, e := range s.in[i] {
			o += p.Ordered[e]
		}
		k.Orders[i] = append(k.Orders[i], o)
		k.Stock[i] = append(k.Stock[i], p.Stock[i])
	}
}

// Len is the number of periods recorded.
func (k *Tracker) Len() int { return len(k.Cost) }

// KPIs are a run's figures.
type KPIs struct {
	Periods   int     `json:"periods"`
	TotalCost float64 `json:"total_cost"`
	Reward    float64 `json:"reward"`
	// FillRate is the part of demand met in its period.
	FillRate float64 `json:"fill_rate"`
	// CycleService is the part of periods with all demand met.
	CycleService float64 `json:"cycle_service"`
	// Unmet is the cumulative demand not met in its period.
	Unmet float64 `json:"unmet"`
	// Bullwhip is Var(orders)/Var(market demand) of every ordering node.
	Bullwhip    []NodeBullwhip  `json:"bullwhip"`
	Disruptions []DisruptionKPI `json:"disruptions,omitempty"`
}

// NodeBullwhip is one node's bullwhip ratio.
type NodeBullwhip struct {
	Node  string  `json:"node"`
	Tier  int     `json:"tier"`
	Ratio float64 `json:"ratio"`
}

// DisruptionKPI measures one crisis against the no-disruption twin.
// TimeToSurvive is the periods from the crisis's start until demand first
// goes unmet beyond the twin (Survived: it never did in the run, and the
// figure is the periods observed). TimeToRecover is the periods from the
// crisis's end until service (unmet demand and backlog) is back to the
// twin's for good (Recovered: with at least 3 clean periods observed).
// Extra cost and unmet demand are summed from the start to recovery.
type DisruptionKPI struct {
	Crisis        Crisis  `json:"crisis"`
	Scope         string  `json:"scope"`
	TimeToSurvive int     `json:"time_to_survive"`
	Survived      bool    `json:"survived"`
	TimeToRecover int     `json:"time_to_recover"`
	Recovered     bool    `json:"recovered"`
	ExtraCost     float64 `json:"extra_cost"`
	ExtraUnmet    float64 `json:"extra_unmet"`
}

// Compute returns k's KPIs; with a twin (the same run without crises),
// each crisis's survival and recovery against it.
func (k *Tracker) Compute(s *Sim, twin *Tracker, crises []Crisis) KPIs {
	out := KPIs{Periods: k.Len(), TotalCost: sum(k.Cost), Reward: sum(k.Reward), Unmet: sum(k.Unmet)}
	if d := sum(k.Demand); d > 0 {
		out.FillRate = sum(k.OnTime) / d
	} else {
		out.FillRate = 1
	}
	met := 0
	for _, u := range k.Unmet {
		if u <= 1e-9 {
			met++
		}
	}
	if k.Len() > 0 {
		out.CycleService = float64(met) / float64(k.Len())
	}
	vd := variance(k.Demand)
	for i, nd := range k.Net.Nodes {
		if nd.Kind == Source || len(s.in[i]) == 0 {
			continue
		}
		r := 0.0 // demand that never varies has no ratio; 0 keeps JSON valid
		if vd > 0 {
			r = variance(k.Orders[i]) / vd
		}
		out.Bullwhip = append(out.Bullwhip, NodeBullwhip{Node: nd.ID, Tier: s.tier[i], Ratio: r})
	}
	if twin != nil {
		for _, c := range crises {
			if c.Start < k.Len() {
				out.Disruptions = append(out.Disruptions, k.disruption(twin, c))
			}
		}
	}
	return out
}

func (k *Tracker) disruption(twin *Tracker, c Crisis) DisruptionKPI {
	n := min(k.Len(), twin.Len())
	var mean float64
	for _, m := range k.Net.Markets {
		mean += m.Demand.LongRunMean()
	}
	tolU, tolB := 0.5, max(1, 0.05*mean)
	d := DisruptionKPI{Crisis: c, Scope: c.Scope(), Survived: true, TimeToSurvive: n - c.Start}
	last := -1 // last period of deviation from the twin
	for t := c.Start; t < n; t++ {
		short := k.Unmet[t] > twin.Unmet[t]+tolU
		if short && d.Survived {
			d.Survived, d.TimeToSurvive = false, t-c.Start
		}
		if short || math.Abs(k.Backlog[t]-twin.Backlog[t]) > tolB {
			last = t
		}
	}
	end := c.Start
	if last >= 0 {
		end = last + 1
	}
	d.TimeToRecover = max(0, end-c.End)
	d.Recovered = last < 0 || end+3 <= n
	for t := c.Start; t < min(max(end, c.End), n); t++ {
		d.ExtraCost += k.Cost[t] - twin.Cost[t]
		d.ExtraUnmet += k.Unmet[t] - twin.Unmet[t]
	}
	return d
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// variance is the sample variance (0 for fewer than two values).
func variance(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := sum(xs) / float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return v / float64(len(xs)-1)
}
