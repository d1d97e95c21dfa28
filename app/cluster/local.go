package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"
)

// LocalCluster is a cluster of in-process nodes on loopback ports, all on
// one FaultNet: what the tests, the fault runs and the bench drive. The
// first node bootstraps; the others join through it, as the CLI does.
type LocalCluster struct {
	Net *FaultNet

	mu    sync.Mutex
	nodes []*localNode
}

type localNode struct {
	cfg  Config
	node *Node
	db   io.Closer
}

// LocalOptions shape a local cluster.
type LocalOptions struct {
	Nodes   int
	Dir     string // each node's data directory is Dir/nID
	Secret  string
	Fast    bool // 100 ms heartbeat and election timeouts
	Timing  func(*Config)
	Seed    uint64
	Logger  *slog.Logger
	Snap    uint64 // snapshot threshold (0: raft's default)
	Trail   uint64 // trailing logs kept after a snapshot (0: default)
	ApplyTO time.Duration
	// OpenDB, when set, opens node id's SQLite database in dir; the rows
	// derived from the log go to its writer.
	OpenDB func(id, dir string) (*sql.DB, io.Closer, error)
}

// reserveAddr finds a free loopback port. It is released at once so the
// node can listen on it, and listen on it again after a restart.
func reserveAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("reserve a loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartLocal starts o.Nodes nodes and waits until they have all joined.
func StartLocal(ctx context.Context, o LocalOptions) (*LocalCluster, error) {
	if o.Nodes < 1 {
		return nil, fmt.Errorf("a local cluster needs at least one node")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &LocalCluster{Net: NewFaultNet(o.Seed)}
	for i := range o.Nodes {
		addr, err := reserveAddr()
		if err != nil {
			c.Close()
			return nil, err
		}
		id := fmt.Sprintf("n%d", i+1)
		cfg := Config{
			NodeID: id, RaftAddr: addr, DataDir: filepath.Join(o.Dir, id), Secret: o.Secret,
			Bootstrap: i == 0, Fault: c.Net, SnapshotThreshold: o.Snap, TrailingLogs: o.Trail,
			SnapshotInterval: 200 * time.Millisecond, ApplyTimeout: o.ApplyTO, Logger: o.Logger,
		}
		if o.Fast {
			cfg.FastTimeouts()
		}
		if o.Timing != nil {
			o.Timing(&cfg)
		}
		ln := &localNode{cfg: cfg}
		if o.OpenDB != nil {
			db, closer, err := o.OpenDB(id, cfg.DataDir)
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("open database of %s: %w", id, err)
			}
			ln.cfg.DB, ln.db = db, closer
		}
		c.nodes = append(c.nodes, ln)
		if err := c.Start(i); err != nil {
			c.Close()
			return nil, err
		}
		if i == 0 {
			if _, err := c.Leader(ctx, 30*time.Second); err != nil {
				c.Close()
				return nil, err
			}
			continue
		}
		jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = c.Node(i).JoinVia(jctx, c.Node(0).Addr())
		cancel()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("join %s: %w", id, err)
		}
	}
	if err := c.WaitConverged(ctx, 30*time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Len is the number of nodes, running or not.
func (c *LocalCluster) Len() int { return len(c.nodes) }

// Node returns node i, nil while it is stopped.
func (c *LocalCluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].node
}

// Index returns n's position, -1 if it is not one of these nodes.
func (c *LocalCluster) Index(n *Node) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ln := range c.nodes {
		if ln.node == n && n != nil {
			return i
		}
	}
	return -1
}

// Addrs returns every node's raft address.
func (c *LocalCluster) Addrs() []string {
	var out []string
	for _, ln := range c.nodes {
		out = append(out, ln.cfg.RaftAddr)
	}
	return out
}

// Config returns node i's configuration.
func (c *LocalCluster) Config(i int) Config { return c.nodes[i].cfg }

// Live returns the running nodes.
func (c *LocalCluster) Live() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Node
	for _, ln := range c.nodes {
		if ln.node != nil {
			out = append(out, ln.node)
		}
	}
	return out
}

// Stop shuts node i down; to its peers it has crashed.
func (c *LocalCluster) Stop(i int) {
	c.mu.Lock()
	n := c.nodes[i].node
	c.nodes[i].node = nil
	c.mu.Unlock()
	if n != nil {
		n.Close()
	}
}

// Start (re)opens node i from its data directory on its address.
func (c *LocalCluster) Start(i int) error {
	ln := c.nodes[i]
	var n *Node
	var err error
	for range 100 { // a just-closed port may take a moment to free
		if n, err = Open(ln.cfg); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", ln.cfg.NodeID, err)
	}
	c.mu.Lock()
	ln.node = n
	c.mu.Unlock()
	return nil
}

// Leader waits for a running node to lead.
func (c *LocalCluster) Leader(ctx context.Context, timeout time.Duration) (*Node, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, n := range c.Live() {
			if n.IsLeader() {
				return n, nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil, fmt.Errorf("no leader within %s", timeout)
}

// WaitConverged waits until every running node has the whole log applied
// and holds the same applied sequence and state.
func (c *LocalCluster) WaitConverged(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		nodes := c.Live()
		if len(nodes) == 0 {
			return fmt.Errorf("no node is running")
		}
		h0, ch0, a0 := nodes[0].StateHash()
		li := nodes[0].raft.LastIndex()
		same := true
		last = ""
		for _, n := range nodes {
			h, ch, a := n.StateHash()
			// Enough to tell a stalled commit from a diverged state.
			last += fmt.Sprintf(" %s:%s,term=%d,state_applied=%d,raft_applied=%d,commit=%d,last=%d,hash=%.8s,chain=%.8s", n.ID(), n.raft.State(),
				n.raft.CurrentTerm(), a, n.raft.AppliedIndex(), n.raft.CommitIndex(), n.raft.LastIndex(), h, ch)
			same = same && h == h0 && ch == ch0 && a == a0 && n.raft.LastIndex() == li && n.raft.AppliedIndex() >= li
		}
		if same {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("nodes did not converge within %s:%s", timeout, last)
}

// Close stops every node and closes their databases.
func (c *LocalCluster) Close() {
	for i, ln := range c.nodes {
		c.Stop(i)
		if ln.db != nil {
			ln.db.Close()
		}
	}
}
