package disttrain

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/rl"
)

// BenchOptions shape `metastation bench cluster-train`.
type BenchOptions struct {
	Env     string // trading (default) or cartpole
	Updates int    // PPO updates of each run
	Seed    uint64
	Kill    bool // also a run in which a follower dies holding a shard
}

// DefaultBenchOptions: 8 updates of the trading world's 8×256 rollout.
func DefaultBenchOptions() BenchOptions {
	return BenchOptions{Env: "trading", Updates: 8, Seed: 1, Kill: true}
}

// BenchReport is what the bench measured. Wall times are of the training
// alone (the cluster is started before the clock runs).
type BenchReport struct {
	Env     string `json:"train_env"`
	Steps   int    `json:"train_steps"`
	Updates int    `json:"train_updates"`
	Shards  int    `json:"train_shards"`
	Nodes   int    `json:"train_nodes"`

	WallClassic   float64 `json:"train_wall_s_classic"`      // lock-step PPO (Shards 0), same budget: the cost of sharding
	Wall1         float64 `json:"train_wall_s_1node"`        // sharded, every shard collected here
	Wall3         float64 `json:"train_wall_s_3nodes"`       // sharded, shards spread over three nodes
	Speedup       float64 `json:"train_speedup"`             // Wall1 / Wall3
	RolloutShare1 float64 `json:"train_rollout_share_1node"` // of the 1-node wall time, collecting (the rest is learning)
	// CPU seconds this process (all three nodes) used for each run: what
	// the cluster costs in work, whatever the machine's load did to the
	// wall times. Omitted where the OS does not say.
	CPUClassic float64 `json:"train_cpu_s_classic,omitempty"`
	CPU1       float64 `json:"train_cpu_s_1node,omitempty"`
	CPU3       float64 `json:"train_cpu_s_3nodes,omitempty"`

	BitIdentical bool           `json:"train_bit_identical"` // 3 nodes gave the 1-node run's weights and losses exactly
	MaxAbsDiff   float64        `json:"train_max_abs_diff"`  // largest |Δ| over weights and observation statistics
	RemoteShards int            `json:"train_shards_remote"` // collected by followers in the 3-node run
	ByNode       map[string]int `json:"train_shards_by_node"`

	LocalShardMs  float64 `json:"train_shard_ms_learner"` // 3-node run: mean shard on the learner's own worker
	RemoteShardMs float64 `json:"train_shard_ms_remote"`  // and from order to answer on a follower

	KillReassigned int  `json:"train_kill_reassigned,omitempty"` // shards given to another node after the follower died
	KillIdentical  bool `json:"train_kill_identical,omitempty"`  // that run, too, equals the 1-node run exactly
}

// benchRun is one training run's outcome.
type benchRun struct {
	wall, rollout float64
	cpu           float64
	params        [][]float64
	losses        []float64
	episodes      []rl.Episode
}

func trainBench(ctx context.Context, cfg rl.PPOConfig, c rl.Collector) (benchRun, error) {
	var r benchRun
	cpu0, _ := processCPU()
	start := time.Now()
	p, err := rl.NewPPO(cfg)
	if err != nil {
		return r, err
	}
	for !p.Done() {
		var st rl.PPOStats
		if c == nil {
			st = p.Update()
		} else if st, err = p.UpdateSharded(ctx, c); err != nil {
			return r, err
		}
		r.rollout += float64(cfg.NumEnvs*cfg.NumSteps) / st.EnvStepRate
		r.losses = append(r.losses, st.PolicyLoss, st.ValueLoss, st.ApproxKL)
		r.episodes = append(r.episodes, st.Episodes...)
	}
	r.wall = time.Since(start).Seconds()
	if cpu1, ok := processCPU(); ok {
		r.cpu = cpu1 - cpu0
	}
	ck, err := p.Checkpoint()
	if err != nil {
		return r, err
	}
	for _, t := range ck.PPO.Params {
		r.params = append(r.params, t.Data)
	}
	if ck.PPO.ObsNorm != nil {
		r.params = append(r.params, ck.PPO.ObsNorm.Mean, ck.PPO.ObsNorm.Var)
	}
	return r, nil
}

