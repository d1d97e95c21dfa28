package app

import (
	"log/slog"
	"time"
)

// Config is what `metastation serve` runs with.
type Config struct {
	Addr      string
	DataDir   string
	Seed      int64
	NoBrowser bool
	LogLevel  slog.Level
	// LogFile is where serve logs: "" for stderr, "auto" for
	// metastation.log in DataDir (what a double-clicked binary does, having
	// no console), or a path.
	LogFile string
	// Token, when set, is required of every request (access.go); serve
	// sets one with --listen-any, when the server is reachable beyond
	// loopback.
	Token string
	// Showcase runs the seeded stand-in agents that keep the agent network
	// page full; they publish about 240 bus messages a second.
	Showcase bool
	// TournamentAgent is a trading-world checkpoint (metastation train
	// --env trading-ma --algo vdn|qmix) that enters the tournament.
	TournamentAgent string
	// LLMURL is an OpenAI-compatible chat completions endpoint of a local
	// model that rewrites the tournament's commentary; empty keeps the
	// templates. LLMModel names the model.
	LLMURL   string
	LLMModel string
	// SupplyTick is the wall time of one period of the crisis room; 0 is
	// the room's default (500 ms). Tests run faster rooms.
	SupplyTick time.Duration
	// CheckpointEvery is the wall time between a training run's
	// checkpoints (rl and marl); 0 keeps their 30 s default. The crash
	// torture test checkpoints often so that its kills land mid-write.
	CheckpointEvery time.Duration
	// Resource caps (serve --max-rows, --max-synth-jobs,
	// --max-queued-runs, --max-evaluations); 0 keeps each default. Every
	// refusal at a cap names its flag.
	MaxRows        int // rows of one data job; default 20,000,000
	MaxSynthJobs   int // data jobs queued or running at once; default 20
	MaxQueuedRuns  int // training runs waiting their turn, per kind (rl, marl); default 100
	MaxEvaluations int // held-out model evaluations running at once; default 2 (mlops.DefaultMaxEvaluations)
	// MarketDataDir holds real daily prices (Yahoo CSV files) that research
	// experiments check their rules against; a missing folder means
	// simulated data only.
	MarketDataDir string
	// ResearchDemo runs the research agents once on the built-in corpus
	// when the database holds no research run, so the Research page opens
	// on a memo.
	ResearchDemo bool
	// Cluster mode (app/cluster): ClusterNode is this node's id ("" runs
	// alone), RaftAddr where it listens for its peers, ClusterJoin the raft
	// address of a member to join ("" starts a new cluster) and
	// ClusterSecret the shared secret that authenticates node-to-node
	// traffic.
	ClusterNode   string
	RaftAddr      string
	ClusterJoin   string
	ClusterSecret string
	// ClusterFast uses 100 ms raft timeouts (loopback clusters) instead of
	// the 300 ms defaults (cluster.DefaultHeartbeatTimeout); RaftTimeout,
	// when set, replaces the defaults (heartbeat and election; lease half).
	ClusterFast bool
	RaftTimeout time.Duration
}
