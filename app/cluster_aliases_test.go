package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/synth/detect"
)

// detectorArtifact is a logistic fraud detector with weights drawn from seed.
func detectorArtifact(t *testing.T, seed uint64) []byte {
	t.Helper()
	names := detect.FeatureNames()
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &detect.Logistic{Weights: make([]float64, len(names)), Mean: make([]float64, len(names)), Std: make([]float64, len(names)), Bias: -4}
	for j := range names {
		m.Weights[j], m.Std[j] = rng.NormFloat64(), 1
	}
	data, err := mlops.EncodeDetector(&detect.Detector{Model: "logistic", Features: names, Logistic: m})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestAliasMovesGoThroughTheCluster gives each node of a three-node
// cluster its own model registry (its own database and artifacts, the
// same two versions registered) and moves aliases from different nodes,
// followers included: every move is a replicated command, the
// compare-and-set is decided once for all, and every node's registry
// shows the same pointer and the same history.
func TestAliasMovesGoThroughTheCluster(t *testing.T) {
	ctx := t.Context()
	wakes := map[string]chan struct{}{"n1": make(chan struct{}, 1), "n2": make(chan struct{}, 1), "n3": make(chan struct{}, 1)}
	lc, err := cluster.StartLocal(ctx, cluster.LocalOptions{Nodes: 3, Dir: t.TempDir(), Secret: "alias-test-cluster-secret-0123",
		Fast: true, Seed: 1, ApplyTO: 10 * time.Second, Timing: func(c *cluster.Config) {
			wake := wakes[c.NodeID]
			c.OnApply = func(done []cluster.Applied) { wakeOnAlias(done, wake) } // as the wiring does
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	regs := make([]*mlops.Registry, 3)
	svcs := make([]*mlops.Service, 3)
	for i := range 3 {
		dir := t.TempDir()
		db, err := store.Open(ctx, filepath.Join(dir, store.FileName), os.DirFS("../migrations"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if regs[i], err = mlops.OpenRegistry(db, dir); err != nil {
			t.Fatal(err)
		}
		for v := range 2 {
			if _, err := regs[i].Register(ctx, mlops.RegisterRequest{Model: "fraud", Kind: mlops.KindFraud, Artifact: detectorArtifact(t, uint64(v+1)),
				Lineage: mlops.Lineage{Source: "cli", Seed: uint64(v + 1)}}); err != nil {
				t.Fatal(err)
			}
		}
		svcs[i] = mlops.NewService(regs[i], mlops.Config{}, bus.New(), log)
		s := newAliasSync(lc.Node(i), svcs[i], db.W, wakes[lc.Node(i).ID()], log)
		regs[i].SetReplicator(s)
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.run(sctx) }()
		defer func() { cancel(); <-done }()
	}
	follower := func() int {
		for i, n := range lc.Live() {
			if !n.IsLeader() {
				return i
			}
		}
		return 0
	}
	// every waits until each node's registry shows want (0: no alias) and
	// the same history, generously: the moves are applied asynchronously.
	every := func(want int) []mlops.AliasMove {
		t.Helper()
		var first []mlops.AliasMove
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; i < 3; {
			m, err := regs[i].Model(ctx, "fraud")
			h, herr := regs[i].History(ctx, "fraud", "champion")
			got := m.Aliases["champion"]
			same := i == 0 || fmt.Sprint(strip(h)) == fmt.Sprint(strip(first))
			if err == nil && herr == nil && got == want && same {
				if i == 0 {
					first = h
				}
				i++
				continue
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d: champion = %d (%v), want %d; history %v, node 0's %v", i, got, err, want, strip(h), strip(first))
			}
			time.Sleep(20 * time.Millisecond)
		}
		return first
	}

	f := follower()
	m, err := svcs[f].SetAlias(ctx, "fraud", "champion", 1, "tester", "first")
	if err != nil {
		t.Fatalf("set on a follower: %v", err)
	}
	// The asking node holds the move when the call returns.
	if v, err := regs[f].Resolve(ctx, "fraud", "champion"); err != nil || v.Version != 1 || m.Version != 1 || m.Previous != 0 {
		t.Fatalf("asking node: %v %v, move %+v", v.Version, err, m)
	}
	every(1)

	// A stale compare-and-set is refused wherever it is asked, and moves nothing.
	if _, err := regs[(f+1)%3].SetAliasIf(ctx, "fraud", "champion", 2, 0, "auto", "stale"); !errs.Is(err, errs.Conflict) {
		t.Fatalf("stale compare-and-set: %v, want a conflict", err)
	}
	if _, err := regs[(f+2)%3].SetAliasIf(ctx, "fraud", "champion", 2, 1, "auto", "promote"); err != nil {
		t.Fatal(err)
	}
	every(2)
	// Rollback and removal replicate too.
	if m, err := svcs[follower()].Rollback(ctx, "fraud", "champion", "tester", ""); err != nil || m.Version != 1 || !m.Rollback {
		t.Fatalf("rollback: %+v %v", m, err)
	}
	h := every(1)
	if len(h) != 3 || !h[2].Rollback || h[1].Version != 2 {
		t.Fatalf("history %+v", strip(h))
	}
	if _, err := svcs[follower()].DeleteAlias(ctx, "fraud", "champion", "tester", "retired"); err != nil {
		t.Fatal(err)
	}
	every(0)
	if _, err := svcs[0].DeleteAlias(ctx, "fraud", "champion", "tester", "again"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("removing a removed alias: %v, want not found", err)
	}
}

// strip keeps what must be equal on every node (the ids are each
// database's own).
func strip(h []mlops.AliasMove) []mlops.AliasMove {
	out := make([]mlops.AliasMove, len(h))
	for i, m := range h {
		m.ID = 0
		out[i] = m
	}
	return out
}
