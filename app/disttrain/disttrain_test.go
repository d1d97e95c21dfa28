package disttrain

import (
	"context"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/rl"
)

const testSecret = "test-disttrain-secret-0123456789"

func startCluster(t *testing.T, n int) *cluster.LocalCluster {
	t.Helper()
	lc, err := cluster.StartLocal(t.Context(), cluster.LocalOptions{Nodes: n, Dir: t.TempDir(), Secret: testSecret, Seed: 1, ApplyTO: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lc.Close)
	return lc
}

// testConfig is a small sharded trading run: 6 environments, one per
// shard, 32 steps each, 3 updates.
func testConfig() rl.PPOConfig {
	cfg := rl.DefaultPPOConfig("trading")
	cfg.NumEnvs, cfg.Shards, cfg.NumSteps, cfg.Minibatches = 6, 6, 32, 4
	cfg.TotalSteps = 6 * 32 * 3
	cfg.Seed = 5
	return cfg
}

type result struct {
	params  [][]float64
	updates []rl.PPOStats
}

func train(t *testing.T, cfg rl.PPOConfig, c rl.Collector) result {
	t.Helper()
	p, err := rl.NewPPO(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for !p.Done() {
		st, err := p.UpdateSharded(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		res.updates = append(res.updates, st)
	}
	ck, err := p.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range ck.PPO.Params {
		res.params = append(res.params, tn.Data)
	}
	res.params = append(res.params, ck.PPO.ObsNorm.Mean, ck.PPO.ObsNorm.Var)
	return res
}

// maxDiff is the largest absolute difference between two runs' weights
// and observation statistics, and whether every update's losses and
// episodes are equal.
func maxDiff(a, b result) (float64, bool) {
	var d float64
	for i := range a.params {
		for j := range a.params[i] {
			d = math.Max(d, math.Abs(a.params[i][j]-b.params[i][j]))
		}
	}
	same := len(a.updates) == len(b.updates)
	for i := 0; same && i < len(a.updates); i++ {
		x, y := a.updates[i], b.updates[i]
		same = x.PolicyLoss == y.PolicyLoss && x.ValueLoss == y.ValueLoss && x.ApproxKL == y.ApproxKL && slices.Equal(x.Episodes, y.Episodes)
	}
	return d, same
}

func identical(t *testing.T, one, many result) {
	t.Helper()
	d, same := maxDiff(one, many)
	for i := range one.params {
		if !slices.Equal(one.params[i], many.params[i]) {
			t.Fatalf("tensor %d differs between 1 node and the cluster (max |Δ| over all weights %g)", i, d)
		}
	}
	if !same {
		t.Fatal("the updates' losses or episodes differ between 1 node and the cluster")
	}
}

// TestThreeNodesMatchOneNode: the same seed and budget trained on one node
// and with its shards collected by two followers over the authenticated
// channel give the same weights, statistics, losses and episodes, to the
// bit (tolerance 0).
func TestThreeNodesMatchOneNode(t *testing.T) {
	lc := startCluster(t, 3)
	learner := New(Config{Node: lc.Node(0), Build: "test", RemoteOnly: true})
	for i := 1; i < 3; i++ {
		New(Config{Node: lc.Node(i), Build: "test"})
	}
	cfg := testConfig()
	one := train(t, cfg, rl.LocalCollector{})
	many := train(t, cfg, learner)
	identical(t, one, many)
	st := learner.Stats()
	t.Logf("shards by node: %v", st.ByNode)
	if st.Updates != 3 || st.Shards != 18 || st.Remote != 18 || st.Reassigned != 0 {
		t.Fatalf("stats %+v: want 3 updates of 6 shards, all collected by followers", st)
	}
	for _, u := range many.updates {
		if u.Nodes < 1 || u.Nodes > 2 {
			t.Fatalf("an update collected by %d nodes", u.Nodes)
		}
	}
}

// TestFollowerDiesMidBatch: a follower that dies while it holds a shard
// has that shard collected by the other follower; the run is still the
// single-node run to the bit.
func TestFollowerDiesMidBatch(t *testing.T) {
	lc := startCluster(t, 3)
	learner := New(Config{Node: lc.Node(0), Build: "test", RemoteOnly: true})
	var seen atomic.Int64
	died := make(chan struct{})
	New(Config{Node: lc.Node(1), Build: "test", beforeRollout: func(rl.ShardOrder) {
		if seen.Add(1) == 2 { // its second shard: die holding it
			lc.Stop(1)
			close(died)
		}
	}})
	// n3 holds its first shard until n2 has died, so n2 gets a second one.
	New(Config{Node: lc.Node(2), Build: "test", beforeRollout: func(rl.ShardOrder) {
		select {
		case <-died:
		case <-time.After(time.Minute):
		}
	}})
	cfg := testConfig()
	one := train(t, cfg, rl.LocalCollector{})
	many := train(t, cfg, learner)
	identical(t, one, many)
	st := learner.Stats()
	t.Logf("stats: %+v (n2 saw %d orders)", st, seen.Load())
	if seen.Load() != 2 {
		t.Fatalf("n2 saw %d orders, want 2 (it dies on the second)", seen.Load())
	}
	if st.Reassigned < 1 || st.ByNode["n3"] < 1 || st.Remote != 18 {
		t.Fatalf("stats %+v: want n2's shard reassigned to n3, every shard collected by a follower", st)
	}
}

// TestOtherBuildIsRefused: a member of another build refuses the orders;
// the learner collects the shards itself and the run is unchanged.
func TestOtherBuildIsRefused(t *testing.T) {
	lc := startCluster(t, 2)
	// Left out for the whole test: asked once, refused once, however
	// slowly the machine trains.
	learner := New(Config{Node: lc.Node(0), Build: "test", RemoteOnly: true, RetryAfter: time.Hour})
	worker := New(Config{Node: lc.Node(1), Build: "other"})
	cfg := testConfig()
	one := train(t, cfg, rl.LocalCollector{})
	many := train(t, cfg, learner)
	identical(t, one, many)
	st := learner.Stats()
	if st.Reassigned != 1 || st.Remote != 0 || st.ByNode["n1"] != 18 || worker.Stats().Served != 0 {
		t.Fatalf("stats %+v: want the one refused shard reassigned and every shard collected by the learner", st)
	}
}
