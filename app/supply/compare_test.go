package supply

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/runs"
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

// NewestLearned takes the newest finished run on the supply world from
// the Learning page's list, loads its checkpoint once, and passes over
// runs of other worlds, unfinished runs and a missing checkpoint.
func TestNewestLearned(t *testing.T) {
	dir := t.TempDir()
	save := func(name, env string) string {
		run, err := marl.NewRun(marl.RunSpec{Env: env, Algo: "qmix", Episodes: 2, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for !run.Done() {
			if _, err := run.Step(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := run.Save(&buf); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := save("supply.ckpt", LearnedEnv)
	now := time.Now()
	info := func(id int64, env string, st runs.Status, path string, age time.Duration) marl.RunInfo {
		return marl.RunInfo{Record: runs.Record{ID: id, Status: st, Checkpoint: path, Started: now.Add(-age)}, Spec: marl.RunSpec{Env: env, Algo: "qmix"}}
	}
	list := []marl.RunInfo{
		info(4, LearnedEnv, runs.Running, good, 0),
		info(3, "spread", runs.Done, good, time.Minute),
		info(2, LearnedEnv, runs.Done, good, 2*time.Minute),
		info(1, LearnedEnv, runs.Done, good, time.Hour),
	}
	calls := 0
	f := NewestLearned(func() []marl.RunInfo { calls++; return list })
	c, label, err := f(context.Background())
	if err != nil || c == nil || !strings.HasPrefix(label, "run 2:") {
		t.Fatalf("newest: %v %q %v", c, label, err)
	}
	if c2, _, _ := f(context.Background()); c2 != c {
		t.Error("the same checkpoint was loaded again")
	}
	list = list[:2]
	if c, _, err := f(context.Background()); c != nil || err != nil {
		t.Errorf("no finished supply run: %v %v", c, err)
	}
	list = []marl.RunInfo{info(5, LearnedEnv, runs.Done, filepath.Join(dir, "gone.ckpt"), 0)}
	if _, _, err := f(context.Background()); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("missing checkpoint: %v", err)
	}
	if calls != 4 {
		t.Errorf("list asked %d times", calls)
	}
}

// A scenario script is read, validated crisis by crisis, and compared
// like a named scenario.
func TestReadScenario(t *testing.T) {
	good := `{"name": "suez", "preset": "global", "crises": [
		{"kind": "port_closure", "lane": "pacific", "start": 15, "end": 24, "capacity": 0, "lead": 5},
		{"kind": "demand_spike", "start": 30, "end": 34, "factor": 1.8}]}`
	sc, err := ReadScenario(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Crises) != 2 || sc.Crises[0].Origin != "script" || sc.Title == "" {
		t.Fatalf("read %+v", sc)
	}
	c, err := Compare(context.Background(), CompareConfig{Custom: &sc, Seeds: 3, TuneSeeds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Scenario.Name != "suez" || c.Arms[0].Disruptions != 6 {
		t.Fatalf("compared %s with %d disruptions", c.Scenario.Name, c.Arms[0].Disruptions)
	}
	for _, bad := range []struct{ name, script string }{
		{"not json", `{"name": `},
		{"unknown field", `{"name": "x", "preset": "global", "meteor": 1}`},
		{"no name", `{"preset": "global"}`},
		{"unknown preset", `{"name": "x", "preset": "mars"}`},
		{"negative capacity", `{"name": "x", "preset": "global", "crises": [{"kind": "port_closure", "lane": "pacific", "start": 1, "end": 5, "capacity": -1}]}`},
		{"lead 10^9", `{"name": "x", "preset": "global", "crises": [{"kind": "port_closure", "lane": "pacific", "start": 1, "end": 5, "lead": 1000000000}]}`},
		{"after the run", `{"name": "x", "preset": "global", "crises": [{"kind": "demand_spike", "start": 500, "end": 505, "factor": 2}]}`},
		{"two objects", `{"name": "x", "preset": "global"} {}`},
		{"too large", `{"name": "x", "preset": "global", "title": "` + strings.Repeat("a", MaxScriptBytes) + `"}`},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, err := ReadScenario(strings.NewReader(bad.script)); errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("%v, want invalid", err)
			}
		})
	}
}
