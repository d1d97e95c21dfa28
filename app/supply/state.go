package supply

// RoomState is the crisis room's snapshot: the network with its stock and
// flows, the agents and their latest messages, the crises with their
// KPIs, the series for the charts (the twin's beside the run's), and the
// comparisons.
type RoomState struct {
	// Seq orders the snapshots: a page keeps the newest whichever way it
	// got them (the API's answer or the topic).
	Seq      int64    `json:"seq"`
	Room     int64    `json:"room"`
	Preset   string   `json:"preset"`
	Title    string   `json:"title"`
	Seed     uint64   `json:"seed"`
	T        int      `json:"t"`
	Periods  int      `json:"periods"`
	Paused   bool     `json:"paused"`
	Finished bool     `json:"finished"`
	TickMS   int64    `json:"tick_ms"`
	Random   float64  `json:"random"`
	Strategy Strategy `json:"strategy"`
	Learned  string   `json:"learned,omitempty"`
	// NextIn is the seconds until a finished room gives way to the next
	// (same settings, next seed); 0 while it plays or when it stays.
	NextIn float64 `json:"next_in,omitempty"`

	Nodes  []NodeState  `json:"nodes"`
	Edges  []EdgeState  `json:"edges"`
	Agents []AgentState `json:"agents"`
	// Messages are the latest agent messages, oldest first.
	Messages []Message `json:"messages"`
	// Narration is what each node's agent decided last period and why.
	Narration []Decision      `json:"narration"`
	Crises    []CrisisState   `json:"crises"`
	KPIs      KPIs            `json:"kpis"`
	Twin      KPIs            `json:"twin"`
	Series    Series          `json:"series"`
	Choices   Choices         `json:"choices"`
	Compare   CompareProgress `json:"compare"`
	Results   []Comparison    `json:"results"`
}

// NodeState is one node now, and its twin.
type NodeState struct {
	Node
	Stock     float64 `json:"stock"`
	Owed      float64 `json:"owed"`
	OnOrder   float64 `json:"on_order"`
	TwinStock float64 `json:"twin_stock"`
	TwinOwed  float64 `json:"twin_owed"`
	Open      float64 `json:"open"` // capacity left, part of normal
	Disrupted bool    `json:"disrupted"`
}

// EdgeState is one lane now.
type EdgeState struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Lane      string  `json:"lane"`
	Lead      int     `json:"lead"`
	LeadNow   int     `json:"lead_now"`
	Open      float64 `json:"open"`
	Ordered   float64 `json:"ordered"`
	Shipped   float64 `json:"shipped"`
	InTransit float64 `json:"in_transit"`
	Rerouted  bool    `json:"rerouted"`
}

// AgentState is one of the six agents.
type AgentState struct {
	Role   Role     `json:"role"`
	Policy string   `json:"policy"`
	Nodes  []string `json:"nodes"`
	Last   *Message `json:"last,omitempty"` // the latest message it sent
}

// CrisisState is a crisis of the room, with its KPIs so far.
type CrisisState struct {
	Crisis
	Text   string         `json:"text"`
	Scope  string         `json:"scope"`
	Active bool           `json:"active"`
	KPI    *DisruptionKPI `json:"kpi,omitempty"`
}

// Series are the chart lines of the last Window periods.
type Series struct {
	T           []int     `json:"t"`
	Demand      []float64 `json:"demand"`
	Cost        []float64 `json:"cost"`
	TwinCost    []float64 `json:"twin_cost"`
	CumCost     []float64 `json:"cum_cost"`
	TwinCumCost []float64 `json:"twin_cum_cost"`
	Fill        []float64 `json:"fill"` // per period: on time / demand
	TwinFill    []float64 `json:"twin_fill"`
	Backlog     []float64 `json:"backlog"`
	TwinBacklog []float64 `json:"twin_backlog"`
	// Orders per ordering node, for the bullwhip chart, keyed by node id.
	Orders map[string][]float64 `json:"orders"`
	// Stock per node.
	Stock map[string][]float64 `json:"stock"`
}

// Choices are what the page's controls offer.
type Choices struct {
	Presets   []string   `json:"presets"`
	Scenarios []Scenario `json:"scenarios"`
	Lanes     []string   `json:"lanes"`
	Failable  []string   `json:"failable"` // sources and factories
	Markets   []string   `json:"markets"`
	Kinds     []string   `json:"kinds"`
	Policies  []string   `json:"policies"`
}

