package supply

import (
	"math"
	"slices"
)

type shipment struct {
	qty    float64
	arrive int
}

type mailed struct {
	qty  float64
	seen int
}

// Sim plays a network period by period. Each period, in OR-Gym's order:
//  0. every buyer places its orders (Step's argument); an order reaches its
//     supplier OrderDelay periods later;
//  1. every supplier fills the orders that reached it (and, with
//     BackorderOrders, what it still owes) from the stock it had at the
//     start of the period, within its capacity and each lane's; when it
//     cannot fill them all it rations (in proportion to the orders, or to
//     the coordinator's priorities); a shipment arrives Lead periods later;
//  2. shipments due arrive;
//  3. market demand (plus any backlog) is met from the retailer's stock;
//  4. every node books its profit: revenue − purchases − operating −
//     holding (stock and goods in transit to it) − penalties for unmet
//     demand − the cost of what it owes downstream.
//
// Sim conserves goods: stock plus goods in transit always equals what it
// started with, plus what sources supplied, minus what markets bought and
// what factories lost to yield (Goods and the Period flows say so).
type Sim struct {
	Net *Network
	T   int

	Stock      []float64 // per node, on hand
	Owed       []float64 // per edge: what the supplier still owes the buyer
	MarketOwed []float64 // per market: backlogged demand

	pipe   [][]shipment // per edge
	mail   [][]mailed   // per edge
	demand [][]float64  // per market, the whole run's drawn demand
	crises []Crisis

	in, out   [][]int // edge indices per node
	marketsAt [][]int // market indices per node
	tier      []int   // hops from the nearest market; sources last
	start     float64 // goods at the start

	// Running totals of the flows in and out of the network.
	Sourced, Sold, YieldLoss, LostOrders, LostSales float64
}

// Period is what happened in one period.
type Period struct {
	T int `json:"t"`
	// Per market.
	Demand  []float64 `json:"demand"`  // new demand this period (crises applied)
	Sales   []float64 `json:"sales"`   // units sold (old backlog first)
	OnTime  []float64 `json:"on_time"` // of this period's demand, met this period
	Unmet   []float64 `json:"unmet"`   // of this period's demand, not met this period
	Short   []float64 `json:"short"`   // all demand unmet at the end of the period, old backlog included
	Backlog []float64 `json:"backlog"` // market backlog after the period
	// Per edge.
	Ordered []float64 `json:"ordered"` // orders placed this period
	New     []float64 `json:"new"`     // orders reaching the supplier this period
	Seen    []float64 `json:"seen"`    // New plus what the supplier owed
	Shipped []float64 `json:"shipped"`
	// Per node.
	Arrived []float64 `json:"arrived"`
	Stock   []float64 `json:"stock"`
	OwedOut []float64 `json:"owed_out"` // owed to buyers and markets
	Profit  []float64 `json:"profit"`
	Cost    []float64 `json:"cost"`
	// Network totals.
	Reward    float64 `json:"reward"` // sum of profits, as OR-Gym's reward
	TotalCost float64 `json:"total_cost"`
}

// NewSim starts network n (validated here) on the demand of seed, with
// the crises given (validated too).
func NewSim(n *Network, seed uint64, crises []Crisis) (*Sim, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	for _, c := range crises {
		if err := c.Validate(n); err != nil {
			return nil, err
		}
	}
	s := &Sim{Net: n, crises: slices.Clone(crises)}
	nn, ne := len(n.Nodes), len(n.Edges)
	s.Stock, s.Owed, s.MarketOwed = make([]float64, nn), make([]float64, ne), make([]float64, len(n.Markets))
	s.pipe, s.mail = make([][]shipment, ne), make([][]mailed, ne)
	s.in, s.out, s.marketsAt = make([][]int, nn), make([][]int, nn), make([][]int, nn)
	for i, nd := range n.Nodes {
		s.Stock[i] = nd.Init
	}
	for ei, e := range n.Edges {
		f, t := n.nodeIndex(e.From), n.nodeIndex(e.To)
		s.out[f] = append(s.out[f], ei)
		s.in[t] = append(s.in[t], ei)
		for d, q := range e.InitPipe {
			s.pipe[ei] = append(s.pipe[ei], shipment{q, d})
		}
		for d, q := range e.InitOrders {
			s.mail[ei] = append(s.mail[ei], mailed{q, d})
		}
	}
	for mi, m := range n.Markets {
		r := n.nodeIndex(m.Retail)
		s.marketsAt[r] = append(s.marketsAt[r], mi)
		s.demand = append(s.demand, m.Demand.Draw(seed+uint64(mi)*0x9e3779b97f4a7c15, n.Periods))
	}
	s.tier = tiers(n, s.in, s.marketsAt)
	s.start = s.Goods()
	return s, nil
}

