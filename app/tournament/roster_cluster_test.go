package tournament

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

// digested is a guest strategy whose profile carries a digest: another
// network under the same id when the digests differ.
type digested struct {
	Strategy
	digest string
}

func (d digested) Profile() Profile {
	p := d.Strategy.Profile()
	p.Digest = d.digest
	return p
}

func digestedMaker(id, digest string) Maker {
	g := guestMaker(id)
	return func(seed uint64) Strategy { return digested{g(seed), digest} }
}

func openLedgerDB(t *testing.T) *ledgerNode {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	return &ledgerNode{db: db, w: store.NewWriter(db, store.WriterOptions{}, slog.New(slog.NewTextHandler(io.Discard, nil)))}
}

// TestClusterNodesPlayTheLeadersRoster: the leader records its roster
// with each round's start and every node plays the round with it. A node
// with an extra entrant leaves it out of the round (and so finishes with
// the leader's results); a node that lacks an entrant of the roster, or
// holds another network under its id, does not play a different round: it
// sits the round out, says why, and writes no round of its own.
func TestClusterNodesPlayTheLeadersRoster(t *testing.T) {
	ctx := t.Context()
	lc, err := cluster.StartLocal(ctx, cluster.LocalOptions{Nodes: 3, Dir: t.TempDir(), Secret: "tournament-roster-test-secret-0123",
		Seed: 2, ApplyTO: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	// Node 0 leads (raft's default-ish timeouts: it usually keeps leading).
	waitFor(t, 60*time.Second, "node 0 did not take the leadership", func() bool {
		if lc.Node(0).IsLeader() {
			return true
		}
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = lc.Node(0).Transfer(tctx, lc.Node(0).ID())
		return lc.Node(0).IsLeader()
	})
	house := DefaultRoster()
	rosters := [][]Maker{
		append(slices.Clone(house), guestMaker("extra"), digestedMaker("tuned", "d1")),                      // the leader
		append(slices.Clone(house), guestMaker("extra"), digestedMaker("tuned", "d1"), guestMaker("spare")), // one more entrant
		append(slices.Clone(house), digestedMaker("tuned", "d2")),                                           // lacks extra, another tuned
	}
	cfg := Config{Seed: 5, Speed: 1800, Round: RoundConfig{Length: 2 * time.Hour}, VoteWindow: 400 * time.Millisecond,
		FirstWait: 300 * time.Millisecond, PublishEvery: 100 * time.Millisecond, CheckpointEvery: 150 * time.Millisecond}
	nodes := make([]*ledgerNode, 3)
	for i := range nodes {
		nodes[i] = openLedgerDB(t)
		c := cfg
		c.Round.Roster = rosters[i]
		nodes[i].start(t, c, lc.Node(i))
	}
	defer func() {
		for _, n := range nodes {
			n.stop(t)
			n.w.Close()
			n.db.Close()
		}
	}()

	// What node i makes of a roster: the ids it lacks, those it holds
	// another network under; it plays the round when both are empty.
	judge := func(i int, roster []RosterEntry) (missing, differ []string) {
		ps := nodes[i].svc.Profiles()
		for _, e := range roster {
			k := slices.IndexFunc(ps, func(p Profile) bool { return p.ID == e.ID })
			switch {
			case k < 0:
				missing = append(missing, e.ID)
			case ps[k].Digest != e.Digest:
				differ = append(differ, e.ID)
			}
		}
		return missing, differ
	}
	rosterOfRecord := func(rec cluster.RoundRecord) []RosterEntry {
		var roster []RosterEntry
		if err := json.Unmarshal(rec.Roster, &roster); err != nil {
			t.Fatalf("round %d's replicated roster %q: %v", rec.Round.Round, rec.Roster, err)
		}
		return roster
	}

	// Round 1 starts (most likely with node 0's roster). In its middle the
	// leadership goes to a node that cannot play it (the rosters differ
	// pairwise, so there is one): that leader cannot record the round's
	// result, and hands the leadership on until a node that can leads.
	var rec cluster.RoundRecord
	record := func() bool {
		var ok bool
		lc.Node(0).View(func(s *cluster.State) { rec, ok = s.Rounds[1] })
		return ok
	}
	waitFor(t, 120*time.Second, "round 1 has no checkpoint", func() bool { return record() && rec.Status == cluster.RoundProgress })
	unable := slices.IndexFunc(nodes, func(n *ledgerNode) bool {
		m, d := judge(slices.Index(nodes, n), rosterOfRecord(rec))
		return len(m)+len(d) > 0
	})
	waitFor(t, 60*time.Second, "the leadership did not go to the node that cannot play round 1", func() bool {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err := lc.Node(unable).Transfer(tctx, lc.Node(unable).ID())
		return err == nil || lc.Node(unable).IsLeader() || (record() && rec.Status == cluster.RoundFinished)
	})
	t.Logf("round 1 at step %d: the leadership handed to %s, which cannot play it", rec.Step, lc.Node(unable).ID())
	var leaders []string // who led while round 1 finished
	waitFor(t, 120*time.Second, "round 1 did not finish", func() bool {
		for _, n := range lc.Live() {
			if n.IsLeader() && (len(leaders) == 0 || leaders[len(leaders)-1] != n.ID()) {
				leaders = append(leaders, n.ID())
			}
		}
		return record() && rec.Status == cluster.RoundFinished
	})
	t.Logf("leaders until round 1 finished: %v; its result written by %s", leaders, rec.Node)
	writer := slices.IndexFunc(nodes, func(n *ledgerNode) bool { return lc.Node(slices.Index(nodes, n)).ID() == rec.Node })
	if m, d := judge(writer, rosterOfRecord(rec)); writer < 0 || len(m)+len(d) > 0 {
		t.Fatalf("round 1's result was written by %q, which cannot play it", rec.Node)
	}
	roster := rosterOfRecord(rec)
	var ids []string
	for _, e := range roster {
		ids = append(ids, e.ID)
	}
	starter := slices.IndexFunc(nodes, func(n *ledgerNode) bool {
		return fmt.Sprint(rosterOf(n.svc.Profiles())) == fmt.Sprint(roster)
	})
	if starter < 0 {
		t.Fatalf("round 1's roster %v is no node's roster", roster)
	}
	t.Logf("round 1: the roster of node %d: %v", starter, ids)
	var leaderSum RoundSummary
	if err := json.Unmarshal(rec.Results, &leaderSum); err != nil {
		t.Fatal(err)
	}

	satOut := 0
	for i, n := range nodes {
		missing, differ := judge(i, roster)
		if len(missing)+len(differ) == 0 {
			// It played the leader's roster, and only that.
			waitFor(t, 60*time.Second, fmt.Sprintf("node %d did not finish round 1", i), func() bool {
				st := n.svc.State()
				return st.LastResult != nil && st.LastResult.Round == 1
			})
			sum := n.svc.State().LastResult
			if fmt.Sprint(sum.Results) != fmt.Sprint(leaderSum.Results) {
				t.Errorf("node %d's round 1 differs from the recorded result:\n%v\nwant\n%v", i, sum.Results, leaderSum.Results)
			}
			for _, r := range sum.Results {
				if !slices.Contains(ids, r.Strategy) {
					t.Errorf("node %d played %s, which is not in round 1's roster", i, r.Strategy)
				}
			}
			if c := n.svc.Checks(); c.Mismatched != 0 {
				t.Errorf("node %d's checkpoint comparisons: %+v", i, c)
			}
			continue
		}
		// It sat the round out, with the reason, and has no round 1.
		satOut++
		st := n.svc.State()
		wants := []string{"Round 1 is not played on this node", "--tournament-agent"}
		if len(missing) > 0 {
			wants = append(wants, "lacks "+strings.Join(missing, ", "))
		}
		if len(differ) > 0 {
			wants = append(wants, "other networks under "+strings.Join(differ, ", "))
		}
		for _, want := range wants {
			if !strings.Contains(st.Notice, want) {
				t.Errorf("node %d's notice %q does not say %q", i, st.Notice, want)
			}
		}
		if st.LastResult != nil {
			t.Errorf("node %d has a result of its own: %+v", i, st.LastResult)
		}
		var rows int
		if err := n.db.R.QueryRowContext(ctx, `SELECT count(*) FROM tournament_rounds`).Scan(&rows); err != nil || rows != 0 {
			t.Errorf("node %d wrote %d rounds (%v), want none", i, rows, err)
		}
		if c := n.svc.Checks(); c.Mismatched != 0 {
			t.Errorf("node %d compared checkpoints with a round it did not play: %+v", i, c)
		}
	}
	// Whoever started it, some node cannot play its roster (the rosters
	// above differ pairwise in what they lack).
	if satOut == 0 {
		t.Error("no node sat round 1 out")
	}
}

// noLedger is a Ledger with nothing recorded (NewService's checks only).
type noLedger struct{}

func (noLedger) Leading() bool                                        { return false }
func (noLedger) Sync(context.Context) error                           { return nil }
func (noLedger) Latest() (LedgerRound, bool)                          { return LedgerRound{}, false }
func (noLedger) Votes(int64) map[string]string                        { return map[string]string{} }
func (noLedger) Finish(context.Context, int64, json.RawMessage) error { return nil }
func (noLedger) Checkpoint(context.Context, int64, int, json.RawMessage) error {
	return nil
}
func (noLedger) Start(context.Context, int64, uint64, []RosterEntry) error { return nil }
func (noLedger) HandOff(context.Context) error                             { return nil }

// TestClusterModeRefusesRoundsPlayedAlone: a database holding rounds
// played without --cluster is not taken into a cluster (its round numbers
// would meet the cluster's), with a clear error and nothing changed; the
// rounds a node played as a cluster node do not stop it.
func TestClusterModeRefusesRoundsPlayedAlone(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		rounds  []bool // each round: played as a cluster node
		refused string
	}{
		{"empty", nil, ""},
		{"cluster rounds", []bool{true, true}, ""},
		{"one round alone", []bool{false}, "holds round 1 of a tournament played without --cluster"},
		{"rounds alone after cluster rounds", []bool{true, false, false}, "holds 2 rounds, 2 to 3, of a tournament played without --cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := openLedgerDB(t)
			defer n.db.Close()
			defer n.w.Close()
			tb := &tables{db: n.db, w: n.w}
			for k, cl := range tc.rounds {
				if err := tb.startRound(ctx, roundRow{ID: int64(k + 1), Season: 1, Seed: 1, Scenario: Scenarios[0], ScoreBy: BySortino,
					Started: time.Now(), Cluster: cl}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := NewService(Config{Ledger: noLedger{}}, bus.New(), n.db, n.w, slog.New(slog.NewTextHandler(io.Discard, nil)))
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (err == nil || !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), tc.refused) ||
				!strings.Contains(err.Error(), "new --data directory")):
				t.Fatalf("err = %v, want a conflict saying %q and what to do", err, tc.refused)
			}
			var left int
			if err := n.db.R.QueryRowContext(ctx, `SELECT count(*) FROM tournament_rounds`).Scan(&left); err != nil || left != len(tc.rounds) {
				t.Errorf("%d rounds left (%v), want %d: nothing changed", left, err, len(tc.rounds))
			}
		})
	}
}
