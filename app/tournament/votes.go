package tournament

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// Tally is the state of the open round's vote. Seq grows with every change
// (a ballot, a withdrawal, the next round opening), so a reader that gets
// tallies from several places (tournament.votes, tournament.state, a vote's
// answer) keeps the one with the highest Seq. It starts from the clock in
// microseconds, so a restarted server's tallies are newer than the last
// one's.
type Tally struct {
	Round int64          `json:"round"`
	Votes map[string]int `json:"votes"`
	Total int            `json:"total"`
	Seq   uint64         `json:"seq"`
}

// VoteResult is the state of a round's vote after a ballot.
type VoteResult struct {
	Round     int64          `json:"round"`
	Strategy  string         `json:"strategy"`  // the voter's current pick
	Replaced  bool           `json:"replaced"`  // the voter had voted before; the last vote counts
	Unchanged bool           `json:"unchanged"` // the voter had already voted for this strategy: nothing changed
	Votes     map[string]int `json:"votes"`
	Total     int            `json:"total"`
	Seq       uint64         `json:"seq"` // the tally's Seq
}

// ballotBox holds the open round's votes in memory: each voter's pick and
// the count per strategy. It is safe for concurrent use; Service.vmu makes
// a ballot's database write and its count one step.
type ballotBox struct {
	mu     sync.Mutex
	round  int64             // the round the votes are for: the next to start
	picks  map[string]string // voter -> strategy
	tally  map[string]int
	leader string // the strategy with the most votes, "" for none
	seq    uint64
}

func newBallotBox() *ballotBox {
	return &ballotBox{picks: map[string]string{}, tally: map[string]int{}, seq: uint64(time.Now().UnixMicro())}
}

// open starts counting round's votes from picks (read from the database).
func (b *ballotBox) open(round int64, picks map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.round, b.picks, b.tally = round, picks, map[string]int{}
	for _, st := range picks {
		b.tally[st]++
	}
	b.leader = leaderOf(b.tally)
	b.seq++
}

// Round is the round votes are open for.
func (b *ballotBox) openRound() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.round
}

// pick is voter's current vote, "" for none.
func (b *ballotBox) pick(voter string) (int64, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.round, b.picks[voter]
}

// cast counts voter's ballot for strategy, replacing its earlier one. It
// reports whether the voter had voted before and whether the leader
// changed.
func (b *ballotBox) cast(voter, strategy string) (replaced, newLeader bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	prev, replaced := b.picks[voter]
	if replaced {
		b.tally[prev]--
		if b.tally[prev] == 0 {
			delete(b.tally, prev)
		}
	}
	b.picks[voter] = strategy
	b.tally[strategy]++
	b.seq++
	if lead := leaderOf(b.tally); lead != b.leader {
		b.leader = lead
		newLeader = true
	}
	return replaced, newLeader
}

// drop takes every vote for strategy out; its voters may vote again as if
// for the first time. It returns how many votes went.
func (b *ballotBox) drop(strategy string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for v, st := range b.picks {
		if st == strategy {
			delete(b.picks, v)
			n++
		}
	}
	delete(b.tally, strategy)
	b.leader = leaderOf(b.tally)
	b.seq++
	return n
}

// snapshot is the current tally.
func (b *ballotBox) snapshot() Tally {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := Tally{Round: b.round, Votes: maps.Clone(b.tally), Seq: b.seq}
	for _, n := range b.tally {
		t.Total += n
	}
	return t
}

// leaderOf is the strategy with the most votes (ties by id), "" for none.
func leaderOf(tally map[string]int) string {
	best, n := "", 0
	for st, c := range tally {
		if c > n || c == n && c > 0 && st < best {
			best, n = st, c
		}
	}
	return best
}

