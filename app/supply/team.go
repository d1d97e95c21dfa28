package supply

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/metastation/metastation/app/marl"
)

// Message is one message between the six agents, in the agent protocol's
// terms: who sent it, to whom (empty: everyone), what kind, and its
// content. Kinds: order, forecast, capacity_alert, reroute_proposal,
// reroute_decision, allocation.
type Message struct {
	T     int     `json:"t"`
	From  Role    `json:"from"`
	To    Role    `json:"to,omitempty"`
	Kind  string  `json:"kind"`
	Text  string  `json:"text"`
	Lines []Line  `json:"lines,omitempty"`
	Value float64 `json:"value,omitempty"`
}

// Line is one lane's figure in a message (an order, an allocation).
type Line struct {
	From string  `json:"from"`
	To   string  `json:"to"`
	Qty  float64 `json:"qty"`
}

// Decision is what one node's agent decided this period and why.
type Decision struct {
	Node   string  `json:"node"`
	Role   Role    `json:"role"`
	Policy string  `json:"policy"`
	Order  float64 `json:"order"`
	Why    string  `json:"why"`
}

// Turn is one period of play.
type Turn struct {
	Period    Period     `json:"period"`
	Messages  []Message  `json:"messages"`
	Decisions []Decision `json:"decisions"`
}

// Team is the six agents running a Sim with a Strategy.
type Team struct {
	Sim   *Sim
	Strat Strategy

	policies  []Policy // per node; nil for sources
	names     []string // policy name per node
	mean0     []float64
	mean      []float64
	cover     []float64
	baseShare []float64 // per edge, normalised among the buyer's lanes
	share     []float64 // per edge, as the coordinator has rerouted
	rerouted  []bool    // per edge
	incoming  []float64 // per node: the demand signal seen last period
	lastOrder []float64
	pos       []float64 // per market: last period's demand
	alerted   map[string]bool
}

// NewTeam builds the agents of strat on s. learned is the controller the
// "learned" policy asks (nil when none is available), label names it.
func NewTeam(s *Sim, strat Strategy, learned marl.Controller, label string) (*Team, error) {
	if err := strat.Validate(); err != nil {
		return nil, err
	}
	n := s.Net
	tm := &Team{Sim: s, Strat: strat, policies: make([]Policy, len(n.Nodes)), names: make([]string, len(n.Nodes)),
		incoming: make([]float64, len(n.Nodes)), lastOrder: make([]float64, len(n.Nodes)), pos: make([]float64, len(n.Markets)),
		rerouted: make([]bool, len(n.Edges)), alerted: map[string]bool{}}
	tm.baseShare = baseShares(s)
	tm.share = slices.Clone(tm.baseShare)
	tm.mean0 = flows(s, tm.baseShare, func(d Demand) float64 { return d.MeanAt(0) })
	tm.mean = flows(s, tm.baseShare, func(d Demand) float64 { return d.LongRunMean() })
	tm.cover = make([]float64, len(n.Nodes))
	for i, nd := range n.Nodes {
		if nd.Kind == Source {
			continue
		}
		for _, e := range s.in[i] {
			tm.cover[i] += tm.baseShare[e] * float64(n.Edges[e].Lead+n.Edges[e].OrderDelay)
		}
		tm.cover[i]++ // the review period
		p, err := strat.newPolicy(nd.Role, tm.mean0[i], tm.mean[i], learned, label, uint64(i))
		if err != nil {
			return nil, err
		}
		tm.policies[i] = p
		tm.names[i] = strat.Policies[nd.Role]
		if tm.names[i] == "" {
			tm.names[i] = PolicyBaseStock
		}
		tm.incoming[i] = tm.mean0[i]
		tm.lastOrder[i] = tm.mean0[i]
	}
	for mi, m := range n.Markets {
		tm.pos[mi] = m.Demand.MeanAt(0)
	}
	return tm, nil
}

// baseShares normalises every buyer's lane shares (equal when unset).
func baseShares(s *Sim) []float64 {
	out := make([]float64, len(s.Net.Edges))
	for i := range s.Net.Nodes {
		var sum float64
		for _, e := range s.in[i] {
			sum += s.Net.Edges[e].Share
		}
		for _, e := range s.in[i] {
			if sum == 0 {
				out[e] = 1 / float64(len(s.in[i]))
			} else {
				out[e] = s.Net.Edges[e].Share / sum
			}
		}
	}
	return out
}

// flows is each node's normal flow: its markets' demand plus what its
// buyers' shares send it, computed from the market upstream.
func flows(s *Sim, share []float64, mean func(Demand) float64) []float64 {
	n := s.Net
	f := make([]float64, len(n.Nodes))
	order := make([]int, len(n.Nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return s.tier[a] - s.tier[b] })
	for _, i := range order {
		for _, mi := range s.marketsAt[i] {
			f[i] += mean(n.Markets[mi].Demand)
		}
		for _, e := range s.in[i] {
			f[n.nodeIndex(n.Edges[e].From)] += f[i] * share[e]
		}
	}
	return f
}

