package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/metastation/metastation/app/command"
)

// Bench is one benchmark of `metastation bench <name>`. With --json, the last
// line it prints is one JSON object with its figures.
type Bench struct {
	Summary string
	Run     func(ctx context.Context, env command.Env, args []string) error
}

// List lists every benchmark, one line each.
func List() map[string]Bench {
	return map[string]Bench{
		"cluster":       {Summary: "cluster: 3 raft nodes on loopback, commit latency p50/p99, writes/s, failover over leader kills, snapshot install, porcupine fault run", Run: runBenchCluster},
		"cluster-train": {Summary: "cluster training: the same sharded PPO run on 1 node and spread over 3 raft nodes on loopback, wall times, speedup, bit-identical check, a follower killed mid-batch", Run: runBenchClusterTrain},
		"data":          {Summary: "the same as bench synth: synthetic data generation", Run: runBenchSynth},
		"hostile":       {Summary: "hostile web socket and vote clients (slow/never readers, reconnect storm, oversized and garbage frames, vote flood) against 5,000 normal clients: their p99 quiet and under attack, kicks", Run: runBenchHostile},
		"hub":           {Summary: "web socket fan-out to many clients", Run: runBenchHub},
		"learners":      {Summary: "trading learners against buy-and-hold, cash, random and a volatility rule: held-out Sharpe, Sortino, return after costs over seeds with paired CIs", Run: runBenchLearners},
		"market":        {Summary: "market: order-book events/s, agent decisions/s at 1k-100k agents, stylized facts vs real files", Run: runBenchMarket},
		"media":         {Summary: "media ingestion: text MB/s, images/s, audio MB/s, CSV MB/s and its peak heap, a PNG bomb refused", Run: runBenchMedia},
		"memory":        {Summary: "agent memory: inserts/s with embeddings, hybrid search p50/p99 at 100k memories, recall vs exact, planted-fact recall of hybrid/lexical/vector", Run: runBenchMemory},
		"marl":          {Summary: "multi-agent RL: simple_spread steps/s and random return, MADDPG and QMIX updates/s and spread returns over seeds, two-step game", Run: runBenchMARL},
		"research":      {Summary: "research: papers/s ingested, backtests/s, gap-finder time-split AUC, noise false discoveries under BH, planted-effect recall", Run: runBenchResearch},
		"mlops":         {Summary: "model registry: predict p50/p99 in process and over HTTP for a fraud detector and a trading policy, registry operations/s, artifact verify MB/s, canary share error, false and detected rollback rates", Run: runBenchMLOps},
		"rl":            {Summary: "RL: CartPole env steps/s, PPO samples/s and steps to solve CartPole, SAC updates/s and Pendulum return", Run: runBenchRL},
		"supply":        {Summary: "supply chain: simulated periods/s per network, coordinated/uncoordinated cost ratio with its CI over 30 seeds, bullwhip, Chen's bound", Run: runBenchSupply},
		"synth":         {Summary: "synthetic transactions: rows/s on 1 and all workers, CSV, peak memory, detector", Run: runBenchSynth},
		"tournament":    {Summary: "tournament: strategy decisions/s, decision latency p50/p99, wall time of one full round at maximum speed", Run: runBenchTournament},
	}
}

// Run runs the benchmark args[0] names.
func Run(ctx context.Context, env command.Env, args []string) error {
	bs := List()
	names := make([]string, 0, len(bs))
	for n := range bs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) > 0 && command.IsHelpFlag(args[0]) {
		fmt.Fprintf(env.Stdout, "Usage: metastation bench <name> [--json]; names: %s.\n", strings.Join(names, ", "))
		return nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return command.Usagef("bench needs a name: %s", strings.Join(names, ", "))
	}
	b, ok := bs[args[0]]
	if !ok {
		return command.Usagef("unknown benchmark %q", args[0])
	}
	return b.Run(ctx, env, args[1:])
}
