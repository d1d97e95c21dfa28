package tournament

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/metastation/metastation/app/cluster"
)

// ClusterLedger is the Ledger of a node of app/cluster: the round records
// and votes of the replicated state, written through the leader (the
// command ids make a record written twice, by two nodes that both thought
// they led, take effect once).
type ClusterLedger struct{ Node *cluster.Node }

var _ Ledger = ClusterLedger{}

// Leading reports whether the node is the raft leader.
func (l ClusterLedger) Leading() bool { return l.Node.IsLeader() }

// Sync is a linearizable read: on the leader, a barrier.
func (l ClusterLedger) Sync(ctx context.Context) error {
	_, err := l.Node.Read(ctx, true, cluster.Query{Kind: cluster.QueryVotesOpen})
	return err
}

// Latest is the record of the last round started: votes are open for the
// round after it.
func (l ClusterLedger) Latest() (LedgerRound, bool) {
	var out LedgerRound
	var ok bool
	l.Node.View(func(s *cluster.State) {
		var r cluster.RoundRecord
		if r, ok = s.Rounds[s.VotesOpen-1]; ok {
			out = LedgerRound{Round: r.Round.Round, Status: r.Status, Seed: uint64(r.Seed), Step: r.Step, State: r.State,
				Started: r.Started, At: r.At, Node: r.Node}
			if len(r.Roster) > 0 && json.Unmarshal(r.Roster, &out.Roster) != nil {
				// Not a roster this binary wrote: play no round with it.
				out.Roster = []RosterEntry{{ID: "(unreadable roster)"}}
			}
		}
	})
	return out, ok
}

// Start records round's start with the leader's roster.
func (l ClusterLedger) Start(ctx context.Context, round int64, seed uint64, roster []RosterEntry) error {
	b, err := json.Marshal(roster)
	if err != nil {
		return fmt.Errorf("tournament: roster of round %d: %w", round, err)
	}
	_, err = l.Node.RecordRound(ctx, fmt.Sprintf("round-%d-started", round),
		cluster.Round{Round: round, Status: cluster.RoundStarted, Seed: int64(seed), Roster: b})
	return err
}

// Checkpoint records the leader's progress.
func (l ClusterLedger) Checkpoint(ctx context.Context, round int64, step int, state json.RawMessage) error {
	_, err := l.Node.RecordRound(ctx, fmt.Sprintf("round-%d-step-%d", round, step),
		cluster.Round{Round: round, Status: cluster.RoundProgress, Step: step, State: state})
	return err
}

// Finish records round's result.
func (l ClusterLedger) Finish(ctx context.Context, round int64, results json.RawMessage) error {
	_, err := l.Node.RecordRound(ctx, fmt.Sprintf("round-%d-finished", round),
		cluster.Round{Round: round, Status: cluster.RoundFinished, Results: results})
	return err
}

// HandOff transfers the leadership to raft's pick of the followers.
func (l ClusterLedger) HandOff(ctx context.Context) error { return l.Node.Transfer(ctx, "") }

// Votes are round's replicated votes.
func (l ClusterLedger) Votes(round int64) map[string]string {
	var out map[string]string
	l.Node.View(func(s *cluster.State) { out = maps.Clone(s.Votes[round]) })
	if out == nil {
		out = map[string]string{}
	}
	return out
}
