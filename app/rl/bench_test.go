package rl

import "testing"

// BenchmarkSACUpdate measures one SAC environment step with its update
// (64×64 networks, batch 256) after the warm-up.
func BenchmarkSACUpdate(b *testing.B) {
	cfg := DefaultSACConfig("pendulum")
	cfg.LearningStarts, cfg.TotalSteps = 300, 1_000_000
	s, err := NewSAC(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for s.Steps <= cfg.LearningStarts+1 {
		s.Step()
	}
	b.ResetTimer()
	for b.Loop() {
		s.Step()
	}
}

// BenchmarkPPOUpdate measures one CartPole rollout of 512 steps and its 16
// minibatch updates.
func BenchmarkPPOUpdate(b *testing.B) {
	cfg := DefaultPPOConfig("cartpole")
	cfg.TotalSteps = 1 << 40
	p, err := NewPPO(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p.Update()
	}
}
