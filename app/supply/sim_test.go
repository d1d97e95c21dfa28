package supply

import (
	"fmt"
	"math"
	"testing"

	"github.com/metastation/metastation/app/errs"
)

// TestConservation checks at every period of every preset, under every
// policy and a random storm of crises, that stock plus goods in transit
// equals the start plus what sources supplied, minus what markets bought
// and what yield lost; and that nothing goes negative.
func TestConservation(t *testing.T) {
	for _, name := range PresetNames() {
		for _, strat := range []Strategy{Uniform("sterman", PolicySterman, false, 0), Uniform("coordinated", PolicyBaseStock, true, 1.5)} {
			t.Run(name+"/"+strat.Name, func(t *testing.T) {
				n, _ := Preset(name)
				n.Periods = 200
				crises := RandomCrises(n, 7, 5, 0.08)
				if len(crises) < 5 {
					t.Fatalf("only %d random crises", len(crises))
				}
				s, err := NewSim(n, 3, crises)
				if err != nil {
					t.Fatal(err)
				}
				tm, err := NewTeam(s, strat, nil, "")
				if err != nil {
					t.Fatal(err)
				}
				var sourced, sold, shipped float64
				for !s.Done() {
					before := s.Goods()
					p := tm.Play().Period
					var in, out float64
					for e, ed := range n.Edges {
						if n.Nodes[n.nodeIndex(ed.From)].Kind == Source {
							in += p.Shipped[e]
						}
						shipped += p.Shipped[e]
					}
					out = sum(p.Sales)
					sourced += in
					sold += out
					if got, want := s.Goods(), before+in-out; math.Abs(got-want) > 1e-6 {
						t.Fatalf("period %d: goods %.6f, want %.6f (before %.1f + sourced %.1f − sold %.1f)", p.T, got, want, before, in, out)
					}
					for i, x := range s.Stock {
						if x < -1e-9 {
							t.Fatalf("period %d: node %s stock %g", p.T, n.Nodes[i].ID, x)
						}
					}
				}
				if got, want := s.Goods(), s.StartGoods()+s.Sourced-s.Sold-s.YieldLoss; math.Abs(got-want) > 1e-6 {
					t.Fatalf("end: goods %.3f, want %.3f", got, want)
				}
				if sold == 0 || shipped == 0 {
					t.Fatalf("nothing moved: sold %g, shipped %g", sold, shipped)
				}
			})
		}
	}
}

// The beer game with Sterman's rule at every echelon and his step in
// demand makes the bullwhip: the factory's orders vary far more than the
// retailer's, and more than base-stock with shared demand lets them.
func TestBeerGameBullwhip(t *testing.T) {
	n := BeerGame()
	st, err := Play(n, 1, Uniform("sterman", PolicySterman, false, 0), nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	co, err := Play(n, 1, Uniform("coordinated", PolicyBaseStock, true, 1), nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	ratio := func(k KPIs, node string) float64 {
		for _, b := range k.Bullwhip {
			if b.Node == node {
				return b.Ratio
			}
		}
		t.Fatalf("no bullwhip for %s", node)
		return 0
	}
	sr, sf := ratio(st.KPIs, "retailer"), ratio(st.KPIs, "factory")
	cf := ratio(co.KPIs, "factory")
	t.Logf("Sterman: retailer %.2f factory %.2f cost %.0f; coordinated base-stock: factory %.2f cost %.0f", sr, sf, st.KPIs.TotalCost, cf, co.KPIs.TotalCost)
	if sf < 2*sr {
		t.Errorf("Sterman's factory bullwhip %.2f is not well above the retailer's %.2f", sf, sr)
	}
	if cf >= sf {
		t.Errorf("coordinated factory bullwhip %.2f not below Sterman's %.2f", cf, sf)
	}
	if co.KPIs.TotalCost >= st.KPIs.TotalCost {
		t.Errorf("coordinated cost %.0f not below Sterman's %.0f", co.KPIs.TotalCost, st.KPIs.TotalCost)
	}
}

// TestChenBound plays one retailer ordering from an unlimited source with
// base-stock and a smoothing or moving-average forecast over a long run,
// and checks the measured bullwhip ratio against Chen et al.'s bound: at
// least the bound (less sampling error), and close to it, since a constant
// safety stock attains it.
func TestChenBound(t *testing.T) {
	cases := []struct {
		forecast string
		lead     int
		alpha    float64
		window   int
	}{
		{"es", 1, 0.2, 0}, {"es", 3, 0.3, 0}, {"es", 2, 0.5, 0},
		{"ma", 1, 0, 5}, {"ma", 3, 0, 10}, {"ma", 4, 0, 20},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-L%d-a%.1f-p%d", c.forecast, c.lead, c.alpha, c.window), func(t *testing.T) {
			got, bound, err := MeasureChen(c.forecast, c.lead, c.alpha, c.window, 20000, 11)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("measured %.3f, bound %.3f", got, bound)
			if got < bound*0.97 {
				t.Errorf("bullwhip %.3f below Chen's lower bound %.3f", got, bound)
			}
			if got > bound*1.08 {
				t.Errorf("bullwhip %.3f far above the bound %.3f that a constant safety stock attains", got, bound)
			}
		})
	}
}

// Impossible crises and networks are refused with errs.Invalid and change
// nothing.
func TestCrisisValidation(t *testing.T) {
	n := Global()
	s, err := NewSim(n, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := []Crisis{
		{Kind: PortClosure, Lane: "pacific", Start: 1, End: 5, Capacity: -1},
		{Kind: PortClosure, Lane: "pacific", Start: 1, End: 5, Lead: 1e9},
		{Kind: PortClosure, Lane: "suez", Start: 1, End: 5},
		{Kind: SupplierFailure, Node: "dc", Start: 1, End: 5},
		{Kind: DemandSpike, Factor: 1e6, Start: 1, End: 5},
		{Kind: DemandSpike, Factor: math.NaN(), Start: 1, End: 5},
		{Kind: LogisticsLoss, Capacity: 0.5, Start: 5, End: 5},
		{Kind: LogisticsLoss, Capacity: 0.5, Start: 1, End: 1e9},
		{Kind: "meteor", Start: 1, End: 5},
	}
	for _, c := range bad {
		t.Run(c.Kind, func(t *testing.T) {
			err := s.AddCrisis(c)
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("crisis %+v: error %v, want an invalid-input error", c, err)
			}
		})
	}
	if len(s.Crises()) != 0 {
		t.Fatalf("refused crises were kept: %v", s.Crises())
	}
	bn := Global()
	bn.Edges[2].Lead = 1e9
	if _, err := NewSim(bn, 1, nil); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("lead time 10^9: %v", err)
	}
}

func TestRation(t *testing.T) {
	cases := []struct {
		want, weight []float64
		avail        float64
		got          []float64
	}{
		{[]float64{10, 10}, []float64{10, 10}, 30, []float64{10, 10}},
		{[]float64{10, 30}, []float64{10, 30}, 20, []float64{5, 15}},
		{[]float64{4, 30}, []float64{1, 1}, 20, []float64{4, 16}},
		{[]float64{10, 10}, []float64{3, 1}, 8, []float64{6, 2}},
		{[]float64{0, 10}, []float64{1, 1}, 5, []float64{0, 5}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v %v %g", c.want, c.weight, c.avail), func(t *testing.T) {
			got := ration(c.want, c.weight, c.avail)
			for i := range got {
				if math.Abs(got[i]-c.got[i]) > 1e-9 {
					t.Fatalf("ration(%v, %v, %g) = %v, want %v", c.want, c.weight, c.avail, got, c.got)
				}
			}
		})
	}
}