// tiers is each node's distance in lanes from the nearest market.
func tiers(n *Network, in, marketsAt [][]int) []int {
	t := make([]int, len(n.Nodes))
	for i := range t {
		t[i] = -1
	}
	var queue []int
	for i := range n.Nodes {
		if len(marketsAt[i]) > 0 {
			t[i] = 0
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, e := range in[i] {
			j := n.nodeIndex(n.Edges[e].From)
			if t[j] < 0 {
				t[j] = t[i] + 1
				queue = append(queue, j)
			}
		}
	}
	for i := range t {
		if t[i] < 0 {
			t[i] = len(n.Nodes)
		}
	}
	return t
}

// Done reports whether the run has played all its periods.
func (s *Sim) Done() bool { return s.T >= s.Net.Periods }

// AddCrisis injects c from now on; c must be valid for the network.
func (s *Sim) AddCrisis(c Crisis) error {
	if err := c.Validate(s.Net); err != nil {
		return err
	}
	s.crises = append(s.crises, c)
	return nil
}

// Crises returns the run's crises.
func (s *Sim) Crises() []Crisis { return slices.Clone(s.crises) }

// DemandPath is market m's demand for the whole run, before crises.
func (s *Sim) DemandPath(m int) []float64 { return s.demand[m] }

// Goods is the stock on hand plus the goods in transit.
func (s *Sim) Goods() float64 {
	var g float64
	for i, nd := range s.Net.Nodes {
		if nd.Kind != Source {
			g += s.Stock[i]
		}
	}
	for _, p := range s.pipe {
		for _, sh := range p {
			g += sh.qty
		}
	}
	return g
}

// StartGoods is Goods at the start of the run.
func (s *Sim) StartGoods() float64 { return s.start }

// lead is edge e's lead time for a shipment sent in period t.
func (s *Sim) lead(e, t int) int {
	l := s.Net.Edges[e].Lead
	for _, c := range s.crises {
		if c.Kind == PortClosure && c.Active(t) && c.Lane == s.Net.Edges[e].Lane {
			l += c.Lead
		}
	}
	return l
}

// nominal is the flow a lane or source without a stated capacity is taken
// to carry when a crisis cuts it: twice the network's mean demand.
func (s *Sim) nominal() float64 {
	var d float64
	for _, m := range s.Net.Markets {
		d += m.Demand.LongRunMean()
	}
	return 2 * d
}

// laneCap is edge e's capacity in period t.
func (s *Sim) laneCap(e, t int) float64 {
	c := s.Net.Edges[e].Capacity
	f := 1.0
	for _, cr := range s.crises {
		if !cr.Active(t) {
			continue
		}
		if cr.Kind == LogisticsLoss || (cr.Kind == PortClosure && cr.Lane == s.Net.Edges[e].Lane) {
			f *= cr.Capacity
		}
	}
	if c == 0 {
		if f == 1 {
			return math.Inf(1)
		}
		c = s.nominal()
	}
	return c * f
}

// nodeCap is node i's capacity in period t (sources and factories).
func (s *Sim) nodeCap(i, t int) float64 {
	nd := s.Net.Nodes[i]
	c, f := nd.Capacity, 1.0
	for _, cr := range s.crises {
		if cr.Kind == SupplierFailure && cr.Active(t) && cr.Node == nd.ID {
			f *= cr.Capacity
		}
	}
	if c == 0 {
		if f == 1 {
			return math.Inf(1)
		}
		c = s.nominal()
	}
	return c * f
}

// demandFactor multiplies market m's demand in period t.
func (s *Sim) demandFactor(m, t int) float64 {
	f := 1.0
	for _, c := range s.crises {
		if c.Kind == DemandSpike && c.Active(t) && (c.Market == "" || c.Market == s.Net.Markets[m].ID) {
			f *= c.Factor
		}
	}
	return f
}

// Step plays one period. orders[e] is what edge e's buyer orders from its
// supplier (rounded half to even, as OR-Gym does, and at least 0);
// priority, when not nil, is the coordinator's rationing weight per edge
// for suppliers that cannot fill every order.
func (s *Sim) Step(orders, priority []float64) Period {
	n, t := s.Net, s.T
	ne, nn := len(n.Edges), len(n.Nodes)
	p := Period{T: t, Ordered: make([]float64, ne), New: make([]float64, ne), Seen: make([]float64, ne), Shipped: make([]float64, ne),
		Arrived: make([]float64, nn), Stock: make([]float64, nn), OwedOut: make([]float64, nn),
		Profit: make([]float64, nn), Cost: make([]float64, nn)}

	// 0. Orders go into the mail.
	for e := range n.Edges {
		q := 0.0
		if e < len(orders) && orders[e] > 0 && !math.IsInf(orders[e], 0) {
			q = math.RoundToEven(orders[e])
		}
		p.Ordered[e] = q
		s.mail[e] = append(s.mail[e], mailed{q, t + n.Edges[e].OrderDelay})
	}
	// 1. Suppliers fill what reached them from their opening stock.
	for e := range n.Edges {
		keep := s.mail[e][:0]
		for _, m := range s.mail[e] {
			if m.seen <= t {
				p.New[e] += m.qty
			} else {
				keep = append(keep, m)
			}
		}
		s.mail[e] = keep
		p.Seen[e] = p.New[e] + s.Owed[e]
	}
	for k, nd := range n.Nodes {
		if len(s.out[k]) == 0 {
			continue
		}
		want := make([]float64, len(s.out[k]))
		weight := make([]float64, len(s.out[k]))
		for j, e := range s.out[k] {
			want[j] = min(p.Seen[e], s.laneCap(e, t))
			weight[j] = want[j]
			if priority != nil {
				weight[j] = priority[e]
			}
		}
		var avail float64
		switch nd.Kind {
		case Source:
			avail = s.nodeCap(k, t)
		case Stock:
			avail = s.Stock[k]
		case Factory:
			avail = min(s.nodeCap(k, t), nd.Yield*s.Stock[k])
		}
		ship := ration(want, weight, avail)
		for j, e := range s.out[k] {
			q := ship[j]
			p.Shipped[e] = q
			switch nd.Kind {
			case Source:
				s.Sourced += q
			case Stock:
				s.Stock[k] -= q
			case Factory:
				s.Stock[k] -= q / nd.Yield
				s.YieldLoss += q/nd.Yield - q
			}
			s.Stock[k] = max(0, s.Stock[k]) // rounding dust only
			if q > 0 {
				s.pipe[e] = append(s.pipe[e], shipment{q, t + s.lead(e, t)})
			}
			short := p.Seen[e] - q
			if n.BackorderOrders {
				s.Owed[e] = short
			} else {
				s.Owed[e] = 0
				s.LostOrders += short
			}
		}
	}
	// 2. Arrivals.
	for e := range n.Edges {
		to := s.nodeIndexOfEdgeTo(e)
		keep := s.pipe[e][:0]
		for _, sh := range s.pipe[e] {
			if sh.arrive <= t {
				s.Stock[to] += sh.qty
				p.Arrived[to] += sh.qty
			} else {
				keep = append(keep, sh)
			}
		}
		s.pipe[e] = keep
	}
	// 3. Markets.
	nm := len(n.Markets)
	p.Demand, p.Sales, p.OnTime, p.Unmet = make([]float64, nm), make([]float64, nm), make([]float64, nm), make([]float64, nm)
	p.Short, p.Backlog = make([]float64, nm), make([]float64, nm)
	for mi, m := range n.Markets {
		r := n.nodeIndex(m.Retail)
		d := 0.0
		if t < len(s.demand[mi]) {
			d = s.demand[mi][t] * s.demandFactor(mi, t)
		}
		old := s.MarketOwed[mi]
		sale := min(d+old, s.Stock[r])
		s.Stock[r] -= sale
		s.Sold += sale
		p.Demand[mi], p.Sales[mi] = d, sale
		p.OnTime[mi] = max(0, sale-old)
		p.Unmet[mi] = d - p.OnTime[mi]
		left := d + old - sale
		p.Short[mi] = left
		if n.BackorderDemand {
			s.MarketOwed[mi] = left
		} else {
			s.MarketOwed[mi] = 0
			s.LostSales += left
		}
		p.Backlog[mi] = s.MarketOwed[mi]
	}
	// 4. Profit and cost per node.
	disc := math.Pow(n.Discount, float64(t))
	for k, nd := range n.Nodes {
		p.Stock[k] = s.Stock[k]
		if nd.Kind == Source {
			continue
		}
		var revenue, purchase, fromSources, operating, holding, penalty, owedCost float64
		for _, e := range s.out[k] {
			revenue += n.Edges[e].Price * p.Shipped[e]
			p.OwedOut[k] += s.Owed[e]
			if nd.Kind == Factory {
				operating += nd.Operating / nd.Yield * p.Shipped[e]
			}
		}
		for _, e := range s.in[k] {
			ed := n.Edges[e]
			purchase += ed.Price * p.Shipped[e]
			if n.Nodes[s.nodeIndexOfEdgeFrom(e)].Kind == Source {
				fromSources += ed.Price * p.Shipped[e]
			}
			for _, sh := range s.pipe[e] {
				holding += ed.PipeHolding * sh.qty
			}
		}
		holding += nd.Holding * s.Stock[k]
		for _, mi := range s.marketsAt[k] {
			m := n.Markets[mi]
			revenue += m.Price * p.Sales[mi]
			// OR-Gym charges the penalty on all demand unmet at the end of
			// the period, old backlog included.
			penalty += m.Penalty * p.Short[mi]
			p.OwedOut[k] += s.MarketOwed[mi]
		}
		owedCost = nd.BackorderCost * (p.OwedOut[k] - marketOwedAt(s, k))
		p.Profit[k] = disc * (revenue - purchase - operating - holding - penalty - owedCost)
		p.Cost[k] = disc * (fromSources + operating + holding + penalty + owedCost)
		p.Reward += p.Profit[k]
		p.TotalCost += p.Cost[k]
	}
	s.T++
	return p
}

func marketOwedAt(s *Sim, k int) float64 {
	var o float64
	for _, mi := range s.marketsAt[k] {
		o += s.MarketOwed[mi]
	}
	return o
}

func (s *Sim) nodeIndexOfEdgeTo(e int) int   { return s.Net.nodeIndex(s.Net.Edges[e].To) }
func (s *Sim) nodeIndexOfEdgeFrom(e int) int { return s.Net.nodeIndex(s.Net.Edges[e].From) }

// ration shares avail among requests want by weight, no one getting more
// than it asked, by water-filling: what a capped request leaves goes to
// the others.
func ration(want, weight []float64, avail float64) []float64 {
	got := make([]float64, len(want))
	var total float64
	for _, w := range want {
		total += w
	}
	if total <= avail {
		copy(got, want)
		return got
	}
	left := avail
	active := make([]bool, len(want))
	for i := range want {
		active[i] = want[i] > 0
	}
	for range len(want) + 1 {
		var sw float64
		n := 0
		for i, a := range active {
			if a {
				sw += max(weight[i], 1e-12)
				n++
			}
		}
		if n == 0 || left <= 1e-12 {
			break
		}
		capped := false
		for i, a := range active {
			if !a {
				continue
			}
			share := left * max(weight[i], 1e-12) / sw
			if got[i]+share >= want[i] {
				capped = true
			}
		}
		if !capped {
			for i, a := range active {
				if a {
					got[i] += left * max(weight[i], 1e-12) / sw
				}
			}
			break
		}
		// Fill the capped requests and go round again with the rest.
		spent := 0.0
		for i, a := range active {
			if !a {
				continue
			}
			share := left * max(weight[i], 1e-12) / sw
			if got[i]+share >= want[i] {
				spent += want[i] - got[i]
				got[i] = want[i]
				active[i] = false
			}
		}
		left -= spent
	}
	return got
}

// Cancel withdraws what edge e's buyer has ordered and not yet been sent
// (in the mail and owed) and returns how much that was.
func (s *Sim) Cancel(e int) float64 {
	q := s.Owed[e]
	for _, m := range s.mail[e] {
		q += m.qty
	}
	s.Owed[e], s.mail[e] = 0, s.mail[e][:0]
	return q
}

// Position is node i's inventory position: stock − what it owes downstream
// + what is on order (in the mail, in transit, owed to it).
func (s *Sim) Position(i int) float64 {
	return s.Stock[i] - s.owedOut(i) + s.OnOrder(i)
}

// OnOrder is what node i has ordered and not yet received.
func (s *Sim) OnOrder(i int) float64 {
	var q float64
	for _, e := range s.in[i] {
		q += s.Owed[e]
		for _, sh := range s.pipe[e] {
			q += sh.qty
		}
		for _, m := range s.mail[e] {
			q += m.qty
		}
	}
	return q
}

// InTransit is what is on its way to node i.
func (s *Sim) InTransit(i int) float64 {
	var q float64
	for _, e := range s.in[i] {
		for _, sh := range s.pipe[e] {
			q += sh.qty
		}
	}
	return q
}

func (s *Sim) owedOut(i int) float64 {
	o := marketOwedAt(s, i)
	for _, e := range s.out[i] {
		o += s.Owed[e]
	}
	return o
}

// OwedOut is what node i owes its buyers and markets.
func (s *Sim) OwedOut(i int) float64 { return s.owedOut(i) }

// Tier is node i's distance in lanes from the nearest market.
func (s *Sim) Tier(i int) int { return s.tier[i] }

// In and Out are node i's lanes (edge indices) in and out.
func (s *Sim) In(i int) []int  { return s.in[i] }
func (s *Sim) Out(i int) []int { return s.out[i] }

// MarketsAt are the markets node i serves.
func (s *Sim) MarketsAt(i int) []int { return s.marketsAt[i] }

// LaneOpen reports edge e's capacity in period t as a part of its normal
// capacity (1 when no crisis touches it).
func (s *Sim) LaneOpen(e, t int) float64 {
	c := s.laneCap(e, t)
	if math.IsInf(c, 1) {
		return 1
	}
	base := s.Net.Edges[e].Capacity
	if base == 0 {
		base = s.nominal()
	}
	return c / base
}

// LeadNow is edge e's lead time for a shipment sent in period t.
func (s *Sim) LeadNow(e, t int) int { return s.lead(e, t) }

// NodeOpen is node i's capacity in period t as a part of its normal one.
func (s *Sim) NodeOpen(i, t int) float64 {
	c := s.nodeCap(i, t)
	if math.IsInf(c, 1) {
		return 1
	}
	base := s.Net.Nodes[i].Capacity
	if base == 0 {
		base = s.nominal()
	}
	return c / base
}
