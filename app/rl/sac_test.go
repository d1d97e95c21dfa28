package rl

import (
	"math"
	"os"
	"testing"
)

// TestSACPendulumLearns is the short smoke run: a small SAC must lift the
// deterministic evaluation return well above a random policy's (about −1270)
// within a few thousand steps.
func TestSACPendulumLearns(t *testing.T) {
	cfg := DefaultSACConfig("pendulum")
	cfg.Hidden, cfg.BatchSize, cfg.LearningStarts, cfg.TotalSteps = []int{32, 32}, 64, 1000, 6000
	s, err := NewSAC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var last SACStats
	for !s.Done() {
		last = s.Step()
	}
	rs, err := Evaluate(s, "pendulum", 10, 1001)
	if err != nil {
		t.Fatal(err)
	}
	m, sd := MeanStd(rs)
	t.Logf("after %d steps: evaluation return %.1f ± %.1f, alpha %.3f, q loss %.3g, entropy %.3f", s.Steps, m, sd, last.Alpha, last.QLoss, last.Entropy)
	if math.IsNaN(m) || m < -800 {
		t.Fatalf("SAC did not start learning: evaluation return %.1f < -800", m)
	}
	if last.Alpha >= 1 {
		t.Fatalf("alpha %v did not fall from 1: entropy tuning is not working", last.Alpha)
	}
}

// TestSACPendulumReaches250 is the published result, opt-in with
// METASTATION_LONG=1: at least −250 over 10 evaluation episodes after 30,000
// steps, for seeds 1, 2 and 3.
func TestSACPendulumReaches250(t *testing.T) {
	if os.Getenv("METASTATION_LONG") == "" {
		t.Skip("set METASTATION_LONG=1 for the full-length run")
	}
	for seed := uint64(1); seed <= 3; seed++ {
		cfg := DefaultSACConfig("pendulum")
		cfg.Seed = seed
		s, err := NewSAC(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for !s.Done() {
			s.Step()
		}
		rs, err := Evaluate(s, "pendulum", 10, seed+1000)
		if err != nil {
			t.Fatal(err)
		}
		m, sd := MeanStd(rs)
		t.Logf("seed %d: evaluation return %.1f ± %.1f (sd, 10 episodes) after %d steps", seed, m, sd, s.Steps)
		if m < -250 {
			t.Errorf("seed %d: %.1f < -250", seed, m)
		}
	}
}
