package analytics

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/metastation/metastation/app/bus"
)

// Showcase is a seeded population of stand-in agents that publish real
// envelopes on the bus ("showcase.<subsystem>" topics, ids "showcase:<role>-NN"),
// so that the agent network has something to show before every subsystem
// exists. Its topology comes from the seed; the network page labels its
// agents as showcase.
type Showcase struct {
	bus  *bus.Bus
	seed int64

	Agents []ShowcaseAgent
	Edges  [][2]int // sender and receiver indexes into Agents
	// Tick is the time between bursts of messages; default 50ms. PerTick
	// messages go out each tick: half in turn over every edge, so each edge
	// is live every few seconds, half on edges drawn by weight.
	Tick    time.Duration
	PerTick int
}

// ShowcaseAgent is one stand-in agent.
type ShowcaseAgent struct {
	ID        string `json:"id"`
	Subsystem string `json:"subsystem"`
	Role      string `json:"role"`
	Kind      string `json:"kind"` // what it sends
}

// ShowcaseMessage is the payload of a showcase envelope.
type ShowcaseMessage struct {
	Showcase bool    `json:"showcase"`
	N        uint64  `json:"n"`
	Value    float64 `json:"value"`
}

var showcaseRoles = []struct {
	sub, role, kind string
	count           int
}{
	{"tournament", "strategy", "order", 14},
	{"market", "market-maker", "quote", 5},
	{"market", "noise-traders", "order", 3},
	{"market", "value-funds", "order", 3},
	{"rl", "learner", "policy", 7},
	{"synth", "generator", "batch", 5},
	{"synth", "fraud-detector", "alert", 3},
	{"supply", "supplier", "shipment", 6},
	{"supply", "warehouse", "stock", 4},
	{"research", "analyst", "memo", 6},
}

// talksTo is which subsystems a subsystem's agents address, besides their own.
var talksTo = map[string][]string{
	"tournament": {"market", "research", "rl"},
	"market":     {"tournament", "market"},
	"rl":         {"tournament", "market"},
	"synth":      {"synth", "research"},
	"supply":     {"supply", "synth"},
	"research":   {"tournament", "research"},
}

// NewShowcase builds the population from seed: 56 agents and about 280 edges.
func NewShowcase(b *bus.Bus, seed int64) *Showcase {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5c0ca5e))
	s := &Showcase{bus: b, seed: seed, Tick: 50 * time.Millisecond, PerTick: 12}
	bySub := map[string][]int{}
	for _, r := range showcaseRoles {
		for i := 1; i <= r.count; i++ {
			bySub[r.sub] = append(bySub[r.sub], len(s.Agents))
			s.Agents = append(s.Agents, ShowcaseAgent{ID: fmt.Sprintf("showcase:%s-%02d", r.role, i),
				Subsystem: r.sub, Role: r.role, Kind: r.kind})
		}
	}
	seen := map[[2]int]bool{}
	for i, a := range s.Agents {
		peers := 4 + rng.IntN(3)
		for tries := 0; peers > 0 && tries < 50; tries++ {
			subs := talksTo[a.Subsystem]
			pool := bySub[subs[rng.IntN(len(subs))]]
			j := pool[rng.IntN(len(pool))]
			if j == i || seen[[2]int{i, j}] {
				continue
			}
			seen[[2]int{i, j}] = true
			s.Edges = append(s.Edges, [2]int{i, j})
			peers--
		}
	}
	return s
}

// Run publishes the population's messages until ctx ends.
func (s *Showcase) Run(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(uint64(s.seed), 0x7a1c))
	// Edge weights: a few busy pairs, many quiet ones.
	weights := make([]float64, len(s.Edges))
	var total float64
	for i := range weights {
		weights[i] = rng.ExpFloat64()
		total += weights[i]
	}
	tick := time.NewTicker(s.Tick)
	defer tick.Stop()
	var n uint64
	next := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for k := 0; k < s.PerTick; k++ {
			var e int
			if k%2 == 0 {
				e = next
				next = (next + 1) % len(s.Edges)
			} else {
				x := rng.Float64() * total
				for e = 0; e < len(weights)-1 && x > weights[e]; e++ {
					x -= weights[e]
				}
			}
			from, to := s.Agents[s.Edges[e][0]], s.Agents[s.Edges[e][1]]
			n++
			s.bus.Publish(bus.Envelope{Topic: "showcase." + from.Subsystem, From: from.ID, To: to.ID, Kind: from.Kind,
				Payload: ShowcaseMessage{Showcase: true, N: n, Value: rng.NormFloat64()}})
		}
	}
}
