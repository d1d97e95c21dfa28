package supply

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// orgymGolden is testdata/orgym_parity.json: OR-Gym's own environment
// (see testdata/orgym_parity.py for how it was run) on a fixed demand path
// and a fixed sequence of reorder actions.
type orgymGolden struct {
	Source  string      `json:"source"`
	Demand  []float64   `json:"demand"`
	Links   [][2]int    `json:"links"`
	Actions [][]float64 `json:"actions"`
	Runs    map[string]struct {
		Rewards     []float64   `json:"rewards"`
		Inventory   [][]float64 `json:"inventory"`
		Unfulfilled []float64   `json:"unfulfilled"`
	}
}

func loadORGymGolden(t *testing.T) orgymGolden {
	t.Helper()
	raw, err := os.ReadFile("testdata/orgym_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	var g orgymGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	var runs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &runs); err != nil {
		t.Fatal(err)
	}
	g.Runs = map[string]struct {
		Rewards     []float64   `json:"rewards"`
		Inventory   [][]float64 `json:"inventory"`
		Unfulfilled []float64   `json:"unfulfilled"`
	}{}
	for _, name := range []string{"backlog", "lost_sales"} {
		r := g.Runs[name]
		if err := json.Unmarshal(runs[name], &r); err != nil {
			t.Fatal(err)
		}
		g.Runs[name] = r
	}
	return g
}

// TestORGymParity plays the ORGym preset on OR-Gym's demand path with its
// actions and compares every period's reward (the network's profit), every
// main node's closing inventory and the unfulfilled demand with what
// OR-Gym's published NetInvMgmtMasterEnv gives, in its backlog and its
// lost-sales variants.
func TestORGymParity(t *testing.T) {
	g := loadORGymGolden(t)
	for _, name := range []string{"backlog", "lost_sales"} {
		t.Run(name, func(t *testing.T) {
			want := g.Runs[name]
			if len(want.Rewards) != 30 || len(g.Actions) != 30 {
				t.Fatalf("golden file has %d rewards and %d actions, want 30", len(want.Rewards), len(g.Actions))
			}
			n := ORGym()
			n.BackorderDemand = name == "backlog"
			n.Markets[0].Demand = Demand{Kind: "path", Path: g.Demand}
			for i, l := range g.Links {
				e := n.Edges[i]
				if e.From != itoa(l[0]) || e.To != itoa(l[1]) {
					t.Fatalf("lane %d is %s→%s, OR-Gym's reorder link is %v", i, e.From, e.To, l)
				}
			}
			s, err := NewSim(n, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			var short int
			for tt := range 30 {
				p := s.Step(g.Actions[tt], nil)
				if math.Abs(p.Reward-want.Rewards[tt]) > 1e-9 {
					t.Errorf("period %d: reward %.6f, OR-Gym %.6f", tt, p.Reward, want.Rewards[tt])
				}
				for j, id := range []string{"1", "2", "3", "4", "5", "6"} {
					if got := s.Stock[n.nodeIndex(id)]; math.Abs(got-want.Inventory[tt][j]) > 1e-9 {
						t.Errorf("period %d node %s: inventory %g, OR-Gym %g", tt, id, got, want.Inventory[tt][j])
					}
				}
				if math.Abs(p.Short[0]-want.Unfulfilled[tt]) > 1e-9 {
					t.Errorf("period %d: unfulfilled %g, OR-Gym %g", tt, p.Short[0], want.Unfulfilled[tt])
				}
				if want.Unfulfilled[tt] > 0 {
					short++
				}
				for e, q := range p.Seen {
					if p.Shipped[e] < q {
						short++ // a capped order: the path exercises OR-Gym's capping
					}
				}
			}
			if short < 5 {
				t.Errorf("the path has only %d stock-outs and capped orders; it does not exercise the rules it checks", short)
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
