package rl

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestCartPoleGolden(t *testing.T) {
	tests := []struct {
		name   string
		state  [4]float64
		action float64
		want   [4]float64
	}{
		{"push right from rest", [4]float64{0, 0, 0, 0}, 1, [4]float64{0, 0.1951219512, 0, -0.2926829268}},
		{"push left from rest", [4]float64{0, 0, 0, 0}, 0, [4]float64{0, -0.1951219512, 0, 0.2926829268}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &CartPole{X: tc.state[0], XDot: tc.state[1], Theta: tc.state[2], ThetaDot: tc.state[3]}
			s := c.Step([]float64{tc.action})
			for i, w := range tc.want {
				if !near(s.Obs[i], w, 1e-10) {
					t.Errorf("obs[%d] = %.12f, want %.10f", i, s.Obs[i], w)
				}
			}
			if s.Reward != 1 || s.Terminated || s.Truncated {
				t.Errorf("reward %v terminated %v truncated %v", s.Reward, s.Terminated, s.Truncated)
			}
		})
	}
}

func TestCartPoleLimits(t *testing.T) {
	c := &CartPole{Theta: 0.21}
	if s := c.Step([]float64{1}); !s.Terminated || s.Reward != 1 {
		t.Fatalf("pole past 12° did not terminate: %+v", s)
	}
	c = &CartPole{X: 2.39, XDot: 1}
	if s := c.Step([]float64{1}); !s.Terminated {
		t.Fatalf("cart past 2.4 m did not terminate: %+v", s)
	}
	// Alternating pushes from rest keep the pole up; the 500th step truncates.
	c = &CartPole{}
	c.Reset(1)
	for i := 1; i <= 500; i++ {
		c.X, c.XDot, c.Theta, c.ThetaDot = 0, 0, 0, 0
		s := c.Step([]float64{float64(i % 2)})
		if s.Terminated {
			t.Fatalf("terminated at step %d", i)
		}
		if s.Truncated != (i == 500) {
			t.Fatalf("step %d truncated = %v", i, s.Truncated)
		}
	}
}

func TestPendulumGolden(t *testing.T) {
	p := &Pendulum{Theta: math.Pi / 4, ThetaDot: 0.5}
	s := p.Step([]float64{1})
	if !near(p.Theta, 0.8444146677, 1e-10) || !near(p.ThetaDot, 1.1803300859, 1e-10) {
		t.Errorf("θ' = %.10f, θ̇' = %.10f; want 0.8444146677, 1.1803300859", p.Theta, p.ThetaDot)
	}
	if !near(s.Reward, -0.6428502751, 1e-10) {
		t.Errorf("reward %.10f, want -0.6428502751", s.Reward)
	}
	if !near(s.Obs[0], math.Cos(p.Theta), 0) || !near(s.Obs[1], math.Sin(p.Theta), 0) || s.Obs[2] != p.ThetaDot {
		t.Errorf("obs %v is not (cos θ, sin θ, θ̇)", s.Obs)
	}
	// Torque is clipped to ±2 and speed to ±8; the cost uses the clipped torque.
	p = &Pendulum{Theta: 0, ThetaDot: 7.9}
	s = p.Step([]float64{50})
	if p.ThetaDot != 8 || !near(s.Reward, -(0.1*7.9*7.9+0.001*4), 1e-12) {
		t.Errorf("clipping: θ̇ = %v, reward %v", p.ThetaDot, s.Reward)
	}
	// The angle in the cost is normalised to [−π, π).
	p = &Pendulum{Theta: 2*math.Pi + 0.1}
	s = p.Step([]float64{0})
	if !near(s.Reward, -0.01, 1e-12) {
		t.Errorf("reward at 2π+0.1 is %v, want -0.01", s.Reward)
	}
	// 200 steps truncate and never terminate.
	p.Reset(3)
	for i := 1; i <= 200; i++ {
		s = p.Step([]float64{0})
		if s.Terminated || s.Truncated != (i == 200) {
			t.Fatalf("step %d: terminated %v truncated %v", i, s.Terminated, s.Truncated)
		}
	}
}

