package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/jobs"
)

// parseServeConfig reads serve's flags and their environment twins.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (app.Config, error) {
	fs := command.NewFlagSet("serve", stderr)
	var cfg app.Config
	var level string
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "loopback `host:port` to serve on; the next free port is taken if it is busy")
	fs.StringVar(&cfg.DataDir, "data", defaultDataDir(getenv), "`directory` holding the database")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of every random process: the same seed replays the same run")
	fs.BoolVar(&cfg.NoBrowser, "no-browser", false, "do not open a browser tab")
	fs.StringVar(&level, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&cfg.LogFile, "log-file", "", "log to this `file` instead of stderr; auto: metastation.log in the data directory (the default without a console)")
	fs.BoolVar(&cfg.Showcase, "showcase", true, "run the seeded showcase agents on the agent network page")
	fs.StringVar(&cfg.TournamentAgent, "tournament-agent", "", "trading-world checkpoint `file` (metastation train --env trading-ma) that enters the tournament")
	fs.StringVar(&cfg.LLMURL, "llm-url", "", "OpenAI-compatible chat completions `URL` of a local model that rewrites the commentary (empty: templates)")
	fs.StringVar(&cfg.LLMModel, "llm-model", "", "`name` of the model at --llm-url")
	fs.BoolVar(&cfg.ResearchDemo, "research-demo", true, "on a fresh database, run the research agents once on the built-in corpus")
	fs.StringVar(&cfg.MarketDataDir, "market-data", "../shared/data/market", "`directory` of real Yahoo CSV prices research experiments check against (missing: simulated data only)")
	fs.StringVar(&cfg.ClusterNode, "cluster", "", "run as cluster node `id` (cluster mode on raft; empty runs alone)")
	fs.StringVar(&cfg.RaftAddr, "raft-addr", "127.0.0.1:7400", "`host:port` this cluster node listens on for its peers")
	fs.StringVar(&cfg.ClusterJoin, "join", "", "raft `host:port` of a cluster member to join (empty starts a new cluster)")
	fs.StringVar(&cfg.ClusterSecret, "cluster-secret", "", "shared `secret` (16+ characters) that authenticates node-to-node traffic; prefer METASTATION_CLUSTER_SECRET")
	fs.BoolVar(&cfg.ClusterFast, "cluster-fast", false, "100 ms raft timeouts (failover in a few hundred ms on loopback) instead of the 300 ms defaults")
	fs.DurationVar(&cfg.RaftTimeout, "raft-timeout", 0, "raft heartbeat and election `timeout` (the lease is half of it); 0 keeps the 300 ms default; raise it on slow or distant machines")
	fs.DurationVar(&cfg.SupplyTick, "supply-tick", 500*time.Millisecond, "wall `time` of one period (a week) of the supply-chain crisis room")
	fs.DurationVar(&cfg.CheckpointEvery, "checkpoint-every", 0, "wall `time` between a training run's checkpoints; 0 keeps the 30s default")
	fs.IntVar(&cfg.MaxRows, "max-rows", jobs.MaxRows, fmt.Sprintf("most `rows` of one data job (at most %d)", synth.MaxRows))
	fs.IntVar(&cfg.MaxSynthJobs, "max-synth-jobs", jobs.MaxQueued, "most data `jobs` queued or running at once (they run one at a time)")
	fs.IntVar(&cfg.MaxQueuedRuns, "max-queued-runs", 100, "most training `runs` of each kind (rl, marl) waiting their turn")
	fs.IntVar(&cfg.MaxEvaluations, "max-evaluations", mlops.DefaultMaxEvaluations, "most held-out model `evaluations` (POST /api/models/{name}/evaluate) running at once; past it a request is refused with 503")
	listenAny := fs.Bool("listen-any", false, "allow a non-loopback --addr (such as 0.0.0.0:8080); every request then needs the access token printed in the URL")
	fs.StringVar(&cfg.Token, "token", "", "access `token` to require (default with --listen-any: a random one, printed in the URL)")
	if err := command.ParseFlags(fs, args, getenv); err != nil {
		return app.Config{}, err
	}
	if cfg.CheckpointEvery < 0 || cfg.CheckpointEvery > 0 && cfg.CheckpointEvery < 100*time.Millisecond {
		return app.Config{}, command.Usagef("--checkpoint-every must be 0 (the default) or at least 100ms, not %v", cfg.CheckpointEvery)
	}
	if cfg.MaxRows < 1 || cfg.MaxRows > synth.MaxRows {
		return app.Config{}, command.Usagef("--max-rows must be 1 to %d, not %d", synth.MaxRows, cfg.MaxRows)
	}
	if cfg.MaxSynthJobs < 1 || cfg.MaxQueuedRuns < 1 || cfg.MaxEvaluations < 1 {
		return app.Config{}, command.Usagef("--max-synth-jobs, --max-queued-runs and --max-evaluations must be at least 1")
	}
	if err := checkCluster(cfg); err != nil {
		return app.Config{}, err
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return app.Config{}, command.Usagef("--log-level %q: use debug, info, warn or error", level)
	}
	if *listenAny {
		if cfg.Token == "" {
			var b [16]byte
			rand.Read(b[:]) // never fails
			cfg.Token = hex.EncodeToString(b[:])
		}
	} else if err := checkLoopback(cfg.Addr); err != nil {
		return app.Config{}, command.Usagef("--addr: %v (add --listen-any to serve beyond this computer, with an access token)", err)
	}
	if cfg.SupplyTick < 20*time.Millisecond || cfg.SupplyTick > time.Minute {
		return app.Config{}, command.Usagef("--supply-tick must be 20ms to 1m, not %v", cfg.SupplyTick)
	}
	if cfg.DataDir == "" {
		return app.Config{}, command.Usagef("--data must name a directory")
	}
	return cfg, nil
}

// checkLoopback refuses addresses other than loopback: Metastation has no
// authentication, so it must not be reachable from the network.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address; Metastation only serves on 127.0.0.1, ::1 or localhost", host)
	}
	return nil
}

// checkCluster refuses cluster flags that cannot work together.
func checkCluster(cfg app.Config) error {
	if cfg.ClusterNode == "" {
		if cfg.ClusterJoin != "" {
			return command.Usagef("--join needs --cluster NODE_ID")
		}
		return nil
	}
	if len(cfg.ClusterSecret) < cluster.MinSecretLen {
		return command.Usagef("--cluster needs a shared secret of at least %d characters in --cluster-secret or METASTATION_CLUSTER_SECRET", cluster.MinSecretLen)
	}
	if _, _, err := net.SplitHostPort(cfg.RaftAddr); err != nil {
		return command.Usagef("--raft-addr %q is not host:port", cfg.RaftAddr)
	}
	if cfg.RaftTimeout != 0 && (cfg.RaftTimeout < 20*time.Millisecond || cfg.RaftTimeout > time.Minute) {
		return command.Usagef("--raft-timeout must be between 20ms and 1m, not %s", cfg.RaftTimeout)
	}
	if cfg.ClusterJoin != "" {
		if _, _, err := net.SplitHostPort(cfg.ClusterJoin); err != nil {
			return command.Usagef("--join %q is not the raft host:port of a member", cfg.ClusterJoin)
		}
	}
	return nil
}
