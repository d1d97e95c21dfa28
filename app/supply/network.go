package supply

import (
	"fmt"
	"math"

	"github.com/metastation/metastation/app/errs"
)

// Role is one of the six agents; every node and lane belongs to one.
type Role string

// The six agents.
const (
	Supplier     Role = "supplier"
	Manufacturer Role = "manufacturer"
	Logistics    Role = "logistics"
	Distributor  Role = "distributor"
	Retailer     Role = "retailer"
	Coordinator  Role = "coordinator"
)

// Roles lists the agents in the order the page shows them.
var Roles = []Role{Supplier, Manufacturer, Logistics, Distributor, Retailer, Coordinator}

// Kind is what a node does.
type Kind string

// Node kinds: a source has unlimited raw material (up to its capacity, if
// any); a stock node holds and ships inventory; a factory turns its
// inventory into product at a yield, up to a capacity per period.
const (
	Source  Kind = "source"
	Stock   Kind = "stock"
	Factory Kind = "factory"
)

// Node is a place that holds or makes goods.
type Node struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Role   Role   `json:"role"`
	Region string `json:"region,omitempty"`
	// Init is the stock on hand at the start.
	Init float64 `json:"init"`
	// Holding is the cost per unit on hand per period.
	Holding float64 `json:"holding"`
	// BackorderCost is the cost per unit owed to downstream buyers per
	// period (the beer game charges it at every echelon).
	BackorderCost float64 `json:"backorder_cost"`
	// Capacity is what a factory can make, or a source supply, per period;
	// 0 is unlimited (sources only).
	Capacity float64 `json:"capacity"`
	// Yield is product per unit of inventory consumed, in (0, 1]; factories.
	Yield float64 `json:"yield"`
	// Operating is the cost per unit of inventory a factory feeds.
	Operating float64 `json:"operating"`
	// X, Y place the node on the page's drawing, in [0, 1].
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Edge is a lane from a supplier node to a buyer node.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Lead is the shipping time in periods (0: arrives in the period shipped).
	Lead int `json:"lead"`
	// OrderDelay is the periods an order takes to reach the supplier.
	OrderDelay int `json:"order_delay"`
	// Price is paid by the buyer per unit received from this lane.
	Price float64 `json:"price"`
	// PipeHolding is the cost per unit in transit per period.
	PipeHolding float64 `json:"pipe_holding"`
	// Capacity is what the lane can carry per period; 0 is unlimited.
	Capacity float64 `json:"capacity"`
	// Lane names the shipping lane (port closures close lanes by name).
	Lane string `json:"lane,omitempty"`
	// Share is this lane's part of its buyer's orders, among the buyer's
	// lanes (normalised); 0 everywhere means equal parts.
	Share float64 `json:"share"`
	// InitPipe are the shipments in transit at the start, arriving in
	// periods 0, 1, ...; InitOrders the orders in the mail, seen by the
	// supplier in periods 0, 1, ....
	InitPipe   []float64 `json:"init_pipe,omitempty"`
	InitOrders []float64 `json:"init_orders,omitempty"`
}

// Market is the end customer of a retail node.
type Market struct {
	ID     string `json:"id"`
	Retail string `json:"retail"`
	// Price is the retailer's revenue per unit sold.
	Price float64 `json:"price"`
	// Penalty is the cost per unit of demand not met in its period
	// (backlogged or lost).
	Penalty float64 `json:"penalty"`
	Demand  Demand  `json:"demand"`
}

// Network is a supply network and how it runs.
type Network struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Nodes   []Node   `json:"nodes"`
	Edges   []Edge   `json:"edges"`
	Markets []Market `json:"markets"`
	// Periods is the length of a run.
	Periods int `json:"periods"`
	// BackorderDemand keeps unmet market demand as backlog (else it is lost).
	BackorderDemand bool `json:"backorder_demand"`
	// BackorderOrders keeps the unfilled part of a replenishment order as a
	// backlog the supplier owes (else it is lost, as in OR-Gym).
	BackorderOrders bool `json:"backorder_orders"`
	// Discount is OR-Gym's alpha: period t's profit counts Discount^t.
	Discount float64 `json:"discount"`
}

// Limits on what a network or a crisis may ask for.
const (
	MaxLead    = 104    // two years of weekly periods
	MaxPeriods = 100000 // one run
	MaxNodes   = 64
)