// rollout steps a VecEnv with actions from a fixed stream and records every
// number it returns.
func rollout(t *testing.T, name string, workers int) []float64 {
	t.Helper()
	newEnv := func() Env { e, _ := NewEnv(name); return e }
	v := NewVecEnv(newEnv, 7, 42, workers)
	rng := rand.New(rand.NewPCG(9, 9))
	var rec []float64
	for _, o := range v.Obs() {
		rec = append(rec, o...)
	}
	space := v.Envs[0].ActionSpace()
	for step := 0; step < 700; step++ {
		acts := make([][]float64, v.Len())
		for i := range acts {
			if space.Discrete() {
				acts[i] = []float64{float64(rng.IntN(space.N))}
			} else {
				acts[i] = []float64{rng.Float64()*4 - 2}
			}
		}
		s := v.Step(acts)
		for i := range acts {
			rec = append(rec, s.Obs[i]...)
			rec = append(rec, s.Reward[i])
			rec = append(rec, s.FinalObs[i]...)
		}
		for _, e := range s.Episodes {
			rec = append(rec, e.Return, float64(e.Length))
		}
	}
	return rec
}

func TestVecEnvDeterministicAcrossWorkers(t *testing.T) {
	for _, name := range []string{"cartpole", "pendulum"} {
		want := rollout(t, name, 1)
		for _, w := range []int{2, 3, 7, 16} {
			got := rollout(t, name, w)
			if len(got) != len(want) {
				t.Fatalf("%s, %d workers: %d numbers, want %d", name, w, len(got), len(want))
			}
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%s, %d workers: number %d = %v, want %v", name, w, i, got[i], want[i])
				}
			}
		}
	}
}

func TestVecEnvAutoReset(t *testing.T) {
	newEnv := func() Env { return &CartPole{} }
	v := NewVecEnv(newEnv, 2, 1, 2)
	episodes := 0
	for i := 0; i < 200; i++ {
		s := v.Step([][]float64{{1}, {1}}) // always right: falls within ~10 steps
		for j := range s.Obs {
			if s.Terminated[j] {
				if s.FinalObs[j] == nil {
					t.Fatal("terminated without a final observation")
				}
				if math.Abs(s.Obs[j][0]) > 0.05 {
					t.Fatalf("observation after reset %v is not an initial state", s.Obs[j])
				}
			}
		}
		episodes += len(s.Episodes)
	}
	if episodes < 20 {
		t.Fatalf("%d episodes in 200 steps of always-right", episodes)
	}
}

func TestRunningMeanStd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := NewRunningMeanStd(1)
	var all []float64
	for b := 0; b < 50; b++ {
		var batch [][]float64
		for i := 0; i < 9; i++ {
			x := 3 + 2*rng.NormFloat64()
			all = append(all, x)
			batch = append(batch, []float64{x})
		}
		r.Update(batch)
	}
	var mean, v float64
	for _, x := range all {
		mean += x
	}
	mean /= float64(len(all))
	for _, x := range all {
		v += (x - mean) * (x - mean)
	}
	v /= float64(len(all))
	if !near(r.Mean[0], mean, 1e-5) || !near(r.Var[0], v, 1e-3) {
		t.Fatalf("running mean %v var %v, batch mean %v var %v", r.Mean[0], r.Var[0], mean, v)
	}
	o := &ObsNormalizer{RMS: r, Clip: 10}
	if z := o.Normalize([]float64{mean}); !near(z[0], 0, 1e-5) {
		t.Fatalf("normalised mean is %v", z[0])
	}
	rn := NewRewardNormalizer(2, 0.99)
	for i := 0; i < 1000; i++ {
		out := rn.Normalize([]float64{100, 100}, []bool{i%50 == 49, false})
		if i == 999 && (out[0] > 10 || out[0] < 0.01) {
			t.Fatalf("scaled reward %v", out[0])
		}
	}
}
