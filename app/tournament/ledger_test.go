package tournament

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/store"
)

// ledgerNode is one node's tournament in a cluster test: its own database
// (kept across a restart, like a disk) and bus.
type ledgerNode struct {
	db     *store.DB
	w      *store.Writer
	svc    *Service
	cancel context.CancelFunc
	done   chan error
}

func (n *ledgerNode) start(t *testing.T, cfg Config, node *cluster.Node) {
	t.Helper()
	cfg.Ledger = ClusterLedger{Node: node}
	svc, err := NewService(cfg, bus.New(), n.db, n.w, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.svc, n.cancel, n.done = svc, cancel, make(chan error, 1)
	go func() { n.done <- svc.Run(ctx) }()
}

func (n *ledgerNode) stop(t *testing.T) {
	t.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	if err := <-n.done; err != nil {
		t.Errorf("tournament: %v", err)
	}
	n.cancel = nil
}

// waitFor polls cond until it holds or timeout passes (generous: CI
// machines may be loaded), failing with what.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRoundCarriesOnThroughLeaderFailover runs the tournament on a
// three-node cluster, kills the leader (its raft node and its tournament)
// in the middle of round 2, and checks that the new leader finishes the
// same round (same start, same result as an uninterrupted replay of its
// seed) instead of starting over, that the votes cast before the kill
// count (round 2's crowd pick, round 3's tally), that the next round is 3,
// and that the killed node, restarted, rejoins from the replicated state
// with a replay that matches the leader's checkpoints.
func TestRoundCarriesOnThroughLeaderFailover(t *testing.T) {
	ctx := t.Context()
	lc, err := cluster.StartLocal(ctx, cluster.LocalOptions{Nodes: 3, Dir: t.TempDir(), Secret: "tournament-ledger-test-secret-0123",
		Fast: true, Seed: 1, ApplyTO: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	// 1,440 steps on a clock of about four seconds a round.
	cfg := Config{Seed: 11, Speed: 1800, Round: RoundConfig{Length: 2 * time.Hour}, VoteWindow: 400 * time.Millisecond,
		FirstWait: 100 * time.Millisecond, PublishEvery: 100 * time.Millisecond, CheckpointEvery: 150 * time.Millisecond}
	nodes := make([]*ledgerNode, 3)
	for i := range nodes {
		db, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"), os.DirFS("../../migrations"))
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		nodes[i] = &ledgerNode{db: db, w: store.NewWriter(db, store.WriterOptions{}, log)}
		nodes[i].start(t, cfg, lc.Node(i))
	}
	defer func() {
		for _, n := range nodes {
			n.stop(t)
			n.w.Close()
			n.db.Close()
		}
	}()
	record := func(round int64) (cluster.RoundRecord, bool) {
		var rec cluster.RoundRecord
		var ok bool
		for _, n := range lc.Live() {
			n.View(func(s *cluster.State) {
				if r, found := s.Rounds[round]; found && (!ok || r.Index > rec.Index) {
					rec, ok = r, true
				}
			})
		}
		return rec, ok
	}
	// A follower, where a person's vote would arrive and be forwarded.
	follower := func() *cluster.Node {
		live := lc.Live()
		for _, n := range live {
			if !n.IsLeader() {
				return n
			}
		}
		return live[0]
	}
	profiles := nodes[0].svc.Profiles()
	pick2, pick3 := profiles[2].ID, profiles[1].ID

	// Round 1 starts; votes for round 2 are open while it runs.
	waitFor(t, 60*time.Second, "round 1 did not start", func() bool { _, ok := record(1); return ok })
	for k, st := range []string{pick2, pick2, profiles[0].ID} {
		if _, err := follower().Vote(ctx, "", cluster.Vote{Round: 2, Voter: fmt.Sprint("early", k), Strategy: st}); err != nil {
			t.Fatalf("vote for round 2: %v", err)
		}
	}

	// Round 2 runs, checkpointed by the leader; votes for round 3 are cast.
	waitFor(t, 120*time.Second, "round 2 has no checkpoint past step 100", func() bool {
		r, ok := record(2)
		return ok && r.Status == cluster.RoundProgress && r.Step >= 100
	})
	for k := range 2 {
		if _, err := follower().Vote(ctx, "", cluster.Vote{Round: 3, Voter: fmt.Sprint("mid", k), Strategy: pick3}); err != nil {
			t.Fatalf("vote for round 3: %v", err)
		}
	}
	leader, err := lc.Leader(ctx, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	li := lc.Index(leader)
	before, _ := record(2)
	killed := leader.ID()
	lc.Stop(li) // the leader's process dies: raft and tournament together
	nodes[li].stop(t)
	if before.Status == cluster.RoundFinished {
		t.Fatalf("round 2 finished before the kill; the test did not kill mid-round")
	}
	t.Logf("killed leader %s in round 2 at checkpoint step %d", killed, before.Step)

	waitFor(t, 120*time.Second, "round 2 did not finish after the failover", func() bool {
		r, ok := record(2)
		return ok && r.Status == cluster.RoundFinished
	})
	after, _ := record(2)
	if after.Node == killed {
		t.Errorf("round 2's result was written by the killed node %s", killed)
	}
	if !after.Started.Equal(before.Started) || after.Seed != before.Seed {
		t.Errorf("round 2 restarted: started %v seed %d, was %v seed %d", after.Started, after.Seed, before.Started, before.Seed)
	}
	var sum RoundSummary
	if err := json.Unmarshal(after.Results, &sum); err != nil {
		t.Fatalf("round 2's result: %v", err)
	}
	// The same round: the result of an uninterrupted replay of its seed.
	seed, sc := nodes[0].svc.RoundPlan(2)
	if uint64(after.Seed) != seed {
		t.Errorf("round 2 seed %d, plan %d", after.Seed, seed)
	}
	want := runRound(t, RoundConfig{Seed: seed, Script: sc.Script, Length: cfg.Round.Length}).Results(BySortino)
	if fmt.Sprint(sum.Results) != fmt.Sprint(want) {
		t.Errorf("round 2's result after the failover differs from its uninterrupted replay:\n%v\nwant\n%v", sum.Results, want)
	}
	if sum.CrowdPick != pick2 {
		t.Errorf("round 2's crowd pick = %q, want %q (the votes cast before the kill)", sum.CrowdPick, pick2)
	}

	// The next round is 3, started by a survivor; the killed node comes
	// back and rejoins from the replicated state.
	waitFor(t, 120*time.Second, "round 3 did not start", func() bool { _, ok := record(3); return ok })
	if r, _ := record(3); r.Node == killed {
		t.Errorf("round 3 started by the killed node")
	}
	if _, ok := record(1); !ok {
		t.Error("round 1's record is gone")
	}
	if err := lc.Start(li); err != nil {
		t.Fatal(err)
	}
	nodes[li].start(t, cfg, lc.Node(li))
	waitFor(t, 120*time.Second, "round 3 did not finish", func() bool {
		r, ok := record(3)
		return ok && r.Status == cluster.RoundFinished
	})
	r3, _ := record(3)
	var sum3 RoundSummary
	if err := json.Unmarshal(r3.Results, &sum3); err != nil {
		t.Fatal(err)
	}
	if sum3.CrowdPick != pick3 {
		t.Errorf("round 3's crowd pick = %q, want %q (votes cast before the kill)", sum3.CrowdPick, pick3)
	}

	// Every node, the restarted one included, finished round 3 with the
	// same winner and crowd pick in its own database, and its run of the
	// round matched the leader's checkpoints.
	for i, n := range nodes {
		waitFor(t, 60*time.Second, fmt.Sprintf("node %d did not finish round 3", i), func() bool {
			fin, err := n.svc.tables.finished(ctx, 3)
			return err == nil && fin
		})
		var winner, crowd string
		if err := n.db.R.QueryRow(`SELECT winner, coalesce(crowd_pick, '') FROM tournament_rounds WHERE id = 3`).Scan(&winner, &crowd); err != nil {
			t.Fatal(err)
		}
		if winner != sum3.Winner || crowd != pick3 {
			t.Errorf("node %d: round 3 winner %q crowd %q, want %q %q", i, winner, crowd, sum3.Winner, pick3)
		}
		ch := n.svc.Checks()
		t.Logf("node %d: %+v", i, ch)
		if ch.Mismatched != 0 {
			t.Errorf("node %d: %d checkpoints differ from its run", i, ch.Mismatched)
		}
	}
	if ch := nodes[li].svc.Checks(); ch.Checked == 0 {
		t.Errorf("the restarted node compared no checkpoint with its replay: %+v", ch)
	}
	// The survivors finished round 2 locally too, with its replicated crowd pick.
	for i, n := range nodes {
		if i == li {
			continue
		}
		var crowd string
		if err := n.db.R.QueryRow(`SELECT coalesce(crowd_pick, '') FROM tournament_rounds WHERE id = 2 AND state = 'finished'`).Scan(&crowd); err != nil || crowd != pick2 {
			t.Errorf("node %d: round 2 crowd pick %q, %v; want %q", i, crowd, err, pick2)
		}
	}
}
