package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs a cluster node instead of the tests when the process
// tests start this binary as one (CLUSTER_CHILD_ID set).
func TestMain(m *testing.M) {
	if id := os.Getenv("CLUSTER_CHILD_ID"); id != "" {
		os.Exit(runChildNode(id))
	}
	os.Exit(m.Run())
}

// runChildNode runs one node until SIGTERM (or SIGKILL).
func runChildNode(id string) int {
	var peers []Peer
	for _, p := range strings.Split(os.Getenv("CLUSTER_CHILD_PEERS"), ",") {
		pid, addr, _ := strings.Cut(p, "=")
		peers = append(peers, Peer{ID: pid, Addr: addr})
	}
	cfg := Config{NodeID: id, RaftAddr: os.Getenv("CLUSTER_CHILD_ADDR"), DataDir: os.Getenv("CLUSTER_CHILD_DIR"),
		Secret: testSecret, Peers: peers, Logger: testLogger()}
	cfg.FastTimeouts()
	if os.Getenv("CLUSTER_CHILD_SMALL_LOG") != "" {
		// Snapshot often and keep a short log: a follower that was down
		// for a few hundred writes catches up from a snapshot.
		cfg.SnapshotThreshold, cfg.TrailingLogs, cfg.SnapshotInterval = 64, 16, 200*time.Millisecond
	}
	n, err := Open(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := n.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// procCluster is three nodes, each its own process of this test binary.
type procCluster struct {
	t     *testing.T
	ids   []string
	addrs []string
	dirs  []string
	procs []*exec.Cmd
	env   []string // extra environment of every child
}

// newProcCluster reserves three addresses and data directories and starts
// the three processes.
func newProcCluster(t *testing.T, env ...string) *procCluster {
	base := t.TempDir()
	p := &procCluster{t: t, procs: make([]*exec.Cmd, 3), env: env}
	for i := range 3 {
		addr, err := reserveAddr()
		if err != nil {
			t.Fatal(err)
		}
		p.ids = append(p.ids, fmt.Sprintf("p%d", i+1))
		p.addrs = append(p.addrs, addr)
		p.dirs = append(p.dirs, filepath.Join(base, fmt.Sprintf("p%d", i+1)))
	}
	for i := range 3 {
		p.start(i)
	}
	t.Cleanup(func() {
		for i := range 3 {
			p.kill(i)
		}
	})
	return p
}

func (p *procCluster) start(i int) {
	p.t.Helper()
	var peers []string
	for j := range p.ids {
		peers = append(peers, p.ids[j]+"="+p.addrs[j])
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CLUSTER_CHILD_ID="+p.ids[i], "CLUSTER_CHILD_ADDR="+p.addrs[i],
		"CLUSTER_CHILD_DIR="+p.dirs[i], "CLUSTER_CHILD_PEERS="+strings.Join(peers, ","))
	cmd.Env = append(cmd.Env, p.env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.procs[i] = cmd
}

// kill sends SIGKILL to node i and reaps it.
func (p *procCluster) kill(i int) {
	if c := p.procs[i]; c != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
		p.procs[i] = nil
	}
}

func (p *procCluster) leader(ctx context.Context, c *Client, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for i, a := range p.addrs {
			if p.procs[i] == nil {
				continue
			}
			hctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			h, err := c.Health(hctx, a)
			cancel()
			if err == nil && h.Leader {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return -1
}

// TestProcessesKilledBySIGKILL runs three nodes as separate processes on
// loopback, records a concurrent history through a Client while the
// leader's process is SIGKILLed and restarted over and over, and checks
// the history with porcupine and the invariants on every node.
func TestProcessesKilledBySIGKILL(t *testing.T) {
	d := 4 * time.Second
	if os.Getenv("METASTATION_LONG") != "" {
		d = 30 * time.Second
	}
	ctx := t.Context()
	p := newProcCluster(t)
	c, err := NewClient(testSecret, p.addrs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p.leader(ctx, c, 20*time.Second) < 0 {
		t.Fatal("the processes elected no leader")
	}

	h := NewHistory()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx, stop, ChaosOptions{Clients: 4, Keys: 3, Seed: 11, OpTimeout: 2 * time.Second}, func(int) Target { return c })
	}()
	var kills []string
	start := time.Now()
	for time.Since(start) < d {
		time.Sleep(700 * time.Millisecond)
		l := p.leader(ctx, c, 10*time.Second)
		if l < 0 {
			t.Fatal("no leader during the run")
		}
		t0 := time.Now()
		p.kill(l)
		nl := p.leader(ctx, c, 10*time.Second)
		kills = append(kills, fmt.Sprintf("SIGKILL %s; %s leads after %s", p.ids[l], p.ids[max(nl, 0)], time.Since(t0).Round(time.Millisecond)))
		time.Sleep(300 * time.Millisecond)
		p.start(l)
	}
	close(stop)
	<-done
	var rep ChaosReport
	h.Check(&rep)
	for _, k := range kills {
		t.Log(k)
	}
	t.Logf("%d ops, %d acknowledged, %d unknown, check %s", rep.Ops, rep.Acknowledged, rep.Unknown, rep.Check)
	if rep.Ops < 25 || !rep.Linearizable {
		t.Fatalf("%d ops, linearizable %v (%s)", rep.Ops, rep.Linearizable, rep.Check)
	}

	// Converged: the same applied sequence and state on every process,
	// every acknowledged write in each.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var hs []Health
		for _, a := range p.addrs {
			if hh, err := c.Health(ctx, a); err == nil {
				hs = append(hs, hh)
			}
		}
		same := len(hs) == 3
		for _, hh := range hs {
			same = same && hh.Chain == hs[0].Chain && hh.StateHash == hs[0].StateHash && hh.AppliedIndex >= hs[0].CommitIndex
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the processes did not converge: %+v", hs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	lost := 0
	for _, a := range p.addrs {
		lost += h.Missing(func(id string) (Result, bool) {
			ans, err := c.ReadAt(ctx, a, Query{Kind: QueryCommand, ID: id})
			if err != nil || ans.Result == nil {
				return Result{}, false
			}
			return *ans.Result, true
		})
	}
	if lost != 0 {
		t.Fatalf("%d acknowledged writes are missing", lost)
	}
}

// TestSIGKILLedFollowerCatchesUpFromSnapshot SIGKILLs a follower's
// process, writes past what the others keep of their logs (they snapshot
// every 64 entries and keep 16), restarts it: it must install a snapshot
// and reach the same applied sequence and state hash, with every write
// acknowledged while it was down.
func TestSIGKILLedFollowerCatchesUpFromSnapshot(t *testing.T) {
	ctx := t.Context()
	p := newProcCluster(t, "CLUSTER_CHILD_SMALL_LOG=1")
	c, err := NewClient(testSecret, p.addrs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := p.leader(ctx, c, 30*time.Second)
	if l < 0 {
		t.Fatal("the processes elected no leader")
	}
	f := (l + 1) % 3
	hf, err := c.Health(ctx, p.addrs[f])
	if err != nil {
		t.Fatal(err)
	}
	p.kill(f)
	var ids []string
	for i := range 300 {
		id := fmt.Sprintf("down-%d", i)
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := c.Apply(wctx, Command{ID: id, Kind: KindAlias, Alias: &AliasMove{Model: "m", Alias: fmt.Sprint(i % 5), Version: i + 1}})
		cancel()
		if err != nil {
			t.Fatalf("write %d with %s down: %v", i, p.ids[f], err)
		}
		ids = append(ids, id)
	}
	// The survivors' logs no longer reach back to what the follower had:
	// it can catch up only from a snapshot.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var compacted int
		for i, a := range p.addrs {
			if i == f {
				continue
			}
			if hh, err := c.Health(ctx, a); err == nil && hh.LastSnapshotIndex > hf.LastIndex+16 {
				compacted++
			}
		}
		if compacted == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the survivors took no snapshot past the follower's log")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.start(f)
	deadline = time.Now().Add(60 * time.Second)
	for {
		var hs []Health
		for _, a := range p.addrs {
			hctx, cancel := context.WithTimeout(ctx, time.Second)
			if hh, err := c.Health(hctx, a); err == nil {
				hs = append(hs, hh)
			}
			cancel()
		}
		same := len(hs) == 3
		for _, hh := range hs {
			same = same && hh.AppliedIndex == hs[0].AppliedIndex && hh.Chain == hs[0].Chain && hh.StateHash == hs[0].StateHash
		}
		if same {
			h := hs[f]
			if h.LastSnapshotIndex == 0 {
				t.Fatalf("%s caught up without a snapshot: %+v", p.ids[f], h)
			}
			t.Logf("%s caught up from a snapshot at index %d to applied index %d, state %.12s", p.ids[f], h.LastSnapshotIndex, h.AppliedIndex, h.StateHash)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted follower did not converge: %+v", hs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range ids {
		ans, err := c.ReadAt(ctx, p.addrs[f], Query{Kind: QueryCommand, ID: id})
		if err != nil || ans.Result == nil {
			t.Fatalf("%s lacks the write %s acknowledged while it was down: %v", p.ids[f], id, err)
		}
	}
}
