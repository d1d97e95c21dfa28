package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/hashicorp/raft"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/store"
)

const testSecret = "test-cluster-secret-0123456789"

// tnode is a test node: its config (to restart it) and the open node.
type tnode struct {
	cfg  Config
	node *Node
	db   *store.DB
}

// tcluster is an in-process cluster on loopback ports.
type tcluster struct {
	t     testing.TB
	net   *FaultNet
	nodes []*tnode
	mu    sync.Mutex
}

type clusterOpts struct {
	n         int
	sqlite    bool
	threshold uint64
	trailing  uint64
	fast      bool
}

// freeAddr reserves a loopback port and releases it, so a node can be
// restarted on the same address.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func testLogger() *slog.Logger {
	if os.Getenv("CLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestCluster starts o.n nodes: the first bootstraps, the others join
// through it, as the CLI does.
func newTestCluster(t testing.TB, o clusterOpts) *tcluster {
	t.Helper()
	c := &tcluster{t: t, net: NewFaultNet(1)}
	base := t.TempDir()
	for i := range o.n {
		cfg := Config{
			NodeID:            fmt.Sprintf("n%d", i+1),
			RaftAddr:          freeAddr(t),
			DataDir:           filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			Secret:            testSecret,
			Bootstrap:         i == 0,
			Fault:             c.net,
			SnapshotThreshold: o.threshold,
			TrailingLogs:      o.trailing,
			SnapshotInterval:  200 * time.Millisecond,
			ApplyTimeout:      5 * time.Second,
			Logger:            testLogger(),
		}
		if o.fast {
			cfg.FastTimeouts()
		}
		tn := &tnode{cfg: cfg}
		if o.sqlite {
			db, err := store.Open(context.Background(), filepath.Join(cfg.DataDir, store.FileName), os.DirFS("../../migrations"))
			if err != nil {
				t.Fatal(err)
			}
			tn.db = db
			tn.cfg.DB = db.W
		}
		n, err := Open(tn.cfg)
		if err != nil {
			t.Fatalf("open %s: %v", cfg.NodeID, err)
		}
		tn.node = n
		c.nodes = append(c.nodes, tn)
		if i == 0 {
			c.waitLeader(5 * time.Second)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := n.JoinVia(ctx, c.nodes[0].node.Addr())
			cancel()
			if err != nil {
				t.Fatalf("join %s: %v", cfg.NodeID, err)
			}
		}
	}
	t.Cleanup(c.close)
	c.waitConverged(10 * time.Second)
	return c
}

func (c *tcluster) close() {
	for _, tn := range c.nodes {
		if tn.node != nil {
			tn.node.Close()
		}
		if tn.db != nil {
			tn.db.Close()
		}
	}
}

// live returns the running nodes.
func (c *tcluster) live() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Node
	for _, tn := range c.nodes {
		if tn.node != nil {
			out = append(out, tn.node)
		}
	}
	return out
}

// addrs returns every node's raft address.
func (c *tcluster) addrs() []string {
	var out []string
	for _, tn := range c.nodes {
		out = append(out, tn.cfg.RaftAddr)
	}
	return out
}

// leader waits for a leader among the live nodes that they all agree on.
func (c *tcluster) waitLeader(timeout time.Duration) *Node {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, n := range c.live() {
			if n.IsLeader() {
				return n
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %s", timeout)
	return nil
}

// stop shuts node i down (a crash as far as the others can tell).
func (c *tcluster) stop(i int) {
	c.mu.Lock()
	n := c.nodes[i].node
	c.nodes[i].node = nil
	c.mu.Unlock()
	if n != nil {
		n.Close()
	}
}

// start reopens node i from its data directory on its old address.
func (c *tcluster) start(i int) {
	c.t.Helper()
	tn := c.nodes[i]
	var n *Node
	var err error
	for range 50 { // the old port may take a moment to free
		if n, err = Open(tn.cfg); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("restart %s: %v", tn.cfg.NodeID, err)
	}
	c.mu.Lock()
	tn.node = n
	c.mu.Unlock()
}

func (c *tcluster) index(n *Node) int {
	for i, tn := range c.nodes {
		if tn.node == n {
			return i
		}
	}
	return -1
}

// waitConverged waits until every live node has applied the same sequence
// and holds the same state.
func (c *tcluster) waitConverged(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		nodes := c.live()
		h0, ch0, a0 := nodes[0].StateHash()
		same := true
		last = ""
		for _, n := range nodes {
			h, ch, a := n.StateHash()
			last += fmt.Sprintf(" %s:applied=%d", n.ID(), a)
			same = same && h == h0 && ch == ch0 && a == a0
		}
		if same && c.membersAgree(nodes) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("nodes did not converge within %s:%s", timeout, last)
}

func (c *tcluster) membersAgree(nodes []*Node) bool {
	l := nodes[0].raft.LastIndex()
	for _, n := range nodes {
		if n.raft.AppliedIndex() < l || n.raft.LastIndex() != l {
			return false
		}
	}
	return true
}

func rafts(a string) raft.ServerAddress { return raft.ServerAddress(a) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// dumpRows returns every cluster_* row of a node's database as text.
func dumpRows(t testing.TB, tn *tnode) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT key, value FROM cluster_meta ORDER BY key`,
		`SELECT round, voter, strategy FROM cluster_votes ORDER BY round, voter`,
		`SELECT model, alias, version, raft_index FROM cluster_aliases ORDER BY model, alias`,
		`SELECT raft_index, model, alias, from_version, to_version, actor, reason, at, node FROM cluster_alias_moves ORDER BY raft_index`,
		`SELECT raft_index, at, node, topic, sender, recipient, kind, payload FROM cluster_envelopes ORDER BY raft_index`,
		`SELECT round, status, seed, step, state, results, raft_index, node, at FROM cluster_rounds ORDER BY round`,
	} {
		rows, err := tn.db.R.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}
