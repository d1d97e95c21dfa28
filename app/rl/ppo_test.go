package rl

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

func TestPPOLossGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 12
	b := ppoTerms{}
	for i := 0; i < n; i++ {
		old := -1 + 0.3*rng.NormFloat64()
		// Spread ratios over both sides of the clip range, away from its edges.
		ratios := []float64{0.5, 0.9, 1.05, 1.1, 1.5, 0.7}
		b.OldLogP = append(b.OldLogP, old)
		b.NewLogP = append(b.NewLogP, old+math.Log(ratios[i%len(ratios)]))
		b.Entropy = append(b.Entropy, 0.5+rng.Float64())
		ov := rng.NormFloat64()
		b.OldValue = append(b.OldValue, ov)
		b.NewValue = append(b.NewValue, ov+[]float64{-0.5, 0.1, 0.35, -0.05}[i%4])
		b.Ret = append(b.Ret, ov+rng.NormFloat64())
		b.Adv = append(b.Adv, rng.NormFloat64())
	}
	for _, clipV := range []bool{true, false} {
		inputs := [][]float64{b.NewLogP, b.Entropy, b.NewValue}
		loss := func() float64 { l, _, _, _, _ := ppoLoss(b, 0.2, clipV, 0.01, 0.5); return l }
		grads := func() [][]float64 {
			_, dl, de, dv, _ := ppoLoss(b, 0.2, clipV, 0.01, 0.5)
			return [][]float64{dl, de, dv}
		}
		checkGradients(t, inputs, loss, grads)
	}
}

// checkGradients compares analytic gradients with central differences.
func checkGradients(t *testing.T, inputs [][]float64, loss func() float64, grads func() [][]float64) {
	t.Helper()
	const h = 1e-6
	an := grads()
	for k, in := range inputs {
		g := append([]float64(nil), an[k]...)
		for i := range in {
			orig := in[i]
			in[i] = orig + h
			lp := loss()
			in[i] = orig - h
			lm := loss()
			in[i] = orig
			num := (lp - lm) / (2 * h)
			d := math.Max(math.Abs(g[i]), math.Abs(num))
			if d > 1e-10 && math.Abs(g[i]-num)/d >= 1e-6 {
				t.Errorf("input %d[%d]: analytic %.12g numeric %.12g", k, i, g[i], num)
			}
		}
	}
}

func TestGAE(t *testing.T) {
	// One environment, three steps, episode ends after step 1.
	reward := []float64{1, 2, 3}
	value := []float64{0.5, 0.25, 1}
	done := []bool{false, true, false}
	adv, ret := gae(reward, value, done, []float64{2}, 1, 0.9, 0.8)
	d2 := 3 + 0.9*2 - 1.0
	d1 := 2 - 0.25
	d0 := 1 + 0.9*0.25 - 0.5
	want := []float64{d0 + 0.72*d1, d1, d2}
	for i := range want {
		if math.Abs(adv[i]-want[i]) > 1e-12 || math.Abs(ret[i]-(want[i]+value[i])) > 1e-12 {
			t.Fatalf("adv %v ret %v, want adv %v", adv, ret, want)
		}
	}
}

// TestPPOCartPoleLearns is the short smoke run: 60k steps of CleanRL's PPO
// must lift the mean training return well above a random policy's ~22.
func TestPPOCartPoleLearns(t *testing.T) {
	cfg := DefaultPPOConfig("cartpole")
	cfg.TotalSteps = 60_000
	p, err := NewPPO(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var recent []float64
	var last PPOStats
	for !p.Done() {
		last = p.Update()
		for _, e := range last.Episodes {
			recent = append(recent, e.Return)
		}
		if os.Getenv("RL_VERBOSE") != "" {
			m, _ := MeanStd(tail(recent, 20))
			t.Logf("update %d steps %d return %.1f kl %.3g clip %.3g ev %.3f ent %.3f vloss %.3g", last.Update, last.Steps, m, last.ApproxKL, last.ClipFrac, last.ExplainedVariance, last.Entropy, last.ValueLoss)
		}
	}
	m, _ := MeanStd(tail(recent, 20))
	t.Logf("mean return of the last 20 episodes after %d steps: %.1f (kl %.4f, clip frac %.3f, explained var %.3f)", p.Steps, m, last.ApproxKL, last.ClipFrac, last.ExplainedVariance)
	if m < 100 {
		t.Fatalf("PPO did not start learning: mean return %.1f < 100", m)
	}
}

// TestPPOCartPoleSolves is the published result, opt-in with
// METASTATION_LONG=1: 100 evaluation episodes average at least 475 within
// 500,000 steps, for seeds 1, 2 and 3.
func TestPPOCartPoleSolves(t *testing.T) {
	if os.Getenv("METASTATION_LONG") == "" {
		t.Skip("set METASTATION_LONG=1 for the full-length run")
	}
	for seed := uint64(1); seed <= 3; seed++ {
		cfg := DefaultPPOConfig("cartpole")
		cfg.Seed = seed
		p, err := NewPPO(cfg)
		if err != nil {
			t.Fatal(err)
		}
		run, err := TrainPPO(t.Context(), p, PPOTrainOptions{EvalEpisodes: 100, Target: CartPoleSolved})
		if err != nil {
			t.Fatal(err)
		}
		m, sd := MeanStd(run.FinalReturn)
		t.Logf("seed %d: solved at step %d (%.1fs); after %d steps evaluation return %.1f ± %.1f (sd, 100 episodes), %.1fs", seed, run.SolveStep, run.SolveWall, run.Steps, m, sd, run.Wall)
		if run.SolveStep == 0 || run.SolveStep > 500_000 {
			t.Errorf("seed %d: not solved within 500,000 steps", seed)
		}
	}
}

func TestLearnerChunks(t *testing.T) {
	if _, err := NewLearner(RunSpec{Algo: "sac", Env: "cartpole"}); err == nil {
		t.Fatal("SAC on a discrete environment was accepted")
	}
	if _, err := NewLearner(RunSpec{Algo: "dqn", Env: "cartpole"}); err == nil {
		t.Fatal("an unknown algorithm was accepted")
	}
	l, err := NewLearner(RunSpec{Algo: "sac", Env: "pendulum", Steps: 2*SACAdvanceSteps + 50, Hidden: []int{8}})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for !l.Done() {
		steps = append(steps, l.Advance().Steps)
	}
	if want := []int{SACAdvanceSteps, 2 * SACAdvanceSteps, 2*SACAdvanceSteps + 50}; !slices.Equal(steps, want) {
		t.Fatalf("chunks ended at steps %v, want %v", steps, want)
	}
	c, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if spec := c.Spec(); spec.Algo != "sac" || spec.Env != "pendulum" || spec.Steps != 2*SACAdvanceSteps+50 {
		t.Fatalf("checkpoint spec %+v", spec)
	}
}