// Validate reports the first thing wrong with n as an errs.Invalid error.
func (n *Network) Validate() error {
	if len(n.Nodes) == 0 || len(n.Nodes) > MaxNodes {
		return errs.Errorf(errs.Invalid, "a network has 1 to %d nodes, not %d", MaxNodes, len(n.Nodes))
	}
	if n.Periods < 1 || n.Periods > MaxPeriods {
		return errs.Errorf(errs.Invalid, "a run lasts 1 to %d periods, not %d", MaxPeriods, n.Periods)
	}
	if !(n.Discount > 0 && n.Discount <= 1) {
		return errs.Errorf(errs.Invalid, "the discount factor must be in (0, 1], not %g", n.Discount)
	}
	ids := map[string]Kind{}
	for _, nd := range n.Nodes {
		if nd.ID == "" {
			return errs.Errorf(errs.Invalid, "every node needs an id")
		}
		if _, dup := ids[nd.ID]; dup {
			return errs.Errorf(errs.Invalid, "node %q appears twice", nd.ID)
		}
		ids[nd.ID] = nd.Kind
		for _, v := range []float64{nd.Init, nd.Holding, nd.BackorderCost, nd.Capacity, nd.Operating} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return errs.Errorf(errs.Invalid, "node %q has a negative or non-finite figure", nd.ID)
			}
		}
		switch nd.Kind {
		case Source, Stock:
		case Factory:
			if !(nd.Yield > 0 && nd.Yield <= 1) {
				return errs.Errorf(errs.Invalid, "factory %q needs a yield in (0, 1], not %g", nd.ID, nd.Yield)
			}
			if nd.Capacity <= 0 {
				return errs.Errorf(errs.Invalid, "factory %q needs a positive capacity", nd.ID)
			}
		default:
			return errs.Errorf(errs.Invalid, "node %q has unknown kind %q", nd.ID, nd.Kind)
		}
	}
	buys := map[string]bool{}
	for _, e := range n.Edges {
		fk, ok1 := ids[e.From]
		tk, ok2 := ids[e.To]
		if !ok1 || !ok2 {
			return errs.Errorf(errs.Invalid, "lane %s→%s names an unknown node", e.From, e.To)
		}
		if tk == Source {
			return errs.Errorf(errs.Invalid, "lane %s→%s ships into a source", e.From, e.To)
		}
		_ = fk
		if e.Lead < 0 || e.Lead > MaxLead || e.OrderDelay < 0 || e.OrderDelay > MaxLead {
			return errs.Errorf(errs.Invalid, "lane %s→%s: lead time and order delay must be 0 to %d periods", e.From, e.To, MaxLead)
		}
		for _, v := range []float64{e.Price, e.PipeHolding, e.Capacity, e.Share} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return errs.Errorf(errs.Invalid, "lane %s→%s has a negative or non-finite figure", e.From, e.To)
			}
		}
		buys[e.To] = true
	}
	for _, nd := range n.Nodes {
		if nd.Kind != Source && !buys[nd.ID] {
			return errs.Errorf(errs.Invalid, "node %q buys from no one", nd.ID)
		}
	}
	if len(n.Markets) == 0 {
		return errs.Errorf(errs.Invalid, "a network needs at least one market")
	}
	for _, m := range n.Markets {
		if k, ok := ids[m.Retail]; !ok || k == Source {
			return errs.Errorf(errs.Invalid, "market %q is served by %q, which is not a stock node", m.ID, m.Retail)
		}
		if err := m.Demand.validate(); err != nil {
			return err
		}
	}
	return nil
}

// clone returns a deep copy, so a crisis or a reroute never changes a preset.
func (n *Network) clone() *Network {
	c := *n
	c.Nodes = append([]Node(nil), n.Nodes...)
	c.Edges = make([]Edge, len(n.Edges))
	for i, e := range n.Edges {
		e.InitPipe = append([]float64(nil), e.InitPipe...)
		e.InitOrders = append([]float64(nil), e.InitOrders...)
		c.Edges[i] = e
	}
	c.Markets = make([]Market, len(n.Markets))
	for i, m := range n.Markets {
		m.Demand.Path = append([]float64(nil), m.Demand.Path...)
		c.Markets[i] = m
	}
	return &c
}

// String names the network.
func (n *Network) String() string {
	return fmt.Sprintf("%s (%d nodes, %d lanes)", n.Name, len(n.Nodes), len(n.Edges))
}