// Play decides every node's order, lets the coordinator act, and plays
// the period.
func (tm *Team) Play() Turn {
	s, n := tm.Sim, tm.Sim.Net
	t := s.T
	var msgs []Message
	msgs = append(msgs, tm.alerts(t)...)
	if tm.Strat.Coordinated {
		msgs = append(msgs, tm.reroute(t)...)
		var total float64
		for _, d := range tm.pos {
			total += d
		}
		msgs = append(msgs, Message{T: t, From: Coordinator, Kind: "forecast", Value: total,
			Text: fmt.Sprintf("point-of-sale demand last period: %.0f; everyone forecasts from it", total)})
	}
	var totalPOS float64
	for _, d := range tm.pos {
		totalPOS += d
	}
	var totalMean float64
	for _, m := range n.Markets {
		totalMean += m.Demand.LongRunMean()
	}
	orders := make([]float64, len(n.Edges))
	decisions := make([]Decision, 0, len(n.Nodes))
	for i, nd := range n.Nodes {
		if tm.policies[i] == nil {
			continue
		}
		v := View{T: t, Node: nd.ID, Stock: s.Stock[i], Owed: s.OwedOut(i), OnOrder: s.OnOrder(i), InTransit: s.InTransit(i),
			Incoming: tm.incoming[i], Shared: tm.Strat.Coordinated, Mean: tm.mean[i], Cover: tm.cover[i], Tier: s.tier[i],
			LastOrder: tm.lastOrder[i], Disrupted: tm.disrupted(i, t)}
		v.Position = v.Stock - v.Owed + v.OnOrder
		if totalMean > 0 {
			v.POS = totalPOS * tm.mean[i] / totalMean
		}
		q, why := tm.policies[i].Order(v)
		q = math.RoundToEven(q)
		tm.lastOrder[i] = q
		for _, e := range s.in[i] {
			orders[e] = q * tm.share[e]
		}
		decisions = append(decisions, Decision{Node: nd.ID, Role: nd.Role, Policy: tm.names[i], Order: q, Why: why})
	}
	var priority []float64
	if tm.Strat.Coordinated {
		priority = make([]float64, len(n.Edges))
		for e, ed := range n.Edges {
			b := n.nodeIndex(ed.To)
			priority[e] = orders[e] + s.Owed[e] + s.OwedOut(b)*tm.share[e]
		}
	}
	msgs = append(msgs, orderMessages(s, t, orders)...)
	p := s.Step(orders, priority)
	if tm.Strat.Coordinated {
		msgs = append(msgs, allocationMessages(s, t, p)...)
	}
	// What each node saw this period is its demand signal for the next.
	for i := range tm.incoming {
		if tm.policies[i] == nil {
			continue
		}
		var x float64
		for _, e := range s.out[i] {
			x += p.New[e]
		}
		for _, mi := range s.marketsAt[i] {
			x += p.Demand[mi]
		}
		tm.incoming[i] = x
	}
	copy(tm.pos, p.Demand)
	return Turn{Period: p, Messages: msgs, Decisions: decisions}
}

// disrupted reports whether a crisis touches node i or one of its lanes.
func (tm *Team) disrupted(i, t int) bool {
	s := tm.Sim
	if s.Net.Nodes[i].Kind != Stock && s.NodeOpen(i, t) < 1 {
		return true
	}
	for _, e := range s.in[i] {
		if s.LaneOpen(e, t) < 1 || s.LeadNow(e, t) > s.Net.Edges[e].Lead {
			return true
		}
	}
	return false
}

// alerts are the capacity alerts of crises starting or ending now: the
// owner of what is hit tells the coordinator (coordinated) or its buyers.
func (tm *Team) alerts(t int) []Message {
	var out []Message
	for _, c := range tm.Sim.crises {
		key := fmt.Sprintf("%s|%d|%d|%s", c.Kind, c.Start, c.End, c.Scope())
		var text string
		switch {
		case c.Active(t) && !tm.alerted[key]:
			tm.alerted[key] = true
			text = "alert: " + c.Describe()
		case !c.Active(t) && tm.alerted[key]:
			delete(tm.alerted, key)
			text = "cleared: " + c.Describe()
		default:
			continue
		}
		from := Logistics
		switch c.Kind {
		case SupplierFailure:
			from = tm.Sim.Net.Nodes[tm.Sim.Net.nodeIndex(c.Node)].Role
		case DemandSpike:
			from = Retailer
		}
		to := Coordinator
		if !tm.Strat.Coordinated {
			to = "" // no one gathers the news: it goes out to whoever listens
		}
		out = append(out, Message{T: t, From: from, To: to, Kind: "capacity_alert", Text: text})
	}
	return out
}

