package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/metastation/metastation/app/cluster"
)

// TestMain lets the process test run this test binary as the metastation
// binary itself (METASTATION_TEST_AS_MAIN set): main with its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("METASTATION_TEST_AS_MAIN") != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const sigkillSecret = "process-test-secret-0123456789"

// serverCluster is three full `metastation serve --cluster` processes on
// loopback (market, tournament, every service), each its own data
// directory.
type serverCluster struct {
	t        *testing.T
	timing   []string // --raft-timeout or --cluster-fast
	ids      []string
	raft     []string
	web      []string
	dirs     []string
	procs    []*exec.Cmd
	logFiles []*os.File
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newServerCluster(t *testing.T, timing ...string) *serverCluster {
	base := t.TempDir()
	p := &serverCluster{t: t, timing: timing, procs: make([]*exec.Cmd, 3), logFiles: make([]*os.File, 3)}
	for i := range 3 {
		id := fmt.Sprintf("n%d", i+1)
		p.ids = append(p.ids, id)
		p.raft = append(p.raft, freeAddr(t))
		p.web = append(p.web, freeAddr(t))
		p.dirs = append(p.dirs, filepath.Join(base, id))
	}
	t.Cleanup(func() {
		for i := range 3 {
			p.kill(i)
			if f := p.logFiles[i]; f != nil {
				f.Close()
			}
		}
	})
	return p
}

// start runs node i: the first bootstraps the cluster, the others join it
// (a restarted node is already a member; its join is answered at once).
func (p *serverCluster) start(i int) {
	p.t.Helper()
	args := append([]string{"serve", "--no-browser", "--cluster", p.ids[i], "--addr", p.web[i],
		"--raft-addr", p.raft[i], "--data", p.dirs[i]}, p.timing...)
	if i > 0 {
		args = append(args, "--join", p.raft[0])
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "METASTATION_TEST_AS_MAIN=1", "METASTATION_CLUSTER_SECRET="+sigkillSecret)
	if p.logFiles[i] == nil {
		f, err := os.Create(filepath.Join(filepath.Dir(p.dirs[i]), p.ids[i]+".log"))
		if err != nil {
			p.t.Fatal(err)
		}
		p.logFiles[i] = f
	}
	cmd.Stdout, cmd.Stderr = p.logFiles[i], p.logFiles[i]
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.procs[i] = cmd
}

// kill sends SIGKILL to node i's process and reaps it.
func (p *serverCluster) kill(i int) {
	if c := p.procs[i]; c != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
		p.procs[i] = nil
	}
}

func (p *serverCluster) health(ctx context.Context, c *cluster.Client, i int) (cluster.Health, error) {
	hctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	return c.Health(hctx, p.raft[i])
}

