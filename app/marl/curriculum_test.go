package marl

import (
	"bytes"
	"context"
	"testing"
)

// smallTradingQMIX is a cheap learner for tests: 30-day episodes and a
// small batch.
func smallTradingQMIX(t *testing.T, seed uint64, episodes int) *QMIX {
	t.Helper()
	cfg := DefaultQMIXConfig("trading-ma", "vdn")
	cfg.Seed, cfg.Episodes, cfg.BatchSize, cfg.Hidden, cfg.EpsAnnealSteps = seed, episodes, 8, []int{32}, 1500
	env := NewTradingMA()
	env.Horizon = 30
	q, err := NewQMIXEnv(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// A curriculum whose gates every policy passes promotes through all four
// stages, in order, re-evaluating the earlier stages at each promotion.
func TestCurriculumPromotesThroughStages(t *testing.T) {
	q := smallTradingQMIX(t, 1, 25)
	cfg := DefaultCurriculumConfig()
	cfg.EvalEvery, cfg.EvalEpisodes = 5, 2
	for i := range cfg.Stages {
		cfg.Stages[i].Threshold, cfg.Stages[i].MaxDrawdown, cfg.Stages[i].MinEpisodes = -1e9, 1, 5
	}
	cur := NewCurriculum(cfg)
	var promoted []string
	if err := TrainCurriculum(context.Background(), q, cur, func(ev CurriculumEvent) {
		if ev.Promoted {
			promoted = append(promoted, ev.Stage)
			if len(ev.Recheck) != len(promoted)-1 {
				t.Errorf("promotion from %s rechecked %d earlier stages, want %d", ev.Stage, len(ev.Recheck), len(promoted)-1)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !cur.Done() || len(promoted) != 4 || promoted[0] != "calm" || promoted[3] != "black_swan" {
		t.Fatalf("promotions %v, done %v", promoted, cur.Done())
	}
	// A gate nobody passes holds the run in its first stage.
	q = smallTradingQMIX(t, 1, 30)
	cfg.Stages[0].MaxDrawdown = -1
	cur = NewCurriculum(cfg)
	if err := TrainCurriculum(context.Background(), q, cur, nil); err != nil {
		t.Fatal(err)
	}
	if cur.Stage != 0 || len(cur.Log) != 6 {
		t.Fatalf("risk gate failed to hold: stage %d after %d evaluations", cur.Stage, len(cur.Log))
	}
}

// Saving mid-run and resuming gives exactly the run that was never
// interrupted, curriculum stage included.
func TestCurriculumResume(t *testing.T) {
	cfg := DefaultCurriculumConfig()
	cfg.EvalEvery, cfg.EvalEpisodes = 5, 2
	for i := range cfg.Stages {
		cfg.Stages[i].Threshold, cfg.Stages[i].MaxDrawdown, cfg.Stages[i].MinEpisodes = -1e9, 1, 10
	}
	ctx := context.Background()
	whole := smallTradingQMIX(t, 3, 40)
	wholeCur := NewCurriculum(cfg)
	if err := TrainCurriculum(ctx, whole, wholeCur, nil); err != nil {
		t.Fatal(err)
	}

	first := smallTradingQMIX(t, 3, 20)
	cur := NewCurriculum(cfg)
	if err := TrainCurriculum(ctx, first, cur, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SaveQMIX(&buf, first, cur); err != nil {
		t.Fatal(err)
	}
	q, cur2, err := LoadQMIX(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if cur2 == nil || cur2.Stage != cur.Stage || cur2.Stage != 2 {
		t.Fatalf("resumed in stage %v, saved in %d (want 2)", cur2, cur.Stage)
	}
	q.Config.Episodes = 40
	if err := TrainCurriculum(ctx, q, cur2, nil); err != nil {
		t.Fatal(err)
	}
	if cur2.Stage != wholeCur.Stage || len(cur2.Log) != len(wholeCur.Log) {
		t.Fatalf("resumed run ends in stage %d with %d evaluations, uninterrupted in %d with %d", cur2.Stage, len(cur2.Log), wholeCur.Stage, len(wholeCur.Log))
	}
	pa, pb := whole.Agent.Params(), q.Agent.Params()
	for i := range pa {
		for j := range pa[i].Data {
			if pa[i].Data[j] != pb[i].Data[j] {
				t.Fatalf("tensor %d differs at %d between the resumed and the uninterrupted run", i, j)
			}
		}
	}
}
