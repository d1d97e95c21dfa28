package cluster

import (
	"database/sql"
	"log/slog"
	"net"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// Config is one node's configuration.
type Config struct {
	// NodeID names the node in the cluster: unique, stable across restarts.
	NodeID string
	// RaftAddr is where the node listens for its peers (HOST:PORT; port 0
	// picks a free one). Advertise, when set, is the address peers dial.
	RaftAddr  string
	Advertise string
	// DataDir holds raft/raft.db (the BoltDB log and stable store) and
	// raft/snapshots.
	DataDir string
	// Secret is the shared cluster secret (at least MinSecretLen bytes).
	Secret string

	// Bootstrap starts a new cluster of this node alone when the data
	// directory holds no raft state. Peers, when set, bootstraps with all
	// of them instead (every node given the same list).
	Bootstrap bool
	Peers     []Peer

	// Raft timing; zero takes the Default* values below.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// Snapshots: after SnapshotThreshold new entries, checked every
	// SnapshotInterval; TrailingLogs entries are kept after a snapshot so
	// a slightly lagging follower catches up from the log.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// ApplyTimeout bounds a write end to end (forwarding and retries
	// included) when the caller's context has no deadline.
	ApplyTimeout time.Duration

	// DB, when set, receives the cluster_* rows derived from the log (the
	// writer connection of app/store).
	DB *sql.DB
	// Fault, when set, carries the node-to-node traffic (fault tests).
	Fault *FaultNet
	// OnApply, when set, is called after each applied batch on the state
	// machine's goroutine, with the commands applied; it must not block.
	OnApply func([]Applied)
	Logger  *slog.Logger
}

// Peer is a member of the cluster.
type Peer struct {
	ID       string `json:"id"`
	Addr     string `json:"addr"`
	Suffrage string `json:"suffrage,omitempty"` // Voter, Nonvoter, Staging
	Leader   bool   `json:"leader,omitempty"`
}

// Defaults. The raft timeouts (300 ms heartbeat and election, 150 ms
// lease) are below hashicorp/raft's own (1 s, 1 s, 500 ms), which is also
// the fastest timing Consul offers (it multiplies that base by an integer
// raft_multiplier, 1 being its production recommendation, default 5 for
// small shared machines). The target is failover under a second: a
// follower calls an election only after 1x-2x the heartbeat timeout
// without contact, and the other survivor must time out too before it
// grants its vote, so raft's 1 s cannot do it (measured here: p50 about
// 2-2.7 s). 500 ms gave p50 0.93 s, max 1.5 s; 300 ms p50 0.54-0.80 s,
// max 0.92-1.1 s (runs of 10 and 20 kills at load 8-12 on two cores;
// docs/notes/issue-18.md). Lower (100 ms,
// FastTimeouts) fails over in ~330 ms but flapped on a loaded two-core
// machine. The nodes are LAN or loopback peers with small entries, so a
// heartbeat every 30 ms (raft sends them at a tenth of the timeout) costs
// nothing. The lease, how long a leader acts without hearing from a
// quorum, stays at half the heartbeat timeout, raft's own ratio. Slow or
// distant machines scale all three with Config.Timeouts (--raft-timeout).
const (
	DefaultHeartbeatTimeout   = 300 * time.Millisecond
	DefaultElectionTimeout    = 300 * time.Millisecond
	DefaultLeaderLeaseTimeout = 150 * time.Millisecond
	DefaultCommitTimeout      = 50 * time.Millisecond
	DefaultSnapshotThreshold  = 8192
	DefaultSnapshotInterval   = 2 * time.Minute
	DefaultTrailingLogs       = 10240
	DefaultApplyTimeout       = 10 * time.Second
)

// Timeouts sets the heartbeat and election timeouts to d and the leader
// lease to d/2 (--raft-timeout; 0 keeps the defaults).
func (c *Config) Timeouts(d time.Duration) {
	if d <= 0 {
		return
	}
	c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = d, d, d/2
}

// RaftDefaultTimeouts sets hashicorp/raft's own timing (1 s heartbeat and
// election, 500 ms lease): what the bench compares the defaults with.
func (c *Config) RaftDefaultTimeouts() {
	c.HeartbeatTimeout = 1000 * time.Millisecond
	c.ElectionTimeout = 1000 * time.Millisecond
	c.LeaderLeaseTimeout = 500 * time.Millisecond
}

// FastTimeouts sets 100 ms heartbeat and election timeouts (50 ms lease):
// failover in a few hundred milliseconds on a quiet network.
func (c *Config) FastTimeouts() {
	c.HeartbeatTimeout = 100 * time.Millisecond
	c.ElectionTimeout = 100 * time.Millisecond
	c.LeaderLeaseTimeout = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
}

// withDefaults returns c with zero values filled in, or a clear error.
func (c Config) withDefaults() (Config, error) {
	if !validName(c.NodeID, 64) {
		return c, errs.Errorf(errs.Invalid, "a cluster node needs an id of 1 to 64 printable characters")
	}
	if c.DataDir == "" {
		return c, errs.Errorf(errs.Invalid, "a cluster node needs a data directory")
	}
	if c.RaftAddr == "" {
		return c, errs.Errorf(errs.Invalid, "a cluster node needs a raft address (HOST:PORT)")
	}
	if _, _, err := net.SplitHostPort(c.RaftAddr); err != nil {
		return c, errs.Errorf(errs.Invalid, "the raft address %q is not HOST:PORT", c.RaftAddr)
	}
	for _, p := range c.Peers {
		if !validName(p.ID, 64) {
			return c, errs.Errorf(errs.Invalid, "a bootstrap peer has no valid id")
		}
		if _, _, err := net.SplitHostPort(p.Addr); err != nil {
			return c, errs.Errorf(errs.Invalid, "bootstrap peer %s has address %q, not HOST:PORT", p.ID, p.Addr)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&c.ElectionTimeout, DefaultElectionTimeout)
	def(&c.LeaderLeaseTimeout, DefaultLeaderLeaseTimeout)
	def(&c.CommitTimeout, DefaultCommitTimeout)
	def(&c.SnapshotInterval, DefaultSnapshotInterval)
	def(&c.ApplyTimeout, DefaultApplyTimeout)
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		c.LeaderLeaseTimeout = c.HeartbeatTimeout
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
