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
	// Node 0 leads (raft's default-ish timeouts: it keeps leading).
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

	var rec cluster.RoundRecord
	waitFor(t, 120*time.Second, "round 1 did not finish", func() bool {
		var ok bool
		lc.Node(0).View(func(s *cluster.State) { rec, ok = s.Rounds[1] })
		return ok && rec.Status == cluster.RoundFinished
	})
	var roster []RosterEntry
	if err := json.Unmarshal(rec.Roster, &roster); err != nil {
		t.Fatalf("round 1's replicated roster %q: %v", rec.Roster, err)
	}
	var ids []string
	for _, e := range roster {
		ids = append(ids, e.ID)
	}
	if want := profileIDs(nodes[0].svc.Profiles()); fmt.Sprint(ids) != fmt.Sprint(want) || roster[len(roster)-1].Digest != "d1" {
		t.Fatalf("round 1's roster is %v (%v), want the leader's %v with tuned's digest d1", ids, roster, want)
	}
	var leaderSum RoundSummary
	if err := json.Unmarshal(rec.Results, &leaderSum); err != nil {
		t.Fatal(err)
	}

	// Node 1 played the leader's roster, without its spare entrant.
	waitFor(t, 60*time.Second, "node 1 did not finish round 1", func() bool {
		st := nodes[1].svc.State()
		return st.LastResult != nil && st.LastResult.Round == 1
	})
	sum := nodes[1].svc.State().LastResult
	if fmt.Sprint(sum.Results) != fmt.Sprint(leaderSum.Results) {
		t.Errorf("node 1's round 1 differs from the leader's:\n%v\nwant\n%v", sum.Results, leaderSum.Results)
	}
	for _, r := range sum.Results {
		if r.Strategy == "spare" {
			t.Errorf("node 1 played its spare entrant in a round of the leader's roster")
		}
	}
	if c := nodes[1].svc.Checks(); c.Checked == 0 || c.Mismatched != 0 {
		t.Errorf("node 1's checkpoint comparisons: %+v", c)
	}

	// Node 2 sat it out, with the reason, and has no round 1 of its own.
	st := nodes[2].svc.State()
	for _, want := range []string{"Round 1 is not played on this node", "lacks extra", "other networks under tuned", "--tournament-agent"} {
		if !strings.Contains(st.Notice, want) {
			t.Errorf("node 2's notice %q does not say %q", st.Notice, want)
		}
	}
	if st.LastResult != nil {
		t.Errorf("node 2 has a result of its own: %+v", st.LastResult)
	}
	var n int
	if err := nodes[2].db.R.QueryRowContext(ctx, `SELECT count(*) FROM tournament_rounds`).Scan(&n); err != nil || n != 0 {
		t.Errorf("node 2 wrote %d rounds (%v), want none", n, err)
	}
	if c := nodes[2].svc.Checks(); c.Mismatched != 0 {
		t.Errorf("node 2 compared checkpoints with a round it did not play: %+v", c)
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