// Vote records voter's pick of strategy to win round. Votes are open for
// the next round to start, until it starts; a voter's later vote replaces
// its earlier one, and a vote for the strategy it already picked changes
// nothing (Unchanged). Every vote that changes something is appended to the
// audit log and published on tournament.votes at once. The voter id must
// have been authenticated by the caller (the web layer's signed cookie).
func (s *Service) Vote(ctx context.Context, round int64, voter, strategy string) (VoteResult, error) {
	if voter == "" || len(voter) > 64 {
		return VoteResult{}, errs.Errorf(errs.Invalid, "the voter has no valid id")
	}
	known := false
	for _, p := range s.Profiles() {
		known = known || p.ID == strategy
	}
	if !known {
		return VoteResult{}, errs.Errorf(errs.NotFound, "there is no strategy %q in the tournament", strategy)
	}
	s.vmu.Lock()
	defer s.vmu.Unlock()
	open, prev := s.votes.pick(voter)
	switch {
	case round < 1 || round > open:
		return VoteResult{}, errs.Errorf(errs.NotFound, "there is no round %d open for votes (votes are open for round %d)", round, open)
	case round < open:
		return VoteResult{}, errs.Errorf(errs.Conflict, "voting for round %d closed when it started; vote for round %d", round, open)
	}
	if prev == strategy {
		t := s.votes.snapshot()
		return VoteResult{Round: round, Strategy: strategy, Replaced: true, Unchanged: true, Votes: t.Votes, Total: t.Total, Seq: t.Seq}, nil
	}
	if err := s.tables.saveVote(ctx, round, voter, strategy, time.Now(), s.cfg.MaxBallots); err != nil {
		return VoteResult{}, err
	}
	replaced, newLeader := s.votes.cast(voter, strategy)
	t := s.votes.snapshot()
	// Under vmu, so tallies reach the bus in the order of their Seq.
	TopicVotes.Publish(s.bus, "tournament", "", "tally", t)
	if newLeader && t.Total >= 3 {
		s.voteSwing(t)
	}
	return VoteResult{Round: round, Strategy: strategy, Replaced: replaced, Votes: t.Votes, Total: t.Total, Seq: t.Seq}, nil
}

// voteSwing comments on a new favourite of the crowd while a round runs.
func (s *Service) voteSwing(t Tally) {
	lead := leaderOf(t.Votes)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != "running" || s.live == nil {
		return
	}
	for _, p := range s.profiles {
		if p.ID == lead {
			r := s.live.round
			s.say(Event{Kind: EventVoteSwing, Step: r.StepNo(), Clock: r.clock(), Strategy: p.ID, Name: p.Name,
				Pct: round2(100 * float64(t.Votes[lead]) / float64(t.Total))})
		}
	}
}

// MyVote is voter's current vote: the round votes are open for and the
// strategy it picked, "" when it has not voted for that round.
func (s *Service) MyVote(voter string) (round int64, strategy string) {
	return s.votes.pick(voter)
}

// RebuildTally counts round's votes from the audit log alone: the last
// vote of each voter counts.
func (s *Service) RebuildTally(ctx context.Context, round int64) (map[string]int, error) {
	last, err := s.tables.voteLog(ctx, round)
	if err != nil {
		return nil, err
	}
	tally := map[string]int{}
	for _, st := range last {
		tally[st]++
	}
	return tally, nil
}

// Tally returns the current votes of the open round.
func (s *Service) Tally() (round int64, votes map[string]int) {
	t := s.votes.snapshot()
	return t.Round, t.Votes
}

// openVotes opens the votes of round, loading those already cast (before a
// restart), and publishes the new tally.
func (s *Service) openVotes(ctx context.Context, round int64) error {
	picks, err := s.tables.votes(ctx, round)
	if err != nil {
		return err
	}
	if s.cfg.Ledger != nil {
		// Replicated votes this node's tournament could not take yet (they
		// were applied before it reached the round before).
		if picks == nil {
			picks = map[string]string{}
		}
		for voter, st := range s.cfg.Ledger.Votes(round) {
			picks[voter] = st
		}
	}
	s.votes.open(round, picks)
	TopicVotes.Publish(s.bus, "tournament", "", "tally", s.votes.snapshot())
	return nil
}
