package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/command"
)

// runBenchCluster is `metastation bench cluster`: three raft nodes on
// loopback in this process (each its own BoltDB log with fsync, snapshot
// store and TLS port), commit latency, throughput, failover over leader
// kills, snapshot install, and a porcupine-checked fault run.
func runBenchCluster(ctx context.Context, env command.Env, args []string) error {
	d := cluster.DefaultBenchOptions()
	fs := command.NewFlagSet("bench cluster", env.Stderr)
	commits := fs.Int("commits", d.Commits, "sequential writes timed for the latency figures")
	clients := fs.Int("clients", d.Clients, "concurrent writers for the throughput figure")
	kills := fs.Int("kills", d.Kills, "leader kills for the failover figures (the default 300 ms timeouts)")
	fastKills := fs.Int("fast-kills", d.FastKills, "leader kills with 100 ms timeouts, --cluster-fast (0 skips)")
	raftKills := fs.Int("raft-default-kills", d.RaftKills, "leader kills with hashicorp/raft's own 1 s timeouts (0 skips)")
	chaos := fs.Duration("chaos", d.Chaos, "length of the linearizability fault run")
	seed := fs.Uint64("seed", d.Seed, "random seed of the fault run")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	switch {
	case *commits < 10 || *commits > 100_000:
		return command.Usagef("bench cluster: --commits must be between 10 and 100000")
	case *clients < 1 || *clients > 1024:
		return command.Usagef("bench cluster: --clients must be between 1 and 1024")
	case *kills < 1 || *kills > 100 || *fastKills < 0 || *fastKills > 100 || *raftKills < 0 || *raftKills > 100:
		return command.Usagef("bench cluster: --kills must be between 1 and 100, --fast-kills and --raft-default-kills between 0 and 100")
	case *chaos < time.Second || *chaos > 10*time.Minute:
		return command.Usagef("bench cluster: --chaos must be between 1s and 10m")
	}
	o := d
	o.Commits, o.Clients, o.Kills, o.FastKills, o.RaftKills, o.Chaos, o.Seed = *commits, *clients, *kills, *fastKills, *raftKills, *chaos, *seed
	stages := []string{"commit latency", "throughput", "failover, default timeouts", "failover, 100 ms timeouts", "failover, raft's 1 s timeouts", "snapshot install", "linearizability under faults"}
	bar := progressbar.NewOptions(len(stages), progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription("cluster"), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	started := false
	rep, err := cluster.Bench(ctx, o, func(stage string) {
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
	fmt.Fprintf(env.Stdout, "cluster: 3 nodes on loopback in one process (BoltDB log with fsync, TLS between nodes); loopback nodes share this machine's cores and disk\n")
	fmt.Fprintf(env.Stdout, "  commit latency:   p50 %.2f ms, p99 %.2f ms over %d writes to the leader (forwarded from a follower: p50 %.2f ms)\n", rep.CommitP50ms, rep.CommitP99ms, rep.Commits, rep.ForwardedP50ms)
	fmt.Fprintf(env.Stdout, "  throughput:       %.0f committed writes/s from %d concurrent clients (raft batching)\n", rep.WritesPerS, rep.Clients)
	fmt.Fprintf(env.Stdout, "  failover:         p50 %.0f ms, max %.0f ms over %d leader kills, default %.0f ms timeouts (kill -> a write commits again; new leader known at p50 %.0f ms)\n", rep.FailoverP50ms, rep.FailoverMaxms, rep.Kills, rep.HeartbeatTimeoutms, rep.ElectionP50ms)
	if rep.FastKills > 0 {
		fmt.Fprintf(env.Stdout, "  failover:         p50 %.0f ms, max %.0f ms over %d leader kills, 100 ms timeouts (--cluster-fast)\n", rep.FastFailoverP50ms, rep.FastFailoverMaxms, rep.FastKills)
	}
	if rep.RaftKills > 0 {
		fmt.Fprintf(env.Stdout, "  failover:         p50 %.0f ms, max %.0f ms over %d leader kills, hashicorp/raft's own 1 s timeouts\n", rep.RaftFailoverP50ms, rep.RaftFailoverMaxms, rep.RaftKills)
	}
	fmt.Fprintf(env.Stdout, "  snapshot install: %.0f ms for a restarted follower %d writes behind (start -> same state hash)\n", rep.SnapshotInstallms, rep.SnapshotEntries)
	fmt.Fprintf(env.Stdout, "  fault run:        %d ops, linearizable %v, lost acknowledged writes %d, same state hash on every node %v\n", rep.ChaosOps, rep.Linearizable, rep.LostAcknowledgedWrites, rep.SameStateHash)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, rep)
	}
	return nil
}