// leader waits until a live node says it leads.
func (p *serverCluster) leader(ctx context.Context, c *cluster.Client, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for i := range p.raft {
			if p.procs[i] == nil {
				continue
			}
			if h, err := p.health(ctx, c, i); err == nil && h.Leader {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return -1
}

// caughtUp waits until node i follows a leader and has applied what that
// leader had committed when asked.
func (p *serverCluster) caughtUp(ctx context.Context, c *cluster.Client, i int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if l := p.leader(ctx, c, time.Second); l >= 0 && l != i {
			lh, err1 := p.health(ctx, c, l)
			h, err2 := p.health(ctx, c, i)
			if err1 == nil && err2 == nil && h.LeaderID == lh.NodeID && h.AppliedIndex >= lh.CommitIndex {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not catch up in %s", p.ids[i], timeout)
}

// TestServerProcessesKilledBySIGKILL runs three full metastation servers
// in cluster mode, each its own process on loopback, with a concurrent
// porcupine history of alias moves and linearizable reads through a
// cluster client, and SIGKILLs the leader's process over and over (then
// restarts it): with the 300 ms default timeouts and with --cluster-fast
// (100 ms). Each kill's failover is timed from the SIGKILL until a write
// commits through a survivor. After the run: porcupine linearizable, every
// acknowledged write present on every process at its index, the same
// applied sequence (chain hash) and state hash everywhere. Opt-in
// (METASTATION_LONG=1): three full servers per case on a shared machine;
// app/cluster's TestProcessesKilledBySIGKILL is the quick one (raft nodes
// only). METASTATION_SIGKILL_KILLS sets the kills per case (default 10),
// METASTATION_SIGKILL_RAFT_TIMEOUT=200ms runs one case with that timeout.
func TestServerProcessesKilledBySIGKILL(t *testing.T) {
	if os.Getenv("METASTATION_LONG") == "" {
		t.Skip("three full servers per case; set METASTATION_LONG=1 (app/cluster's TestProcessesKilledBySIGKILL runs by default)")
	}
	kills := 10
	if n, err := fmt.Sscan(os.Getenv("METASTATION_SIGKILL_KILLS"), &kills); n == 1 && err == nil && kills < 1 {
		kills = 1
	}
	cases := []struct {
		name   string
		timing []string
	}{
		{"default-300ms", nil},
		{"fast-100ms", []string{"--cluster-fast"}},
	}
	if d := os.Getenv("METASTATION_SIGKILL_RAFT_TIMEOUT"); d != "" { // one case, another timeout
		cases = cases[:1]
		cases[0].name, cases[0].timing = "raft-timeout-"+d, []string{"--raft-timeout", d}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { sigkillRun(t, kills, tc.timing) })
	}
}

func sigkillRun(t *testing.T, kills int, timing []string) {
	ctx := t.Context()
	p := newServerCluster(t, timing...)
	c, err := cluster.NewClient(sigkillSecret, p.raft)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.start(0)
	if p.leader(ctx, c, 120*time.Second) != 0 {
		t.Fatal("the first server did not bootstrap a cluster")
	}
	p.start(1)
	p.start(2)
	for i := 1; i < 3; i++ {
		if err := p.caughtUp(ctx, c, i, 120*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	h := cluster.NewHistory()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx, stop, cluster.ChaosOptions{Clients: 3, Keys: 3, Seed: 5, OpTimeout: 3 * time.Second, AliasesOnly: true},
			func(int) cluster.Target { return c })
	}()
	var failovers, elections []time.Duration
	for k := range kills {
		time.Sleep(time.Second)
		l := p.leader(ctx, c, 30*time.Second)
		if l < 0 {
			t.Fatal("no leader during the run")
		}
		t0 := time.Now()
		p.kill(l)
		elected := make(chan time.Duration, 1)
		go func() {
			if nl := p.leader(ctx, c, 30*time.Second); nl >= 0 {
				elected <- time.Since(t0)
			}
			close(elected)
		}()
		// A write through the survivors: the cluster serves writes again.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := c.Apply(wctx, cluster.Command{ID: fmt.Sprintf("failover-%d-%d", k, t0.UnixNano()), Kind: cluster.KindEnvelope,
			Envelope: &cluster.Envelope{Topic: "agent.failover", From: "sigkill-test", Kind: "probe"}})
		cancel()
		if err != nil {
			t.Fatalf("kill %d: no write committed after the SIGKILL of %s: %v", k+1, p.ids[l], err)
		}
		fo := time.Since(t0)
		failovers = append(failovers, fo)
		if d, ok := <-elected; ok {
			elections = append(elections, d)
		}
		t.Logf("kill %d: SIGKILL %s; a write commits after %s", k+1, p.ids[l], fo.Round(time.Millisecond))
		p.start(l)
		if err := p.caughtUp(ctx, c, l, 120*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
	slices.Sort(failovers)
	slices.Sort(elections)
	t.Logf("failover over %d SIGKILLs: p50 %s, max %s; new leader known p50 %s",
		len(failovers), failovers[len(failovers)/2].Round(time.Millisecond), failovers[len(failovers)-1].Round(time.Millisecond),
		elections[len(elections)/2].Round(time.Millisecond))

	var rep cluster.ChaosReport
	h.Check(&rep)
	t.Logf("%d ops, %d acknowledged, %d unknown outcome, porcupine %s", rep.Ops, rep.Acknowledged, rep.Unknown, rep.Check)
	if rep.Ops < 20 || !rep.Linearizable {
		t.Fatalf("%d ops, linearizable %v (%s)", rep.Ops, rep.Linearizable, rep.Check)
	}
	// The same applied sequence and state everywhere: the leader's
	// tournament keeps writing checkpoints, so poll for a moment when all
	// three have applied the same index.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var hs []cluster.Health
		for i := range p.raft {
			if hh, err := p.health(ctx, c, i); err == nil {
				hs = append(hs, hh)
			}
		}
		same := len(hs) == 3
		for _, hh := range hs {
			same = same && hh.AppliedIndex == hs[0].AppliedIndex && hh.Chain == hs[0].Chain && hh.StateHash == hs[0].StateHash
		}
		if same {
			t.Logf("converged at applied index %d: chain %.12s, state %.12s", hs[0].AppliedIndex, hs[0].Chain, hs[0].StateHash)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the processes did not converge: %+v", hs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	lost := 0
	for _, a := range p.raft {
		lost += h.Missing(func(id string) (cluster.Result, bool) {
			ans, err := c.ReadAt(ctx, a, cluster.Query{Kind: cluster.QueryCommand, ID: id})
			if err != nil || ans.Result == nil {
				return cluster.Result{}, false
			}
			return *ans.Result, true
		})
	}
	if lost != 0 {
		t.Fatalf("%d acknowledged writes are missing", lost)
	}
}
