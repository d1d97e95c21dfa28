package rl

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/nn"
)

func shardedConfig(env string, shards int) PPOConfig {
	cfg := DefaultPPOConfig(env)
	cfg.NumEnvs, cfg.NumSteps, cfg.Shards = 4, 32, shards
	cfg.TotalSteps = 4 * 32 * 3
	cfg.Seed = 7
	return cfg
}

// wireCollector collects the shards in reverse order, each from its own
// decoding of the policy, with orders and rollouts through gob: what
// happens when other nodes collect them.
type wireCollector struct{ t *testing.T }

func (w wireCollector) Collect(ctx context.Context, pv PolicyVersion, orders []ShardOrder) ([]ShardRollout, error) {
	out := make([]ShardRollout, len(orders))
	for i := len(orders) - 1; i >= 0; i-- {
		var o ShardOrder
		roundTrip(w.t, orders[i], &o)
		sp, err := DecodePolicy(pv)
		if err != nil {
			return nil, err
		}
		r, err := sp.Collect(o)
		if err != nil {
			return nil, err
		}
		r.Node = "wire"
		roundTrip(w.t, r, &out[i])
	}
	return out, nil
}

func roundTrip(t *testing.T, in, out any) {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(in); err != nil {
		t.Fatal(err)
	}
	if err := gob.NewDecoder(&buf).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func trainSharded(t *testing.T, cfg PPOConfig, c Collector) (*PPO, []PPOStats) {
	t.Helper()
	p, err := NewPPO(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sts []PPOStats
	for !p.Done() {
		st, err := p.UpdateSharded(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	return p, sts
}

func sameRun(t *testing.T, a, b *PPO, sa, sb []PPOStats) {
	t.Helper()
	pa, pb := nn.Export(a.params()), nn.Export(b.params())
	for i := range pa {
		if !slices.Equal(pa[i].Data, pb[i].Data) {
			t.Fatalf("tensor %s differs", pa[i].Name)
		}
	}
	if a.ObsNorm != nil && (!slices.Equal(a.ObsNorm.RMS.Mean, b.ObsNorm.RMS.Mean) || !slices.Equal(a.ObsNorm.RMS.Var, b.ObsNorm.RMS.Var)) {
		t.Fatal("observation statistics differ")
	}
	if len(sa) != len(sb) {
		t.Fatalf("%d updates against %d", len(sa), len(sb))
	}
	for i := range sa {
		x, y := sa[i], sb[i]
		if x.PolicyLoss != y.PolicyLoss || x.ValueLoss != y.ValueLoss || x.ApproxKL != y.ApproxKL || !slices.Equal(x.Episodes, y.Episodes) {
			t.Fatalf("update %d differs: %+v against %+v", i+1, x, y)
		}
	}
	if a.Steps != b.Steps {
		t.Fatalf("steps %d against %d", a.Steps, b.Steps)
	}
}

// TestShardedDoesNotDependOnTheCollector: the same seed collected here in
// order, or shard by shard in reverse through gob with a fresh policy each,
// gives the same run to the bit (discrete and continuous actions).
func TestShardedDoesNotDependOnTheCollector(t *testing.T) {
	for _, env := range []string{"trading", "cartpole", "pendulum"} {
		t.Run(env, func(t *testing.T) {
			cfg := shardedConfig(env, 4)
			if env == "pendulum" {
				cfg.NormReward = false
			}
			a, sa := trainSharded(t, cfg, LocalCollector{})
			b, sb := trainSharded(t, cfg, wireCollector{t})
			sameRun(t, a, b, sa, sb)
			if sa[0].Nodes != 1 || len(sa) != 3 {
				t.Fatalf("nodes %d, updates %d", sa[0].Nodes, len(sa))
			}
			if env == "cartpole" && len(sa[2].Episodes) == 0 {
				t.Fatal("no cartpole episode finished in 32 steps of 4 environments")
			}
		})
	}
}

// TestShardedResumesExactly: a checkpoint taken between updates continues
// as the uninterrupted run.
func TestShardedResumesExactly(t *testing.T) {
	cfg := shardedConfig("trading", 2)
	a, sa := trainSharded(t, cfg, LocalCollector{})

	p, err := NewPPO(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.UpdateSharded(context.Background(), LocalCollector{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	var c2 Checkpoint
	roundTrip(t, c, &c2)
	q, err := RestorePPO(c2.PPO)
	if err != nil {
		t.Fatal(err)
	}
	sb := []PPOStats{st}
	for !q.Done() {
		sb = append(sb, q.Update()) // Update collects a sharded run here
	}
	sameRun(t, a, q, sa, sb)
	if !c2.Spec().Cluster {
		t.Fatal("a sharded checkpoint's spec does not say cluster")
	}
}

// tamper changes one collected shard before the learner sees it.
type tamper struct{ edit func(*ShardRollout) }

func (tc tamper) Collect(ctx context.Context, pv PolicyVersion, orders []ShardOrder) ([]ShardRollout, error) {
	rs, err := LocalCollector{}.Collect(ctx, pv, orders)
	if err == nil {
		tc.edit(&rs[1])
	}
	return rs, err
}

// TestShardedRefusesBadInput: bad settings, a wrong or short shard, a
// policy whose bytes do not match the hash; a refused update leaves the
// learner as it was.
func TestShardedRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*PPOConfig)
		want string
	}{
		{"uneven", func(c *PPOConfig) { c.Shards = 3 }, "do not split"},
		{"negative", func(c *PPOConfig) { c.Shards = -1 }, "between 0"},
		{"reward normalisation", func(c *PPOConfig) { c.NormReward = true }, "normalise rewards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := shardedConfig("trading", 4)
			tc.edit(&cfg)
			if _, err := NewPPO(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		edit func(*ShardRollout)
		want string
	}{
		{"other shard", func(r *ShardRollout) { r.Shard = 0 }, "came back as"},
		{"short", func(r *ShardRollout) { r.Reward = r.Reward[1:] }, "wrong number"},
		{"wide", func(r *ShardRollout) { r.NextObs[3] = append(r.NextObs[3], 1) }, "wrong width"},
		{"env state", func(r *ShardRollout) { r.Vec.Env[0] = r.Vec.Env[0][:3] }, "environments' state"},
		{"episode", func(r *ShardRollout) { r.Episodes = append(r.Episodes, ShardEpisode{Step: 1, Env: 0}) }, "out of its range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPPO(shardedConfig("trading", 4))
			if err != nil {
				t.Fatal(err)
			}
			before := nn.Export(p.params())
			if _, err := p.UpdateSharded(context.Background(), tamper{tc.edit}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if p.Updates != 0 || p.Steps != 0 || !slices.Equal(before[0].Data, nn.Export(p.params())[0].Data) {
				t.Fatal("a refused update changed the learner")
			}
		})
	}
	p, err := NewPPO(shardedConfig("trading", 4))
	if err != nil {
		t.Fatal(err)
	}
	pv, err := p.Policy()
	if err != nil {
		t.Fatal(err)
	}
	pv.Bytes[len(pv.Bytes)/2] ^= 1
	if _, err := DecodePolicy(pv); err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("a policy with flipped bytes: %v", err)
	}
}

// TestShardedLearnsCartPole: the sharded variant learns as PPO does: the
// mean training return of the last updates is well above the first's.
func TestShardedLearnsCartPole(t *testing.T) {
	cfg := DefaultPPOConfig("cartpole")
	cfg.Shards, cfg.TotalSteps, cfg.Seed = 4, 40_960, 3
	p, sts := trainSharded(t, cfg, LocalCollector{})
	mean := func(sts []PPOStats) float64 {
		var s float64
		var n int
		for _, st := range sts {
			for _, e := range st.Episodes {
				s += e.Return
				n++
			}
		}
		return s / math.Max(1, float64(n))
	}
	first, last := mean(sts[:2]), mean(sts[len(sts)-5:])
	t.Logf("%d updates, %d steps: mean return %.1f in the first two updates, %.1f in the last five", len(sts), p.Steps, first, last)
	if last < 2*first || last < 80 {
		t.Fatalf("sharded PPO did not learn cartpole: %.1f then %.1f", first, last)
	}
}

// countingCollector collects here and counts the updates it served; with
// fail set it fails them, as a cluster whose collection cannot finish.
type countingCollector struct {
	n    atomic.Int64
	fail atomic.Bool
}

func (c *countingCollector) Collect(ctx context.Context, pv PolicyVersion, orders []ShardOrder) ([]ShardRollout, error) {
	c.n.Add(1)
	if c.fail.Load() {
		return nil, errors.New("the cluster is gone")
	}
	return LocalCollector{}.Collect(ctx, pv, orders)
}

// TestServiceSpreadsClusterRuns: a run started with Cluster collects its
// shards through the service's collector and ends with the weights of the
// same run trained alone; a collection that fails fails the run with the
// reason; a SAC run cannot be spread.
func TestServiceSpreadsClusterRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := &countingCollector{}
	s, err := NewService(ServiceConfig{Dir: t.TempDir(), Collector: c}, bus.New(), nil, nil, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if _, err := s.Start(ctx, RunSpec{Algo: "sac", Env: "pendulum", Cluster: true}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a spread SAC run: %v", err)
	}
	spec := RunSpec{Algo: "ppo", Env: "cartpole", Steps: 3 * 512, Seed: 9, Cluster: true}
	run, err := s.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	fin := waitStatus(t, s, run.ID, "done")
	if c.n.Load() != 3 || fin.Steps != 3*512 {
		t.Fatalf("the collector served %d updates, the run ended at %d steps", c.n.Load(), fin.Steps)
	}
	path, err := s.CheckpointPath(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := NewLearner(spec)
	if err != nil {
		t.Fatal(err)
	}
	for !alone.Done() {
		alone.Advance()
	}
	ac, err := alone.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	for i, tn := range ac.PPO.Params {
		if !slices.Equal(tn.Data, ck.PPO.Params[i].Data) {
			t.Fatalf("tensor %s of the service's run differs from the run trained alone", tn.Name)
		}
	}
	if got := ck.Spec(); !got.Cluster || got.Steps != spec.Steps || got.Seed != spec.Seed {
		t.Fatalf("checkpoint spec %+v", ck.Spec())
	}

	c.fail.Store(true)
	bad, err := s.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: 2 * 512, Seed: 9, Cluster: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitStatus(t, s, bad.ID, "failed"); !strings.Contains(r.Error, "the cluster is gone") {
		t.Fatalf("failed run's error %q", r.Error)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
