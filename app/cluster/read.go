package cluster

import (
	"context"

	"github.com/metastation/metastation/app/errs"
)

// The kinds of query.
const (
	QueryAlias     = "alias"      // where Model's Alias points
	QueryTally     = "tally"      // Round's votes by strategy
	QueryVotesOpen = "votes_open" // the round votes are open for
	QueryRound     = "round"      // Round's latest record
	QueryHash      = "hash"       // the state and chain hashes
	QueryVote      = "vote"       // Voter's pick in Round ("" for none)
	QueryCommand   = "command"    // the result of the command with ID, if remembered
)

// Query is a read of the replicated state.
type Query struct {
	Kind  string `json:"kind"`
	Model string `json:"model,omitempty"`
	Alias string `json:"alias,omitempty"`
	Round int64  `json:"round,omitempty"`
	Voter string `json:"voter,omitempty"`
	ID    string `json:"id,omitempty"`
}

// Answer is a query's answer and the index it was read at.
type Answer struct {
	Applied   uint64         `json:"applied"`
	Version   int            `json:"version,omitempty"`
	Tally     map[string]int `json:"tally,omitempty"`
	VotesOpen int64          `json:"votes_open,omitempty"`
	Round     *RoundRecord   `json:"round,omitempty"`
	Strategy  string         `json:"strategy,omitempty"`
	Result    *Result        `json:"result,omitempty"`
	Hash      string         `json:"hash,omitempty"`
	Chain     string         `json:"chain,omitempty"`
}

func (q Query) validate() error {
	switch q.Kind {
	case QueryAlias:
		if !validName(q.Model, MaxNameLen) || !validName(q.Alias, MaxNameLen) {
			return errs.Errorf(errs.Invalid, "an alias query needs a model and an alias")
		}
	case QueryTally, QueryRound:
		if q.Round < 1 {
			return errs.Errorf(errs.Invalid, "a %s query needs a round from 1 up", q.Kind)
		}
	case QueryVote:
		if q.Round < 1 || !validName(q.Voter, 64) {
			return errs.Errorf(errs.Invalid, "a vote query needs a round from 1 up and a voter")
		}
	case QueryCommand:
		if !validName(q.ID, MaxIDLen) {
			return errs.Errorf(errs.Invalid, "a command query needs a command id")
		}
	case QueryVotesOpen, QueryHash:
	default:
		return errs.Errorf(errs.Invalid, "unknown query kind %q (known: alias, tally, vote, votes_open, round, hash, command)", q.Kind)
	}
	return nil
}

func (q Query) eval(s *State) Answer {
	a := Answer{Applied: s.Applied}
	switch q.Kind {
	case QueryAlias:
		a.Version = s.Alias(q.Model, q.Alias)
	case QueryTally:
		a.Tally = s.Tally(q.Round)
	case QueryVote:
		a.Strategy = s.Votes[q.Round][q.Voter]
	case QueryCommand:
		if r, ok := s.Seen[q.ID]; ok {
			a.Result = &r
		}
	case QueryVotesOpen:
		a.VotesOpen = s.VotesOpen
	case QueryRound:
		if r, ok := s.Rounds[q.Round]; ok {
			a.Round = &r
		}
	case QueryHash:
		a.Hash, a.Chain = s.Hash(), s.Chain
	}
	return a
}

// Read answers q. A local read (consistent false) answers from this
// node's state at once and may lag the leader. A consistent read is
// linearizable: the leader commits a barrier after the read arrived (so it
// is still the leader and has applied every write acknowledged before)
// and answers from its state; a follower forwards the query to it.
func (n *Node) Read(ctx context.Context, consistent bool, q Query) (Answer, error) {
	if err := q.validate(); err != nil {
		return Answer{}, err
	}
	if !consistent {
		var a Answer
		n.fsm.read(func(s *State) { a = q.eval(s) })
		return a, nil
	}
	var a Answer
	err := n.toLeader(ctx, func(ctx context.Context) error {
		var err error
		a, err = n.readLeader(ctx, q)
		return err
	}, request{Op: opRead, Query: &q}, func(r response) { a = *r.Answer })
	return a, err
}

// readLeader is the leader's side of a consistent read.
func (n *Node) readLeader(ctx context.Context, q Query) (Answer, error) {
	if err := q.validate(); err != nil {
		return Answer{}, err
	}
	if err := wait(ctx, n.raft.Barrier(timeLeft(ctx))); err != nil {
		return Answer{}, err
	}
	var a Answer
	n.fsm.read(func(s *State) { a = q.eval(s) })
	return a, nil
}
