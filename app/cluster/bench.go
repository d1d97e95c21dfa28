package cluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// BenchOptions shape `metastation bench cluster`.
type BenchOptions struct {
	Dir           string        // scratch directory ("" for a temporary one, removed after)
	Commits       int           // sequential writes timed for the latency figures
	Clients       int           // concurrent writers for the throughput figure
	Throughput    time.Duration // how long they write
	Kills         int           // leader kills for the failover figures (the default 300 ms timeouts)
	FastKills     int           // leader kills with 100 ms timeouts (FastTimeouts)
	RaftKills     int           // leader kills with hashicorp/raft's own 1 s timeouts (0 skips)
	SnapshotWrite int           // writes a stopped follower misses before it installs a snapshot
	Chaos         time.Duration // length of the linearizability fault run
	Seed          uint64
}

// DefaultBenchOptions are the figures' defaults (about a minute here).
func DefaultBenchOptions() BenchOptions {
	return BenchOptions{Commits: 500, Clients: 64, Throughput: 3 * time.Second, Kills: 10, FastKills: 10, RaftKills: 3,
		SnapshotWrite: 2000, Chaos: 6 * time.Second, Seed: 1}
}

// BenchReport is what the bench measured, in the keys.
type BenchReport struct {
	Nodes                  int     `json:"nodes"`
	Commits                int     `json:"commits"`
	CommitP50ms            float64 `json:"commit_p50_ms"` // one write acknowledged by the leader, fsync on every node
	CommitP99ms            float64 `json:"commit_p99_ms"`
	ForwardedP50ms         float64 `json:"forwarded_commit_p50_ms"` // the same write sent to a follower
	Clients                int     `json:"clients"`
	WritesPerS             float64 `json:"writes_per_s"` // committed writes/s, concurrent clients, raft batching
	Kills                  int     `json:"kills"`
	HeartbeatTimeoutms     float64 `json:"heartbeat_timeout_ms"` // the defaults the failover figures ran with
	FailoverP50ms          float64 `json:"failover_p50_ms"`      // leader killed -> a write committed again (default timeouts)
	FailoverMaxms          float64 `json:"failover_max_ms"`
	ElectionP50ms          float64 `json:"election_p50_ms"` // leader killed -> a new leader known (default timeouts)
	FastKills              int     `json:"fast_kills"`
	FastFailoverP50ms      float64 `json:"fast_failover_p50_ms"` // with 100 ms timeouts (--cluster-fast)
	FastFailoverMaxms      float64 `json:"fast_failover_max_ms"`
	FastElectionP50ms      float64 `json:"fast_election_p50_ms"`
	RaftKills              int     `json:"raft_default_kills"`
	RaftFailoverP50ms      float64 `json:"raft_default_failover_p50_ms"` // with hashicorp/raft's own 1 s timeouts
	RaftFailoverMaxms      float64 `json:"raft_default_failover_max_ms"`
	SnapshotInstallms      float64 `json:"snapshot_install_ms"` // a restarted follower behind the leader's log: start -> same state hash
	SnapshotEntries        int     `json:"snapshot_entries"`
	ChaosOps               int     `json:"chaos_ops"`
	Linearizable           bool    `json:"linearizable"`
	LostAcknowledgedWrites int     `json:"lost_acknowledged_writes"`
	SameStateHash          bool    `json:"same_state_hash"`
}

