package rl

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/metastation/metastation/app/atomicfile"
	"github.com/metastation/metastation/app/nn"
)

func sameParams(t *testing.T, what string, a, b []*nn.Param) {
	t.Helper()
	for i := range a {
		for j := range a[i].Data {
			if math.Float64bits(a[i].Data[j]) != math.Float64bits(b[i].Data[j]) {
				t.Fatalf("%s: tensor %d[%d] = %v after resume, %v uninterrupted", what, i, j, b[i].Data[j], a[i].Data[j])
			}
		}
	}
}

func TestPPOResumeEqualsUninterrupted(t *testing.T) {
	for _, env := range []string{"cartpole", "pendulum"} {
		t.Run(env, func(t *testing.T) {
			cfg := DefaultPPOConfig(env)
			cfg.NumEnvs, cfg.NumSteps, cfg.Workers, cfg.Minibatches, cfg.Epochs = 3, 64, 2, 4, 2
			cfg.TotalSteps = 6 * 3 * 64
			whole, err := NewPPO(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var wantStats []PPOStats
			for !whole.Done() {
				wantStats = append(wantStats, whole.Update())
			}

			first, _ := NewPPO(cfg)
			for i := 0; i < 3; i++ {
				first.Update()
			}
			path := filepath.Join(t.TempDir(), "run.ckpt")
			c, err := first.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			if err := SaveCheckpoint(path, c); err != nil {
				t.Fatal(err)
			}
			loaded, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			resumed, err := RestorePPO(loaded.PPO)
			if err != nil {
				t.Fatal(err)
			}
			for i := 3; !resumed.Done(); i++ {
				st := resumed.Update()
				if st.PolicyLoss != wantStats[i].PolicyLoss || st.ApproxKL != wantStats[i].ApproxKL {
					t.Fatalf("update %d: policy loss %v kl %v, uninterrupted %v %v", i+1, st.PolicyLoss, st.ApproxKL, wantStats[i].PolicyLoss, wantStats[i].ApproxKL)
				}
			}
			sameParams(t, "ppo", whole.params(), resumed.params())
			if whole.Steps != resumed.Steps || whole.Opt.State().Step != resumed.Opt.State().Step {
				t.Fatalf("counters differ: steps %d vs %d", whole.Steps, resumed.Steps)
			}
		})
	}
}

func TestSACResumeEqualsUninterrupted(t *testing.T) {
	cfg := DefaultSACConfig("pendulum")
	cfg.Hidden, cfg.BatchSize, cfg.LearningStarts, cfg.TotalSteps = []int{16, 16}, 32, 100, 400
	whole, err := NewSAC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for !whole.Done() {
		whole.Step()
	}
	first, _ := NewSAC(cfg)
	for i := 0; i < 251; i++ {
		first.Step()
	}
	path := filepath.Join(t.TempDir(), "sac.ckpt")
	c, err := first.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveCheckpoint(path, c); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := RestoreSAC(loaded.SAC)
	if err != nil {
		t.Fatal(err)
	}
	for !resumed.Done() {
		resumed.Step()
	}
	sameParams(t, "actor", whole.Actor.Params(), resumed.Actor.Params())
	sameParams(t, "q1", whole.Q1.Params(), resumed.Q1.Params())
	sameParams(t, "q2 target", whole.Q2T.Params(), resumed.Q2T.Params())
	if whole.Alpha() != resumed.Alpha() {
		t.Fatalf("alpha %v after resume, %v uninterrupted", resumed.Alpha(), whole.Alpha())
	}
}

func TestCheckpointVersionMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.ckpt")
	var buf bytes.Buffer
	if err := nn.Encode(&buf, checkpointKind, CheckpointVersion+1, Checkpoint{Algo: "ppo"}); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCheckpoint(path)
	if !errors.Is(err, nn.ErrVersion) {
		t.Fatalf("got %v, want ErrVersion", err)
	}
	t.Log(err)
}

func TestLoadPolicy(t *testing.T) {
	l, err := NewLearner(RunSpec{Algo: "ppo", Env: "trading", Steps: 2048, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trading.ckpt")
	if err := SaveCheckpoint(path, c); err != nil {
		t.Fatal(err)
	}
	pol, spec, err := LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Env != "trading" || spec.Seed != 2 {
		t.Fatalf("spec %+v", spec)
	}
	e := NewTrading()
	obs := e.Reset(1)
	if a, b := TradingTarget(pol, obs), TradingTarget(l, obs); a != b || a < -1 || a > 1 {
		t.Fatalf("loaded policy targets %v, original %v", a, b)
	}
}