// reroute moves a buyer's orders off lanes that a crisis has closed or cut
// below half (or whose supplier has), onto its open lanes, cancelling
// what the impaired lane still owes; and back when it clears.
func (tm *Team) reroute(t int) []Message {
	s, n := tm.Sim, tm.Sim.Net
	var out []Message
	for i := range n.Nodes {
		if len(s.in[i]) < 2 {
			continue
		}
		impaired := map[int]bool{}
		var open float64
		for _, e := range s.in[i] {
			sup := n.nodeIndex(n.Edges[e].From)
			bad := s.LaneOpen(e, t) < 0.5 || s.LeadNow(e, t) > 2*max(1, n.Edges[e].Lead) ||
				(n.Nodes[sup].Kind != Stock && s.NodeOpen(sup, t) < 0.5)
			if bad {
				impaired[e] = true
			} else {
				open += tm.baseShare[e]
			}
		}
		if open == 0 {
			continue // nowhere to go
		}
		for _, e := range s.in[i] {
			ed := n.Edges[e]
			switch {
			case impaired[e] && !tm.rerouted[e]:
				tm.rerouted[e] = true
				cancelled := s.Cancel(e)
				out = append(out,
					Message{T: t, From: Logistics, To: Coordinator, Kind: "reroute_proposal",
						Text: fmt.Sprintf("lane %s (%s→%s) is impaired; propose moving its %.0f %% of %s's orders to the open lanes", ed.Lane, ed.From, ed.To, 100*tm.baseShare[e], ed.To)},
					Message{T: t, From: Coordinator, To: Logistics, Kind: "reroute_decision", Value: cancelled,
						Text: fmt.Sprintf("approved: %s orders only on open lanes; %.0f units owed on %s cancelled and reordered", ed.To, cancelled, ed.Lane)})
			case !impaired[e] && tm.rerouted[e]:
				tm.rerouted[e] = false
				out = append(out, Message{T: t, From: Coordinator, To: Logistics, Kind: "reroute_decision",
					Text: fmt.Sprintf("lane %s is open again: %s's orders go back to their usual shares", ed.Lane, ed.To)})
			}
		}
		for _, e := range s.in[i] {
			if tm.rerouted[e] {
				tm.share[e] = 0
			} else {
				tm.share[e] = tm.baseShare[e] / open
			}
		}
	}
	return out
}

// orderMessages is one "order" message per pair of agents with the lanes'
// orders, from the buyer's agent to the supplier's.
func orderMessages(s *Sim, t int, orders []float64) []Message {
	n := s.Net
	type pair struct{ from, to Role }
	byPair := map[pair][]Line{}
	var keys []pair
	for e, ed := range n.Edges {
		k := pair{n.Nodes[n.nodeIndex(ed.To)].Role, n.Nodes[n.nodeIndex(ed.From)].Role}
		if _, ok := byPair[k]; !ok {
			keys = append(keys, k)
		}
		byPair[k] = append(byPair[k], Line{From: ed.To, To: ed.From, Qty: math.RoundToEven(orders[e])})
	}
	out := make([]Message, 0, len(keys))
	for _, k := range keys {
		lines := byPair[k]
		parts := make([]string, len(lines))
		var total float64
		for i, l := range lines {
			parts[i] = fmt.Sprintf("%s orders %.0f from %s", l.From, l.Qty, l.To)
			total += l.Qty
		}
		out = append(out, Message{T: t, From: k.from, To: k.to, Kind: "order", Lines: lines, Value: total, Text: strings.Join(parts, "; ")})
	}
	return out
}

// allocationMessages tell a supplier's agent how the coordinator rationed
// what it could not fill.
func allocationMessages(s *Sim, t int, p Period) []Message {
	n := s.Net
	var out []Message
	for k, nd := range n.Nodes {
		if len(s.out[k]) < 2 {
			continue
		}
		var lines []Line
		short := false
		for _, e := range s.out[k] {
			lines = append(lines, Line{From: nd.ID, To: n.Edges[e].To, Qty: p.Shipped[e]})
			if p.Shipped[e] < p.Seen[e]-1e-9 {
				short = true
			}
		}
		if !short {
			continue
		}
		parts := make([]string, len(lines))
		for i, l := range lines {
			parts[i] = fmt.Sprintf("%.0f to %s", l.Qty, l.To)
		}
		out = append(out, Message{T: t, From: Coordinator, To: nd.Role, Kind: "allocation", Lines: lines,
			Text: fmt.Sprintf("%s cannot fill every order: ship %s (buyers with backlogs first)", nd.ID, strings.Join(parts, ", "))})
	}
	return out
}