// Bench runs the cluster benchmark on three in-process nodes on loopback,
// each with its own BoltDB log (fsync on) and snapshot store. progress is
// told which stage runs.
func Bench(ctx context.Context, o BenchOptions, progress func(stage string)) (BenchReport, error) {
	rep := BenchReport{Nodes: 3}
	if progress == nil {
		progress = func(string) {}
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "metastation-bench-cluster-")
		if err != nil {
			return rep, fmt.Errorf("scratch directory: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	sub := func(name string) string { return dir + string(os.PathSeparator) + name }
	secret := "bench-secret-" + strconv.FormatUint(o.Seed, 10) + "-0123456789"

	progress("commit latency")
	c, err := StartLocal(ctx, LocalOptions{Nodes: 3, Dir: sub("latency"), Secret: secret, Fast: true, Seed: o.Seed})
	if err != nil {
		return rep, err
	}
	err = benchLatency(ctx, c, o, &rep)
	if err == nil {
		progress("throughput")
		err = benchThroughput(ctx, c, o, &rep)
	}
	c.Close()
	if err != nil {
		return rep, err
	}

	progress("failover, default timeouts")
	rep.HeartbeatTimeoutms = ms(DefaultHeartbeatTimeout)
	f, p50, max, el, err := benchFailover(ctx, sub("failover"), secret, o.Kills, nil, o.Seed)
	if err != nil {
		return rep, err
	}
	rep.Kills, rep.FailoverP50ms, rep.FailoverMaxms, rep.ElectionP50ms = f, p50, max, el
	if o.FastKills > 0 {
		progress("failover, 100 ms timeouts")
		f, p50, max, el, err = benchFailover(ctx, sub("failover-fast"), secret, o.FastKills, (*Config).FastTimeouts, o.Seed)
		if err != nil {
			return rep, err
		}
		rep.FastKills, rep.FastFailoverP50ms, rep.FastFailoverMaxms, rep.FastElectionP50ms = f, p50, max, el
	}
	if o.RaftKills > 0 {
		progress("failover, raft's 1 s timeouts")
		f, p50, max, _, err = benchFailover(ctx, sub("failover-raft"), secret, o.RaftKills, (*Config).RaftDefaultTimeouts, o.Seed)
		if err != nil {
			return rep, err
		}
		rep.RaftKills, rep.RaftFailoverP50ms, rep.RaftFailoverMaxms = f, p50, max
	}

	progress("snapshot install")
	if err := benchSnapshot(ctx, sub("snapshot"), secret, o, &rep); err != nil {
		return rep, err
	}

	progress("linearizability under faults")
	c, err = StartLocal(ctx, LocalOptions{Nodes: 3, Dir: sub("chaos"), Secret: secret, Fast: true, Seed: o.Seed})
	if err != nil {
		return rep, err
	}
	defer c.Close()
	cr, err := RunChaos(ctx, c, ChaosOptions{Duration: o.Chaos, Clients: 6, Keys: 3, Kills: true, Isolate: true, Flaky: true, Seed: o.Seed})
	if err != nil {
		return rep, err
	}
	rep.ChaosOps, rep.Linearizable, rep.LostAcknowledgedWrites, rep.SameStateHash = cr.Ops, cr.Linearizable, cr.LostAcknowledged, cr.SameState && cr.SameSequence
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantile is the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func benchLatency(ctx context.Context, c *LocalCluster, o BenchOptions, rep *BenchReport) error {
	leader, err := c.Leader(ctx, 30*time.Second)
	if err != nil {
		return err
	}
	var fol *Node
	for _, n := range c.Live() {
		if n != leader {
			fol = n
		}
	}
	time1 := func(n *Node, i int) (time.Duration, error) {
		t0 := time.Now()
		_, err := n.MoveAlias(ctx, "", AliasMove{Model: "bench", Alias: "latency", Version: i + 1})
		return time.Since(t0), err
	}
	var lat, fwd []time.Duration
	for i := range o.Commits {
		d, err := time1(leader, i)
		if err != nil {
			return fmt.Errorf("commit %d: %w", i, err)
		}
		lat = append(lat, d)
		if i%5 == 0 {
			if d, err = time1(fol, i); err != nil {
				return fmt.Errorf("forwarded commit %d: %w", i, err)
			}
			fwd = append(fwd, d)
		}
	}
	slices.Sort(lat)
	slices.Sort(fwd)
	rep.Commits = len(lat)
	rep.CommitP50ms, rep.CommitP99ms = ms(quantile(lat, 0.5)), ms(quantile(lat, 0.99))
	rep.ForwardedP50ms = ms(quantile(fwd, 0.5))
	return nil
}

func benchThroughput(ctx context.Context, c *LocalCluster, o BenchOptions, rep *BenchReport) error {
	leader, err := c.Leader(ctx, 30*time.Second)
	if err != nil {
		return err
	}
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	stop := time.Now().Add(o.Throughput)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range o.Clients {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				_, err := leader.Vote(ctx, "", Vote{Round: 1, Voter: fmt.Sprintf("w%d-%d", w, i%50), Strategy: "s"})
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("throughput: %w", firstErr)
	}
	rep.Clients = o.Clients
	rep.WritesPerS = float64(n.Load()) / time.Since(t0).Seconds()
	return nil
}

// benchFailover kills the leader kills times (timing, when set, changes
// the raft timeouts); each time it measures until
// a new leader is known and until a write commits again through a
// survivor, then restarts the killed node.
func benchFailover(ctx context.Context, dir, secret string, kills int, timing func(*Config), seed uint64) (int, float64, float64, float64, error) {
	c, err := StartLocal(ctx, LocalOptions{Nodes: 3, Dir: dir, Secret: secret, Timing: timing, Seed: seed, ApplyTO: 30 * time.Second})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer c.Close()
	var fo, el []time.Duration
	for k := range kills {
		l, err := c.Leader(ctx, 30*time.Second)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		i := c.Index(l)
		var survivor *Node
		for _, n := range c.Live() {
			if n != l {
				survivor = n
			}
		}
		t0 := time.Now()
		c.Stop(i)
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		done := make(chan time.Duration, 1)
		go func() {
			if _, err := c.Leader(wctx, 30*time.Second); err == nil {
				done <- time.Since(t0)
			}
			close(done)
		}()
		_, err = survivor.MoveAlias(wctx, "", AliasMove{Model: "bench", Alias: "failover", Version: k + 1})
		cancel()
		if err != nil {
			return 0, 0, 0, 0, fmt.Errorf("write after kill %d: %w", k, err)
		}
		fo = append(fo, time.Since(t0))
		if d, ok := <-done; ok {
			el = append(el, d)
		}
		if err := c.Start(i); err != nil {
			return 0, 0, 0, 0, err
		}
		if err := c.WaitConverged(ctx, 30*time.Second); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	slices.Sort(fo)
	slices.Sort(el)
	return len(fo), ms(quantile(fo, 0.5)), ms(fo[len(fo)-1]), ms(quantile(el, 0.5)), nil
}

// benchSnapshot stops a follower, writes past the leader's trailing log,
// snapshots, and times the follower from restart to the same state hash.
func benchSnapshot(ctx context.Context, dir, secret string, o BenchOptions, rep *BenchReport) error {
	c, err := StartLocal(ctx, LocalOptions{Nodes: 3, Dir: dir, Secret: secret, Fast: true, Seed: o.Seed,
		Snap: uint64(o.SnapshotWrite / 4), Trail: uint64(o.SnapshotWrite / 10)})
	if err != nil {
		return err
	}
	defer c.Close()
	l, err := c.Leader(ctx, 30*time.Second)
	if err != nil {
		return err
	}
	fi := (c.Index(l) + 1) % c.Len()
	c.Stop(fi)
	var wg sync.WaitGroup
	var werr atomic.Value
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < o.SnapshotWrite; i += 16 {
				if _, err := l.Publish(ctx, "", Envelope{Topic: "agent.bench", From: "bench", Payload: []byte(strconv.Itoa(i))}); err != nil {
					werr.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := werr.Load().(error); ok {
		return fmt.Errorf("snapshot writes: %w", err)
	}
	if err := l.Snapshot(); err != nil {
		return err
	}
	t0 := time.Now()
	if err := c.Start(fi); err != nil {
		return err
	}
	if err := c.WaitConverged(ctx, 60*time.Second); err != nil {
		return err
	}
	rep.SnapshotInstallms = ms(time.Since(t0))
	rep.SnapshotEntries = o.SnapshotWrite
	if h := c.Node(fi).Health(); h.LastSnapshotIndex == 0 {
		return fmt.Errorf("the follower caught up without installing a snapshot")
	}
	return nil
}
