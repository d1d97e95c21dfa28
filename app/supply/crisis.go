package supply

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/metastation/metastation/app/errs"
)

// Crisis kinds.
const (
	PortClosure     = "port_closure"     // a lane: longer lead time, less (or no) capacity
	DemandSpike     = "demand_spike"     // a market (or all): demand times Factor
	SupplierFailure = "supplier_failure" // a source or factory: capacity times Capacity
	LogisticsLoss   = "logistics_loss"   // every lane: capacity times Capacity
)

// CrisisKinds lists the kinds a person can inject.
var CrisisKinds = []string{PortClosure, DemandSpike, SupplierFailure, LogisticsLoss}

// Crisis is one disruption over the periods [Start, End).
type Crisis struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	// Lane (port closure), Node (supplier failure) or Market (demand spike;
	// empty for every market) is the scope.
	Lane   string `json:"lane,omitempty"`
	Node   string `json:"node,omitempty"`
	Market string `json:"market,omitempty"`
	// Lead is the extra lead time of shipments sent on a closed lane.
	Lead int `json:"lead,omitempty"`
	// Capacity is the part of capacity left, in [0, 1].
	Capacity float64 `json:"capacity"`
	// Factor multiplies demand in a spike, in [0, 10].
	Factor float64 `json:"factor,omitempty"`
	// Origin is who caused it: "user", "script" or "random".
	Origin string `json:"origin,omitempty"`
}

// Limits on a crisis.
const (
	MaxCrisisPeriods = 520
	MaxSpike         = 10
)

// Active reports whether c is on in period t.
func (c Crisis) Active(t int) bool { return t >= c.Start && t < c.End }

// Scope says what c hits, for people.
func (c Crisis) Scope() string {
	switch c.Kind {
	case PortClosure:
		return "lane " + c.Lane
	case SupplierFailure:
		return "node " + c.Node
	case DemandSpike:
		if c.Market == "" {
			return "every market"
		}
		return "market " + c.Market
	default:
		return "every lane"
	}
}

// Describe is one sentence about c.
func (c Crisis) Describe() string {
	switch c.Kind {
	case PortClosure:
		return fmt.Sprintf("port closure on lane %s: %.0f %% capacity, +%d periods lead time, periods %d–%d", c.Lane, 100*c.Capacity, c.Lead, c.Start, c.End-1)
	case DemandSpike:
		return fmt.Sprintf("demand spike ×%.2g at %s, periods %d–%d", c.Factor, c.Scope(), c.Start, c.End-1)
	case SupplierFailure:
		return fmt.Sprintf("supplier failure at %s: %.0f %% capacity, periods %d–%d", c.Node, 100*c.Capacity, c.Start, c.End-1)
	default:
		return fmt.Sprintf("logistics capacity loss: every lane at %.0f %%, periods %d–%d", 100*c.Capacity, c.Start, c.End-1)
	}
}

// Validate checks c against network n; every failure is errs.Invalid.
func (c Crisis) Validate(n *Network) error {
	if c.Start < 0 || c.End <= c.Start || c.End-c.Start > MaxCrisisPeriods {
		return errs.Errorf(errs.Invalid, "a crisis lasts 1 to %d periods from a start of at least 0 (got start %d, end %d)", MaxCrisisPeriods, c.Start, c.End)
	}
	capOK := c.Capacity >= 0 && c.Capacity <= 1 && !math.IsNaN(c.Capacity)
	switch c.Kind {
	case PortClosure:
		if !hasLane(n, c.Lane) {
			return errs.Errorf(errs.Invalid, "network %s has no lane %q", n.Name, c.Lane)
		}
		if c.Lead < 0 || c.Lead > MaxLead {
			return errs.Errorf(errs.Invalid, "a port closure adds 0 to %d periods of lead time, not %d", MaxLead, c.Lead)
		}
		if !capOK {
			return errs.Errorf(errs.Invalid, "the capacity left must be between 0 and 1, not %g", c.Capacity)
		}
	case SupplierFailure:
		i := n.nodeIndex(c.Node)
		if i < 0 || n.Nodes[i].Kind == Stock {
			return errs.Errorf(errs.Invalid, "a supplier failure hits a source or a factory; %q is neither in %s", c.Node, n.Name)
		}
		if !capOK {
			return errs.Errorf(errs.Invalid, "the capacity left must be between 0 and 1, not %g", c.Capacity)
		}
	case LogisticsLoss:
		if !capOK {
			return errs.Errorf(errs.Invalid, "the capacity left must be between 0 and 1, not %g", c.Capacity)
		}
	case DemandSpike:
		if c.Market != "" && n.marketIndex(c.Market) < 0 {
			return errs.Errorf(errs.Invalid, "network %s has no market %q", n.Name, c.Market)
		}
		if !(c.Factor >= 0 && c.Factor <= MaxSpike) {
			return errs.Errorf(errs.Invalid, "a demand spike multiplies demand by 0 to %d, not %g", MaxSpike, c.Factor)
		}
	default:
		return errs.Errorf(errs.Invalid, "unknown crisis %q (known: port_closure, demand_spike, supplier_failure, logistics_loss)", c.Kind)
	}
	return nil
}

func hasLane(n *Network, lane string) bool {
	for _, e := range n.Edges {
		if lane != "" && e.Lane == lane {
			return true
		}
	}
	return false
}

// Lanes lists the network's named lanes.
func (n *Network) Lanes() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range n.Edges {
		if e.Lane != "" && !seen[e.Lane] {
			seen[e.Lane] = true
			out = append(out, e.Lane)
		}
	}
	return out
}

func (n *Network) nodeIndex(id string) int {
	for i, nd := range n.Nodes {
		if nd.ID == id {
			return i
		}
	}
	return -1
}

func (n *Network) marketIndex(id string) int {
	for i, m := range n.Markets {
		if m.ID == id {
			return i
		}
	}
	return -1
}

// RandomCrises draws the random-crisis mode's disruptions for a run of n:
// each period from `from` on, with probability rate, a crisis of a kind
// the network allows starts, lasting 4 to 12 periods.
func RandomCrises(n *Network, seed uint64, from int, rate float64) []Crisis {
	rng := rand.New(rand.NewPCG(seed, 0x637269736973))
	lanes := n.Lanes()
	var failing []string
	for _, nd := range n.Nodes {
		if nd.Kind != Stock {
			failing = append(failing, nd.ID)
		}
	}
	var out []Crisis
	for t := from; t < n.Periods; t++ {
		if rng.Float64() >= rate {
			continue
		}
		c := Crisis{Start: t, End: t + 4 + rng.IntN(9), Origin: "random"}
		switch k := rng.IntN(4); {
		case k == 0 && len(lanes) > 0:
			c.Kind, c.Lane, c.Capacity, c.Lead = PortClosure, lanes[rng.IntN(len(lanes))], 0, 2+rng.IntN(5)
		case k == 1:
			c.Kind, c.Factor = DemandSpike, 1.5+rng.Float64()
		case k == 2 && len(failing) > 0:
			c.Kind, c.Node, c.Capacity = SupplierFailure, failing[rng.IntN(len(failing))], 0.25*float64(rng.IntN(2))
		default:
			c.Kind, c.Capacity = LogisticsLoss, 0.3+0.4*rng.Float64()
		}
		out = append(out, c)
	}
	return out
}
