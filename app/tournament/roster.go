package tournament

import (
	"context"
	"slices"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// MaxStrategies is the most strategies a tournament holds, house roster
// and entrants together.
const MaxStrategies = 10

// Enter adds a strategy to the roster from the next round to start on and
// returns that round's id. Its profile needs an id and a name, and the id
// must be new. The service does not remember entrants: a restarted service
// plays its configured roster again (their past results stay in the season)
// unless its owner enters them again, as app/entrant does for the learners
// it keeps. Withdraw takes an entrant out again; one withdrawn may be
// entered again later. The new state is published at once.
func (s *Service) Enter(m Maker) (int64, error) {
	from, err := s.enter(m)
	if err == nil {
		s.publish()
	}
	return from, err
}

func (s *Service) enter(m Maker) (int64, error) {
	if m == nil {
		return 0, errs.Errorf(errs.Invalid, "no strategy to enter")
	}
	p := m(0).Profile()
	if p.ID == "" || p.Name == "" || len(p.ID) > 32 {
		return 0, errs.Errorf(errs.Invalid, "an entrant needs an id of at most 32 characters and a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.profiles {
		if q.ID == p.ID {
			return 0, errs.Errorf(errs.Conflict, "%q (%s) is already in the tournament", p.ID, q.Name)
		}
	}
	if len(s.profiles) >= MaxStrategies {
		return 0, errs.Errorf(errs.Conflict, "the tournament is full (%d strategies)", MaxStrategies)
	}
	// New slices: a round being built holds the old roster.
	s.cfg.Round.Roster = append(slices.Clip(s.cfg.Round.Roster), m)
	p.Entrant = true
	s.profiles = append(slices.Clip(s.profiles), p)
	s.log.Info("tournament: entrant added", "id", p.ID, "name", p.Name, "from_round", s.rostered+1)
	return s.rostered + 1, nil
}

// Withdraw takes the entrant id out of the tournament and returns the first
// round it no longer plays: the next round to be built. The round in
// progress, or one being built, keeps the roster it was built with, so the
// entrant finishes it, its results are saved and count in the season like
// any other; the live leaderboard lists it until that round ends.
//
// Only entrants (strategies added by Enter) can leave: an id that is not in
// the tournament is errs.NotFound, a strategy of the configured house
// roster is errs.Invalid (it can never leave, whatever the state of the
// tournament, so it is a bad request rather than a conflict).
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
// (app/entrant) must forget it too.
//
// The new state and tally are published at once, so pages drop the
// entrant's vote button and avatar without waiting for the next round's
// updates.
func (s *Service) Withdraw(id string) (int64, error) {
	from, err := s.withdraw(id)
	if err == nil {
		s.publish()
	}
	return from, err
}

func (s *Service) withdraw(id string) (int64, error) {
	s.vmu.Lock() // the tally and tournament_votes change together, as in Vote
	defer s.vmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := slices.IndexFunc(s.profiles, func(p Profile) bool { return p.ID == id })
	if k < 0 {
		return 0, errs.Errorf(errs.NotFound, "there is no strategy %q in the tournament", id)
	}
	p := s.profiles[k]
	if !p.Entrant {
		return 0, errs.Errorf(errs.Invalid, "%q (%s) is one of the house strategies; only entrants can be withdrawn", id, p.Name)
	}
	from := s.rostered + 1
	// One small delete under mu: the round's clock waits for it, which keeps
	// the roster, the tally and the database in step.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.tables.dropVotes(ctx, from, id); err != nil {
		return 0, err
	}
	// New slices: a round being built holds the old roster.
	s.cfg.Round.Roster = slices.Concat(s.cfg.Round.Roster[:k:k], s.cfg.Round.Roster[k+1:])
	s.profiles = slices.Concat(s.profiles[:k:k], s.profiles[k+1:])
	if s.votes.openRound() >= from {
		if n := s.votes.drop(id); n > 0 {
			s.log.Info("tournament: votes for a withdrawn entrant dropped", "id", id, "round", s.votes.openRound(), "votes", n)
		}
		TopicVotes.Publish(s.bus, "tournament", "", "tally", s.votes.snapshot())
	}
	s.log.Info("tournament: entrant withdrawn", "id", id, "name", p.Name, "last_round", from-1, "gone_from_round", from)
	return from, nil
}