// compare returns the largest |Δ| of weights and statistics and whether
// the two runs are the same to the bit.
func compare(a, b benchRun) (float64, bool) {
	var d float64
	same := len(a.params) == len(b.params) && slices.Equal(a.losses, b.losses) && slices.Equal(a.episodes, b.episodes)
	for i := range min(len(a.params), len(b.params)) {
		same = same && slices.Equal(a.params[i], b.params[i])
		for j := range min(len(a.params[i]), len(b.params[i])) {
			d = math.Max(d, math.Abs(a.params[i][j]-b.params[i][j]))
		}
	}
	return d, same
}

// Bench trains the same seed and budget lock-step, sharded on one node and
// sharded over three in-process nodes on loopback (TLS between them, the
// nodes share this machine's cores), then, with Kill, once more on three
// nodes while a follower dies holding a shard. stage names each step.
func Bench(ctx context.Context, o BenchOptions, stage func(string)) (BenchReport, error) {
	cfg := rl.DefaultPPOConfig(o.Env)
	if o.Env != "trading" && o.Env != "cartpole" {
		return BenchReport{}, fmt.Errorf("bench cluster-train: env must be trading or cartpole, not %q", o.Env)
	}
	cfg.Seed, cfg.Shards = o.Seed, cfg.NumEnvs
	cfg.TotalSteps = o.Updates * cfg.NumEnvs * cfg.NumSteps
	rep := BenchReport{Env: o.Env, Steps: cfg.TotalSteps, Updates: o.Updates, Shards: cfg.Shards, Nodes: 3}

	dir, err := os.MkdirTemp("", "metastation-bench-cluster-train-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	stage("start 3 nodes")
	lc, err := cluster.StartLocal(ctx, cluster.LocalOptions{Nodes: 3, Dir: dir, Secret: "bench-cluster-train-secret-0123", Seed: o.Seed})
	if err != nil {
		return rep, err
	}
	defer lc.Close()
	learner := New(Config{Node: lc.Node(0), Build: "bench"})
	New(Config{Node: lc.Node(1), Build: "bench"})
	var armed atomic.Bool
	var seen atomic.Int64
	New(Config{Node: lc.Node(2), Build: "bench", beforeRollout: func(rl.ShardOrder) {
		if armed.Load() && seen.Add(1) == 3 { // its third shard of the kill run: die holding it
			lc.Stop(2)
		}
	}})

	classic := cfg
	classic.Shards = 0
	stage("lock-step PPO, 1 node")
	c, err := trainBench(ctx, classic, nil)
	if err != nil {
		return rep, err
	}
	stage("sharded PPO, 1 node")
	one, err := trainBench(ctx, cfg, rl.LocalCollector{})
	if err != nil {
		return rep, err
	}
	stage("sharded PPO, 3 nodes")
	three, err := trainBench(ctx, cfg, learner)
	if err != nil {
		return rep, err
	}
	st := learner.Stats()
	rep.WallClassic, rep.Wall1, rep.Wall3 = c.wall, one.wall, three.wall
	rep.Speedup = one.wall / three.wall
	rep.CPUClassic, rep.CPU1, rep.CPU3 = c.cpu, one.cpu, three.cpu
	rep.RolloutShare1 = one.rollout / one.wall
	rep.MaxAbsDiff, rep.BitIdentical = compare(one, three)
	rep.RemoteShards, rep.ByNode = st.Remote, st.ByNode
	rep.LocalShardMs, rep.RemoteShardMs = st.LocalShardMs, st.RemoteShardMs
	if o.Kill {
		stage("sharded PPO, 3 nodes, a follower dies")
		armed.Store(true)
		k, err := trainBench(ctx, cfg, learner)
		if err != nil {
			return rep, err
		}
		rep.KillReassigned = learner.Stats().Reassigned - st.Reassigned
		_, rep.KillIdentical = compare(one, k)
	}
	return rep, nil
}