// stateLocked builds the snapshot (s.mu held).
func (s *Service) stateLocked() RoomState {
	r := s.room
	n := r.net
	t := r.run.T
	s.seq++
	st := RoomState{Seq: s.seq, Room: r.id, Preset: n.Name, Title: n.Title, Seed: r.seed, T: t, Periods: n.Periods, Paused: r.paused,
		Finished: r.finished(), TickMS: s.cfg.Tick.Milliseconds(), Random: r.random, Strategy: r.strat, Learned: r.learnedLabel,
		Messages: append([]Message(nil), r.messages...), Narration: r.last.Decisions, Compare: s.progress, Results: s.comparisonsLocked()}
	if r.finished() && s.cfg.Linger > 0 && r.idle >= 0 {
		st.NextIn = float64(s.cfg.Linger-r.idle) * s.cfg.Tick.Seconds()
	}
	for i, nd := range n.Nodes {
		ns := NodeState{Node: nd, Stock: r.run.Stock[i], Owed: r.run.OwedOut(i), OnOrder: r.run.OnOrder(i),
			TwinStock: r.twin.Stock[i], TwinOwed: r.twin.OwedOut(i), Open: 1}
		if nd.Kind != Stock {
			ns.Open = r.run.NodeOpen(i, t)
		}
		ns.Disrupted = r.runTeam.disrupted(i, t)
		st.Nodes = append(st.Nodes, ns)
	}
	for e, ed := range n.Edges {
		es := EdgeState{From: ed.From, To: ed.To, Lane: ed.Lane, Lead: ed.Lead, LeadNow: r.run.LeadNow(e, t), Open: r.run.LaneOpen(e, t),
			Rerouted: r.runTeam.rerouted[e]}
		for _, sh := range r.run.pipe[e] {
			es.InTransit += sh.qty
		}
		if p := r.last.Period; len(p.Shipped) > e {
			es.Ordered, es.Shipped = p.Ordered[e], p.Shipped[e]
		}
		st.Edges = append(st.Edges, es)
	}
	for _, role := range Roles {
		a := AgentState{Role: role, Policy: "—"}
		switch role {
		case Coordinator:
			a.Policy = "off"
			if r.strat.Coordinated {
				a.Policy = "shares POS demand, rations, reroutes"
			}
		case Logistics:
			a.Policy = "runs the lanes"
			a.Nodes = n.Lanes()
		case Supplier:
			a.Policy = "fills orders within capacity"
		default:
			a.Policy = r.strat.Policies[role]
		}
		for _, nd := range n.Nodes {
			if nd.Role == role {
				a.Nodes = append(a.Nodes, nd.ID)
			}
		}
		for i := len(r.messages) - 1; i >= 0; i-- {
			if r.messages[i].From == role {
				m := r.messages[i]
				a.Last = &m
				break
			}
		}
		st.Agents = append(st.Agents, a)
	}
	crises := r.run.Crises()
	st.KPIs = r.runK.Compute(r.run, r.twinK, crises)
	st.Twin = r.twinK.Compute(r.twin, nil, nil)
	for _, c := range crises {
		cs := CrisisState{Crisis: c, Text: c.Describe(), Scope: c.Scope(), Active: c.Active(t)}
		for i := range st.KPIs.Disruptions {
			if st.KPIs.Disruptions[i].Crisis.ID == c.ID {
				d := st.KPIs.Disruptions[i]
				cs.KPI = &d
			}
		}
		st.Crises = append(st.Crises, cs)
	}
	st.Series = series(r, s.cfg.Window)
	st.Choices = Choices{Presets: PresetNames(), Scenarios: Scenarios(), Lanes: n.Lanes(), Kinds: CrisisKinds, Policies: PolicyNames}
	for _, nd := range n.Nodes {
		if nd.Kind != Stock {
			st.Choices.Failable = append(st.Choices.Failable, nd.ID)
		}
	}
	for _, m := range n.Markets {
		st.Choices.Markets = append(st.Choices.Markets, m.ID)
	}
	return st
}

func series(r *room, window int) Series {
	k, tw := r.runK, r.twinK
	from := max(0, k.Len()-window)
	s := Series{Orders: map[string][]float64{}, Stock: map[string][]float64{}}
	var cum, tcum float64
	for t := 0; t < k.Len(); t++ {
		cum += k.Cost[t]
		tcum += tw.Cost[t]
		if t < from {
			continue
		}
		s.T = append(s.T, t)
		s.Demand = append(s.Demand, k.Demand[t])
		s.Cost, s.TwinCost = append(s.Cost, k.Cost[t]), append(s.TwinCost, tw.Cost[t])
		s.CumCost, s.TwinCumCost = append(s.CumCost, cum), append(s.TwinCumCost, tcum)
		s.Fill, s.TwinFill = append(s.Fill, ratio(k.OnTime[t], k.Demand[t])), append(s.TwinFill, ratio(tw.OnTime[t], tw.Demand[t]))
		s.Backlog, s.TwinBacklog = append(s.Backlog, k.Backlog[t]), append(s.TwinBacklog, tw.Backlog[t])
	}
	for i, nd := range r.net.Nodes {
		if nd.Kind == Source {
			continue
		}
		s.Orders[nd.ID] = append([]float64(nil), k.Orders[i][from:]...)
		s.Stock[nd.ID] = append([]float64(nil), k.Stock[i][from:]...)
	}
	return s
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 1
	}
	return a / b
}
