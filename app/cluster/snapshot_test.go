package cluster

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// TestFollowerCatchesUpFromSnapshot stops a follower, writes past what the
// leader keeps in its log after a snapshot, restarts the follower: it must
// install the snapshot and reach the same state hash and rows.
func TestFollowerCatchesUpFromSnapshot(t *testing.T) {
	c := newTestCluster(t, clusterOpts{n: 3, fast: true, sqlite: true, threshold: 64, trailing: 16})
	ctx := t.Context()
	leader := c.waitLeader(30 * time.Second)
	write := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			n := c.live()[i%len(c.live())]
			var err error
			switch i % 3 {
			case 0:
				_, err = n.MoveAlias(ctx, "", AliasMove{Model: "m", Alias: fmt.Sprint(i % 5), Version: i + 1, Actor: "test"})
			case 1:
				_, err = n.Vote(ctx, "", Vote{Round: 1, Voter: fmt.Sprint("v", i%7), Strategy: fmt.Sprint("s", i)})
			default:
				_, err = n.Publish(ctx, "", Envelope{Topic: "agent.note", From: "t", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
			}
			if err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
	}
	write(0, 50)
	// Not follower(): with 100 ms timeouts leadership may have moved since
	// waitLeader, and the node stopped must not be the one snapshotted.
	f := other(c.live(), leader)
	fi := c.index(f)
	c.waitConverged(5 * time.Second)
	c.stop(fi)
	write(50, 300)
	if err := leader.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if h := leader.Health(); h.LastSnapshotIndex == 0 {
		t.Fatalf("leader took no snapshot: %+v", h)
	}
	c.start(fi)
	c.waitConverged(15 * time.Second)
	restarted := c.Node(fi)
	if h := restarted.Health(); h.LastSnapshotIndex == 0 {
		t.Fatalf("the restarted follower caught up without a snapshot: %+v", h)
	}
	if got, want := waitSameRows(t, c.dbs[restarted.ID()], c.dbs[leader.ID()], 10*time.Second); got != want {
		t.Fatalf("rows after snapshot install differ:\n%s\nwant\n%s", got, want)
	}
}

// TestDeletedNodeRebuildsSameRows removes a node, deletes its data
// directory (raft log, snapshots and SQLite file), and joins it afresh: it
// rebuilds the same rows from the cluster alone.
func TestDeletedNodeRebuildsSameRows(t *testing.T) {
	c := newTestCluster(t, clusterOpts{n: 3, fast: true, sqlite: true, threshold: 32, trailing: 8})
	ctx := t.Context()
	for i := range 120 {
		n := c.live()[i%3]
		if _, err := n.MoveAlias(ctx, "", AliasMove{Model: "m", Alias: fmt.Sprint(i % 4), Version: i + 1}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			if _, err := n.RecordRound(ctx, "", Round{Round: int64(i/10 + 1), Status: RoundStarted, Seed: int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	leader := c.waitLeader(30 * time.Second)
	if err := leader.Snapshot(); err != nil {
		t.Fatal(err)
	}
	f := other(c.live(), leader) // see TestFollowerCatchesUpFromSnapshot
	fi := c.index(f)
	id := f.ID()
	if err := leader.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	c.stop(fi)
	c.dbs[id].Close()
	if err := os.RemoveAll(c.Config(fi).DataDir); err != nil {
		t.Fatal(err)
	}
	for i := range 20 { // the cluster moves on without it
		if _, err := leader.MoveAlias(ctx, "", AliasMove{Model: "m", Alias: "late", Version: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	db, closer, err := openTestDB(c.dbs)(id, c.Config(fi).DataDir)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[fi].cfg.DB, c.nodes[fi].db = db, closer
	c.start(fi)
	if err := c.Node(fi).JoinVia(ctx, leader.Addr()); err != nil {
		t.Fatalf("rejoin: %v", err)
	}
	c.waitConverged(15 * time.Second)
	if got, want := waitSameRows(t, c.dbs[id], c.dbs[leader.ID()], 10*time.Second); got != want {
		t.Fatalf("rebuilt rows differ:\n%s\nwant\n%s", got, want)
	}
}
