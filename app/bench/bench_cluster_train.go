package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/disttrain"
)

// runBenchClusterTrain is `metastation bench cluster-train`: the same
// sharded PPO run (seed and budget) on one node and with its rollouts
// spread over three raft nodes on loopback, wall time and exactness, and
// a run in which a follower dies holding a shard.
func runBenchClusterTrain(ctx context.Context, env command.Env, args []string) error {
	d := disttrain.DefaultBenchOptions()
	fs := command.NewFlagSet("bench cluster-train", env.Stderr)
	envName := fs.String("env", d.Env, "environment: trading or cartpole")
	updates := fs.Int("updates", d.Updates, "PPO updates per run (trading: 2,048 steps each)")
	seed := fs.Uint64("seed", d.Seed, "random seed of every run")
	kill := fs.Bool("kill", d.Kill, "also train once while a follower dies holding a shard")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *updates < 1 || *updates > 1000 {
		return command.Usagef("bench cluster-train: --updates must be between 1 and 1000")
	}
	if *envName != "trading" && *envName != "cartpole" {
		return command.Usagef("bench cluster-train: --env must be trading or cartpole")
	}
	o := disttrain.BenchOptions{Env: *envName, Updates: *updates, Seed: *seed, Kill: *kill}
	bar := progressbar.NewOptions(5, progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription("cluster-train"), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	started := false
	rep, err := disttrain.Bench(ctx, o, func(stage string) {
		if started {
			bar.Add(1)
		}
		started = true
		bar.Describe(stage)
	})
	bar.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "cluster-train: PPO on %s, %d steps (%d updates, %d shards of one environment), seed %d; 3 raft nodes in one process on loopback share this machine's cores\n",
		rep.Env, rep.Steps, rep.Updates, rep.Shards, *seed)
	fmt.Fprintf(env.Stdout, "  lock-step PPO, 1 node:  %.1f s (the classic update, for the cost of sharding)\n", rep.WallClassic)
	fmt.Fprintf(env.Stdout, "  sharded PPO, 1 node:    %.1f s (rollout %.0f%% of it)\n", rep.Wall1, 100*rep.RolloutShare1)
	fmt.Fprintf(env.Stdout, "  sharded PPO, 3 nodes:   %.1f s, speedup %.2f×; %d of %d shards collected by followers %v\n",
		rep.Wall3, rep.Speedup, rep.RemoteShards, rep.Updates*rep.Shards, rep.ByNode)
	fmt.Fprintf(env.Stdout, "  a shard, 3 nodes:       %.0f ms on the learner's worker, %.0f ms from order to answer on a follower\n", rep.LocalShardMs, rep.RemoteShardMs)
	if rep.CPU1 > 0 {
		fmt.Fprintf(env.Stdout, "  CPU time (process):     lock-step %.1f s, sharded 1 node %.1f s, 3 nodes %.1f s\n", rep.CPUClassic, rep.CPU1, rep.CPU3)
	}
	fmt.Fprintf(env.Stdout, "  3 nodes against 1:      bit-identical %v (max |Δ| over weights and statistics %g)\n", rep.BitIdentical, rep.MaxAbsDiff)
	if o.Kill {
		fmt.Fprintf(env.Stdout, "  a follower dies:        %d shard(s) reassigned, the run still bit-identical %v\n", rep.KillReassigned, rep.KillIdentical)
	}
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, rep)
	}
	return nil
}
