package supply

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
)

// TestCompare runs a small comparison and checks its bookkeeping: every
// arm has a cost per seed, the pairs are computed from those costs, the
// intervals contain their estimates, and Holm never lowers a p-value.
func TestCompare(t *testing.T) {
	c, err := Compare(context.Background(), CompareConfig{Scenario: "port-closure", Seeds: 6, TuneSeeds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Arms) != 3 || len(c.Paired) != 3 {
		t.Fatalf("%d arms and %d pairs, want 3 and 3 without a learned policy", len(c.Arms), len(c.Paired))
	}
	for _, a := range c.Arms {
		if len(a.Costs) != 6 || a.CostCI95 <= 0 || a.Disruptions != 6 {
			t.Errorf("arm %s: %d costs, CI %g, %d disruptions", a.Arm, len(a.Costs), a.CostCI95, a.Disruptions)
		}
	}
	p, _ := c.Pair(ArmCoordinated, ArmUncoordinated)
	co, _ := c.Arm(ArmCoordinated)
	un, _ := c.Arm(ArmUncoordinated)
	if want := co.Cost / un.Cost; math.Abs(p.Ratio-want) > 1e-9 {
		t.Errorf("ratio %g, want %g", p.Ratio, want)
	}
	if !(p.RatioLo <= p.Ratio && p.Ratio <= p.RatioHi) {
		t.Errorf("ratio %g outside its interval [%g, %g]", p.Ratio, p.RatioLo, p.RatioHi)
	}
	for _, q := range c.Paired {
		if q.PHolm < q.P {
			t.Errorf("%s/%s: Holm p %g below raw %g", q.Arm, q.Versus, q.PHolm, q.P)
		}
	}
	t.Log(c.Summary())
	if _, err := Compare(context.Background(), CompareConfig{Scenario: "port-closure", Seeds: 1}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("1 seed: %v", err)
	}
	if _, err := Compare(context.Background(), CompareConfig{Scenario: "atlantis", Seeds: 5}); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("unknown scenario: %v", err)
	}
}

func TestStats(t *testing.T) {
	if got := holm([]float64{0.01, 0.04, 0.03}); math.Abs(got[0]-0.03) > 1e-12 || math.Abs(got[2]-0.06) > 1e-12 || math.Abs(got[1]-0.06) > 1e-12 {
		t.Errorf("holm = %v, want [0.03 0.06 0.06]", got)
	}
	// A paired t-test of differences 1, 2, 3: t = 2/(1/√3) = 3.464, df 2.
	if p := pairedT([]float64{1, 2, 3}); math.Abs(p-0.0742) > 5e-4 {
		t.Errorf("paired t p = %.4f, want 0.0742", p)
	}
	m, h := meanCI95([]float64{1, 2, 3})
	if m != 2 || math.Abs(h-2.484) > 1e-3 {
		t.Errorf("meanCI95 = %g ± %g, want 2 ± 2.484", m, h)
	}
}

// recorder is a controller that records the observations it is given and
// always picks one action.
type recorder struct {
	action int
	obs    [][]float64
}

func (r *recorder) Actions(obs [][]float64, state []float64, avail [][]bool, greedy bool, rng *rand.Rand) []int {
	r.obs = obs
	return []int{r.action, r.action, r.action, r.action}
}

// The learned policy hands a controller a node's state as marl's supply
// world would (units of mean demand) and maps its delta back.
func TestLearnedMapping(t *testing.T) {
	rec := &recorder{action: len(marl.SupplyDeltas) - 1} // the largest delta, +8 at mean 8
	l := &Learned{C: rec, Label: "test"}
	v := View{Stock: 40, Owed: 10, OnOrder: 60, Position: 90, InTransit: 50, Incoming: 22, Mean: 20, LastOrder: 18, Tier: 1, Disrupted: true}
	q, why := l.Order(v)
	want := []float64{2, 0.5, 1.1, 2.5, 0.9, 4.5, 1}
	for i, x := range want {
		if math.Abs(rec.obs[1][i]-x) > 1e-12 {
			t.Fatalf("observation %v, want %v", rec.obs[1], want)
		}
	}
	if q != 22+20 {
		t.Errorf("order %g, want incoming 22 + delta 8·20/8 = 42 (%s)", q, why)
	}
}

// A learner trained briefly on marl's supply world runs the global
// network as the learned arm.
func TestTrainLearnedPlays(t *testing.T) {
	c, label, err := TrainLearned(context.Background(), "qmix", 3, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Play(Global(), 1, Uniform(ArmLearned, PolicyLearned, false, 0), nil, c, label)
	if err != nil {
		t.Fatal(err)
	}
	if r.KPIs.Periods != 80 || r.KPIs.TotalCost <= 0 {
		t.Fatalf("learned run: %+v", r.KPIs)
	}
	if _, err := NewTeam(mustSim(t, Global()), Uniform("x", PolicyLearned, false, 0), nil, ""); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("learned without a controller: %v", err)
	}
}

func mustSim(t *testing.T, n *Network) *Sim {
	t.Helper()
	s, err := NewSim(n, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A port closure with coordination reroutes the DC's orders to Europe and
// says so on the agent protocol; the run recovers and its disruption KPIs
// are measured against the twin.
func TestPortClosureRerouteAndRecovery(t *testing.T) {
	n := Global()
	crisis := Crisis{Kind: PortClosure, Lane: "pacific", Start: 20, End: 30, Capacity: 0, Lead: 4}
	s, err := NewSim(n, 2, []Crisis{crisis})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := NewTeam(s, Uniform("c", PolicyBaseStock, true, 1.5), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	k := NewTracker(n)
	var euDuring, euBefore float64
	for !s.Done() {
		turn := tm.Play()
		k.Add(s, turn.Period)
		for _, m := range turn.Messages {
			kinds[m.Kind]++
		}
		if turn.Period.T >= 22 && turn.Period.T < 30 {
			euDuring += turn.Period.Ordered[3] / 8
		}
		if turn.Period.T >= 10 && turn.Period.T < 18 {
			euBefore += turn.Period.Ordered[3] / 8
		}
	}
	for _, kind := range []string{"order", "forecast", "capacity_alert", "reroute_proposal", "reroute_decision"} {
		if kinds[kind] == 0 {
			t.Errorf("no %s message (got %v)", kind, kinds)
		}
	}
	if euDuring < 2*euBefore {
		t.Errorf("orders to Europe %.1f/week during the closure, %.1f before: not rerouted", euDuring, euBefore)
	}
	twin, err := Play(n, 2, Uniform("c", PolicyBaseStock, true, 1.5), []Crisis{crisis}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	d := twin.KPIs.Disruptions
	if len(d) != 1 || !d[0].Recovered || d[0].ExtraCost <= 0 {
		t.Fatalf("disruption KPIs %+v", d)
	}
	t.Logf("port closure: survive %d (survived %v), recover %d after the end, extra cost %.0f, extra unmet %.0f",
		d[0].TimeToSurvive, d[0].Survived, d[0].TimeToRecover, d[0].ExtraCost, d[0].ExtraUnmet)
}
