package tournament

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Withdraw takes the entrant id out of the tournament and returns the first
// round it no longer plays: the next round to be built. The round in
// progress, or one being built, keeps the roster it was built with, so the
// entrant finishes it, its results are saved and count in the season like
// any other; the live leaderboard lists it until that round ends.
//
// Only entrants (strategies added by Enter) can leave: an id that is not in
// the tournament is ErrNotFound, a strategy of the configured house roster
// is ErrInvalid (it can never leave, whatever the state of the tournament,
// so it is a bad request rather than a conflict).
//
// Votes: ballots for the entrant in a round it no longer plays are taken
// out of the live tally and out of tournament_votes (the current votes, so
// a restart does not load them again), and those voters may vote again for
// another strategy as if for the first time. The crowd's pick of that round,
// and so the crowd's accuracy, is taken among the strategies that play it.
// The audit log (tournament_vote_log) is left untouched: it records the
// ballots as they were cast, so RebuildTally of that round still counts
// them. Votes for a round the entrant still plays are kept.
//
// The service forgets the entrant entirely: Enter accepts the same strategy
// again (from the next round to start then), and a withdrawn entrant frees
// a place under MaxStrategies. Whoever remembers entrants across restarts
// (the app's tournament_entrants) must forget it too.
//
// The new state is published at once, so pages drop the entrant's vote
// button and avatar without waiting for the next round's updates.
func (s *Service) Withdraw(id string) (int64, error) {
	from, err := s.withdraw(id)
	if err == nil {
		s.publish()
	}
	return from, err
}

func (s *Service) withdraw(id string) (int64, error) {
	s.voteMu.Lock() // the tally and tournament_votes change together, as in Vote
	defer s.voteMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := slices.IndexFunc(s.profiles, func(p Profile) bool { return p.ID == id })
	if k < 0 {
		return 0, fmt.Errorf("%w: there is no strategy %q in the tournament", ErrNotFound, id)
	}
	p := s.profiles[k]
	if !p.Entrant {
		return 0, fmt.Errorf("%w: %q (%s) is one of the house strategies; only entrants can be withdrawn", ErrInvalid, id, p.Name)
	}
	from := s.rostered + 1
	// One small delete under mu: the round's clock waits for it, which keeps
	// the roster, the tally and the database in step.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM tournament_votes WHERE round >= ? AND strategy = ?`, from, id); err != nil {
		return 0, fmt.Errorf("tournament: withdraw %q: drop its votes: %w", id, err)
	}
	// New slices: a round being built holds the old roster.
	s.cfg.Round.Roster = slices.Concat(s.cfg.Round.Roster[:k:k], s.cfg.Round.Roster[k+1:])
	s.profiles = slices.Concat(s.profiles[:k:k], s.profiles[k+1:])
	if s.voteRound >= from {
		dropped := 0
		for c, st := range s.votersPick {
			if st == id {
				delete(s.votersPick, c)
				dropped++
			}
		}
		delete(s.tally, id)
		s.voteLeader = leaderOf(s.tally)
		if dropped > 0 {
			s.log.Info("tournament: votes for a withdrawn entrant dropped", "id", id, "round", s.voteRound, "votes", dropped)
		}
	}
	s.log.Info("tournament: entrant withdrawn", "id", id, "name", p.Name, "last_round", from-1, "gone_from_round", from)
	return from, nil
}
