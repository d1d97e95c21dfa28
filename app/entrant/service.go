package entrant

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/tournament"
)

// Service enters trained learners into the tournament, from a checkpoint in
// the data directory or a finished run of the Training page, withdraws
// them, and remembers them, so a restarted server enters them again.
type Service struct {
	dataDir string
	t       *tournament.Service
	runs    Runs // may be nil: no run can enter
	tables  tables
	log     *slog.Logger

	mu sync.Mutex // one checkpoint decoded at a time; taken with TryLock only
}

// NewService returns the entrants of t; checkpoints come from dataDir and
// runs (which may be nil), the remembered entrants are in db.
func NewService(dataDir string, db *store.DB, t *tournament.Service, runs Runs, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{dataDir: dataDir, t: t, runs: runs, tables: tables{db: db}, log: log}
}

// Entered is an entrant that joined: its profile and the first round it
// plays.
type Entered struct {
	Profile   tournament.Profile `json:"profile"`
	FromRound int64              `json:"from_round"`
}

// Request names an entrant: either a checkpoint inside the data directory's
// runs/ folder, or a multi-agent run of the Training page.
type Request struct {
	Checkpoint string `json:"checkpoint"`
	Run        int64  `json:"run"`
}

// Enter enters the learner req names from the next round to start and
// remembers it.
func (s *Service) Enter(ctx context.Context, req Request) (Entered, error) {
	var rel string
	var err error
	switch {
	case (req.Checkpoint == "") == (req.Run == 0):
		return Entered{}, errs.Errorf(errs.Invalid, `name either a checkpoint ({"checkpoint": "vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"}) or a multi-agent run of the Training page ({"run": 3})`)
	case req.Run < 0:
		return Entered{}, errs.Errorf(errs.Invalid, "a run id is a whole number from 1")
	case req.Run > 0:
		rel, err = runPath(s.runs, s.dataDir, req.Run)
	default:
		rel, err = checkpointPath(req.Checkpoint)
	}
	if err != nil {
		return Entered{}, err
	}
	// One checkpoint is decoded at a time (each may take 256 MB), but no
	// request waits for another's file I/O: a FIFO once held the lock
	// forever and every later entrant request hung behind it.
	if !s.mu.TryLock() {
		return Entered{}, errs.Errorf(errs.Unavailable, "another checkpoint is being loaded; try again in a moment")
	}
	a, err := open(s.dataDir, rel)
	s.mu.Unlock()
	if err != nil {
		return Entered{}, err
	}
	from, err := s.t.Enter(a.Maker())
	if err != nil {
		return Entered{}, err
	}
	s.log.Info("entrant: entered", "checkpoint", rel, "id", a.ID(), "from_round", from)
	// The entrant plays either way; only the next start would miss it.
	// Not the caller's context: a client gone now would lose it.
	if err := s.tables.remember(context.WithoutCancel(ctx), rel, a.ID(), time.Now()); err != nil {
		s.log.Error("entrant: not remembered", "checkpoint", rel, "err", err)
	}
	return Entered{Profile: a.Profile(), FromRound: from}, nil
}

// Withdrawn is an entrant that left: the last round it plays and the first
// it no longer plays.
type Withdrawn struct {
	Strategy      string `json:"strategy"`
	LastRound     int64  `json:"last_round"`
	GoneFromRound int64  `json:"gone_from_round"`
}

// Withdraw takes the entrant strategy out of the tournament (see
// tournament.Service.Withdraw) and forgets it, so a restart does not bring
// it back.
func (s *Service) Withdraw(ctx context.Context, strategy string) (Withdrawn, error) {
	gone, err := s.t.Withdraw(strategy)
	if err != nil {
		return Withdrawn{}, err
	}
	if err := s.tables.forget(context.WithoutCancel(ctx), strategy); err != nil {
		return Withdrawn{}, errs.Wrap(errs.Internal, err, "%s was withdrawn, but could not be forgotten: it will be back after a restart", strategy)
	}
	s.log.Info("entrant: withdrawn", "id", strategy, "gone_from_round", gone)
	return Withdrawn{Strategy: strategy, LastRound: gone - 1, GoneFromRound: gone}, nil
}

// EnterFile enters the trading-world checkpoint at path (the
// --tournament-agent flag). It is not remembered: the flag brings it back.
func (s *Service) EnterFile(path string) error {
	a, err := LoadFile(path)
	if err != nil {
		return err
	}
	_, err = s.t.Enter(a.Maker())
	return err
}

// Reenter enters again the learners an earlier run of the server took
// through Enter. One whose checkpoint no longer loads is skipped with a
// warning: it must not keep the server from starting. One whose checkpoint
// is gone is forgotten too, as it can never come back.
func (s *Service) Reenter(ctx context.Context) {
	paths, err := s.tables.remembered(ctx)
	if err != nil {
		s.log.Warn("entrant: earlier entrants not read", "err", err)
	}
	for _, p := range paths {
		a, err := open(s.dataDir, p)
		if errs.Is(err, errs.NotFound) {
			if err := s.tables.forgetCheckpoint(ctx, p); err != nil {
				s.log.Warn("entrant: earlier entrant with no checkpoint not forgotten", "checkpoint", p, "err", err)
			}
			s.log.Warn("entrant: earlier entrant forgotten", "checkpoint", p, "reason", errs.MessageOf(err))
			continue
		}
		if err != nil {
			s.log.Warn("entrant: earlier entrant skipped", "checkpoint", p, "reason", errs.MessageOf(err))
			continue
		}
		if _, err := s.t.Enter(a.Maker()); err != nil {
			s.log.Warn("entrant: earlier entrant skipped", "checkpoint", p, "err", err)
			continue
		}
		s.log.Info("entrant: earlier entrant entered again", "checkpoint", p, "id", a.ID())
	}
}

// Remembered lists the checkpoints of the remembered entrants (entrant
// paths: runs/… or marl/…), in the order they were entered.
func (s *Service) Remembered(ctx context.Context) ([]string, error) {
	return s.tables.remembered(ctx)
}
