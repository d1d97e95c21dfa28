package tournament

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// Ledger is the replicated record of the tournament's rounds that the
// nodes of a cluster share (ClusterLedger is app/cluster's). A round is
// owned by the leader: only the leader starts it, writes its checkpoints
// and records its result. Every node runs the round itself, from the
// replicated seed on the replicated clock (the round is deterministic given
// its seed and roster), so each node's page shows the same live round and
// a new leader carries on with the round it was already running; a node
// that was not running it (restarted, or joined late) replays it from the
// start record up to the step the clock is at and checks its replay against
// the leader's checkpoints.
type Ledger interface {
	// Leading reports whether this node owns the rounds now.
	Leading() bool
	// Sync returns once this node's view holds every record committed
	// before the call (a raft barrier): the leader calls it before it
	// decides that the next round is its to start.
	Sync(ctx context.Context) error
	// Latest is the highest-numbered round's record; ok is false before
	// the first round.
	Latest() (rec LedgerRound, ok bool)
	// Start records that round starts now with seed and the leader's
	// roster. A round already started (by another leader) is an
	// errs.Conflict.
	Start(ctx context.Context, round int64, seed uint64, roster []RosterEntry) error
	// Checkpoint records the leader's progress of round at step.
	Checkpoint(ctx context.Context, round int64, step int, state json.RawMessage) error
	// Finish records round's result.
	Finish(ctx context.Context, round int64, results json.RawMessage) error
	// Votes are round's replicated votes: voter -> strategy.
	Votes(round int64) map[string]string
	// HandOff gives the leadership up to another node (raft's pick): a
	// leader that cannot play the running round's roster cannot record
	// its result.
	HandOff(ctx context.Context) error
}

// The statuses of a LedgerRound.
const (
	LedgerStarted  = "started"
	LedgerProgress = "progress"
	LedgerFinished = "finished"
)

// LedgerRound is a round's latest replicated record.
type LedgerRound struct {
	Round   int64           `json:"round"`
	Status  string          `json:"status"`
	Seed    uint64          `json:"seed"`
	Step    int             `json:"step"`             // of the latest checkpoint
	State   json.RawMessage `json:"state,omitempty"`  // a Checkpoint
	Started time.Time       `json:"started"`          // when the round started: its clock
	Roster  []RosterEntry   `json:"roster,omitempty"` // the leader's roster, in order (nil: recorded before rosters were)
	At      time.Time       `json:"at"`               // when the latest record was written
	Node    string          `json:"node"`             // who wrote it
}

// RosterEntry is one strategy of a round's roster: its id and digest
// (Profile.Digest).
type RosterEntry struct {
	ID     string `json:"id"`
	Digest string `json:"digest,omitempty"`
}

// rosterOf is the roster of profiles, in order.
func rosterOf(profiles []Profile) []RosterEntry {
	out := make([]RosterEntry, len(profiles))
	for k, p := range profiles {
		out[k] = RosterEntry{ID: p.ID, Digest: p.Digest}
	}
	return out
}

// rosterFor returns this node's strategies for a round of the leader's
// roster, in its order: a node with an extra entrant leaves it out of the
// round, one that lacks an entrant of the roster (or holds another
// network under its id) cannot play the round and says which. A nil
// roster (a round recorded before rosters were) is this node's own.
func (s *Service) rosterFor(roster []RosterEntry) ([]Maker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if roster == nil {
		return s.cfg.Round.Roster, nil
	}
	makers := make([]Maker, 0, len(roster))
	var missing, differ []string
	for _, e := range roster {
		k := slices.IndexFunc(s.profiles, func(p Profile) bool { return p.ID == e.ID })
		switch {
		case k < 0:
			missing = append(missing, e.ID)
		case s.profiles[k].Digest != e.Digest:
			differ = append(differ, e.ID)
		default:
			makers = append(makers, s.cfg.Round.Roster[k])
		}
	}
	if len(missing) == 0 && len(differ) == 0 {
		return makers, nil
	}
	msg := "this node cannot play the leader's roster:"
	if len(missing) > 0 {
		msg += " it lacks " + strings.Join(missing, ", ") + ";"
	}
	if len(differ) > 0 {
		msg += " it holds other networks under " + strings.Join(differ, ", ") + ";"
	}
	return nil, errs.Errorf(errs.Conflict, "%s enter the same agents on every node (the same --tournament-agent files)", msg)
}

// Checkpoint is the leader's record of a running round at a step: each
// entrant's account.
type Checkpoint struct {
	Step     int                 `json:"step"`
	Clock    string              `json:"clock"`
	Accounts []CheckpointAccount `json:"accounts"`
}

// CheckpointAccount is one entrant's account at a checkpoint.
type CheckpointAccount struct {
	Strategy string    `json:"strategy"`
	Equity   float64   `json:"equity"`
	Cash     float64   `json:"cash"`
	Position []float64 `json:"position"`
	Stopped  bool      `json:"stopped"`
}

// CheckpointChecks counts the replicated checkpoints this node compared
// with its own run of the round: each entrant's equity at the checkpoint's
// step (kept for every step), and the whole account when this node was at
// exactly that step.
type CheckpointChecks struct {
	Checked    int   `json:"checked"`
	Mismatched int   `json:"mismatched"`
	LastRound  int64 `json:"last_round"`
	LastStep   int   `json:"last_step"`
}

// Checks returns the checkpoint comparisons so far.
func (s *Service) Checks() CheckpointChecks {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checks
}

func checkpointOf(r *Round) Checkpoint {
	cp := Checkpoint{Step: r.StepNo(), Clock: r.Clock().Format("15:04:05")}
	for k, p := range r.profiles {
		a := r.accounts[k]
		cp.Accounts = append(cp.Accounts, CheckpointAccount{Strategy: p.ID, Equity: a.Equity, Cash: a.Cash,
			Position: append([]float64(nil), a.Position...), Stopped: a.Stopped})
	}
	return cp
}

// matches reports whether r, which has run at least to cp.Step, agrees
// with cp.
func (cp Checkpoint) matches(r *Round) bool {
	if len(cp.Accounts) != len(r.profiles) {
		return false
	}
	for _, ca := range cp.Accounts {
		k := r.indexOf(ca.Strategy)
		if k < 0 || cp.Step >= len(r.equity[k]) || r.equity[k][cp.Step] != ca.Equity {
			return false
		}
		if r.StepNo() == cp.Step {
			a := r.accounts[k]
			if a.Cash != ca.Cash || a.Stopped != ca.Stopped || len(a.Position) != len(ca.Position) {
				return false
			}
			for i := range a.Position {
				if a.Position[i] != ca.Position[i] {
					return false
				}
			}
		}
	}
	return true
}

// ledgerRun is what runRound keeps in cluster mode: the leader's
// checkpoint writes (one at a time, in the background: a leader that lost
// its quorum must not stall the round) and the last checkpoint compared.
// A nil ledgerRun (no ledger) does nothing.
type ledgerRun struct {
	ctx      context.Context
	l        Ledger
	id       int64
	every    time.Duration
	next     time.Time
	busy     atomic.Bool
	wg       sync.WaitGroup
	verified int
	s        *Service
}

func (s *Service) newLedgerRun(ctx context.Context, id int64) *ledgerRun {
	if s.cfg.Ledger == nil {
		return nil
	}
	return &ledgerRun{ctx: ctx, l: s.cfg.Ledger, id: id, every: s.cfg.CheckpointEvery, s: s}
}

// afterBatch runs with s.mu held after a batch of steps of r: it compares
// the latest replicated checkpoint this node has run past, and, on the
// leader, writes a checkpoint when one is due.
func (lr *ledgerRun) afterBatch(s *Service, r *Round) {
	if lr == nil {
		return
	}
	rec, ok := lr.l.Latest()
	mine := ok && rec.Round == lr.id
	if mine && rec.Status == LedgerProgress && rec.Step > lr.verified && rec.Step <= r.StepNo() {
		lr.verified = rec.Step
		var cp Checkpoint
		match := json.Unmarshal(rec.State, &cp) == nil && cp.Step == rec.Step && cp.matches(r)
		s.checks.Checked++
		s.checks.LastRound, s.checks.LastStep = lr.id, rec.Step
		if !match {
			s.checks.Mismatched++
			s.log.Warn("tournament: this node's run of the round differs from the leader's checkpoint (another roster?)",
				"round", lr.id, "step", rec.Step, "leader", rec.Node)
		}
	}
	if r.Done() || !lr.l.Leading() || time.Now().Before(lr.next) || lr.busy.Load() || (mine && r.StepNo() <= rec.Step) {
		return
	}
	b, err := json.Marshal(checkpointOf(r))
	if err != nil {
		return
	}
	lr.next = time.Now().Add(lr.every)
	lr.busy.Store(true)
	step := r.StepNo()
	lr.wg.Go(func() {
		defer lr.busy.Store(false)
		ctx, cancel := context.WithTimeout(lr.ctx, 5*time.Second)
		defer cancel()
		if err := lr.l.Checkpoint(ctx, lr.id, step, b); err != nil && !errs.Is(err, errs.Conflict) && ctx.Err() == nil {
			s.log.Warn("tournament: checkpoint not recorded", "round", lr.id, "step", step, "err", err)
		}
	})
}

// wait waits for a checkpoint write in flight.
func (lr *ledgerRun) wait() {
	if lr != nil {
		lr.wg.Wait()
	}
}

func tallyOf(picks map[string]string) map[string]int {
	t := map[string]int{}
	for _, st := range picks {
		t[st]++
	}
	return t
}

// ledgerPoll is how often a node looks at the replicated rounds.
const ledgerPoll = 50 * time.Millisecond

// runLedger is Run in cluster mode: it follows the replicated rounds. A
// round in progress is run (joined at the step its clock is at); a round
// this node ran to its end waits for the leader's result (the leader
// records it); between rounds the leader starts the next once the vote
// window after the last result has passed, on the replicated clock, so a
// new leader keeps the same schedule.
func (s *Service) runLedger(ctx context.Context) error {
	l := s.cfg.Ledger
	var done int64 // the last round this node ran to its end
	first := time.Now().Add(s.cfg.FirstWait)
	for ctx.Err() == nil {
		rec, ok := l.Latest()
		running := ok && rec.Status != LedgerFinished
		switch {
		case running && rec.Round > done:
			fin, err := s.tables.finished(ctx, rec.Round)
			if err != nil {
				return err
			}
			if !fin {
				if err := s.runRound(ctx, roundPlan{id: rec.Round, seed: rec.Seed, start: rec.Started, roster: rec.Roster, ledger: true}); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
			}
			done = rec.Round
			continue
		case running:
			if l.Leading() {
				s.recordFinish(ctx, rec)
			}
		default:
			next, lockAt := int64(1), first
			if ok {
				next, lockAt = rec.Round+1, rec.At.Add(s.cfg.VoteWindow)
			}
			if err := s.between(ctx, next, lockAt); err != nil {
				return err
			}
			if l.Leading() && !time.Now().Before(lockAt) {
				s.startNext(ctx, next)
				continue
			}
		}
		sleep(ctx, ledgerPoll)
	}
	return nil
}

// between shows the vote window before round next (starting at lockAt)
// and keeps its votes open.
func (s *Service) between(ctx context.Context, next int64, lockAt time.Time) error {
	s.mu.Lock()
	changed := s.phase != "voting" || !s.lockAt.Equal(lockAt)
	s.phase, s.lockAt = "voting", lockAt
	s.roundID = max(s.roundID, next-1)
	s.mu.Unlock()
	if s.votes.openRound() != next {
		s.vmu.Lock()
		err := s.openVotes(ctx, next)
		s.vmu.Unlock()
		if err != nil {
			return err
		}
		changed = true
	}
	if changed {
		s.publish()
	}
	return nil
}

// startNext starts round next as the leader, unless the replicated state
// (brought up to date first) shows it started already.
func (s *Service) startNext(ctx context.Context, next int64) {
	l := s.cfg.Ledger
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.Sync(sctx); err != nil {
		s.log.Debug("tournament: no barrier before starting a round", "round", next, "err", err)
		return
	}
	if rec, ok := l.Latest(); ok && rec.Round >= next {
		return
	}
	seed, _ := s.RoundPlan(next)
	s.mu.Lock()
	roster := rosterOf(s.profiles)
	s.mu.Unlock()
	if err := l.Start(sctx, next, seed, roster); err != nil && !errs.Is(err, errs.Conflict) && ctx.Err() == nil {
		s.log.Warn("tournament: round start not recorded", "round", next, "err", err)
	}
}

// recordFinish records the result of round rec, which this node has run to
// its end, as the leader.
func (s *Service) recordFinish(ctx context.Context, rec LedgerRound) {
	s.mu.Lock()
	sum := s.lastResult
	s.mu.Unlock()
	if sum == nil || sum.Round != rec.Round {
		// Finished here before a restart: the result is the round's replay.
		var err error
		if sum, err = s.replaySummary(rec); err != nil {
			// Once a round: this is asked every ledgerPoll while it leads.
			if s.unfinishable != rec.Round {
				s.unfinishable = rec.Round
				s.log.Error("tournament: this node leads but cannot replay the round for its result; it hands the leadership on "+
					"until a node with the round's roster leads (metastation cluster transfer --id NODE picks one)", "round", rec.Round, "err", err)
			}
			if errs.Is(err, errs.Conflict) && time.Now().After(s.nextHandOff) {
				// Raft's pick may lack the roster too; it hands on in turn.
				s.nextHandOff = time.Now().Add(2 * time.Second)
				hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if err := s.cfg.Ledger.HandOff(hctx); err != nil && ctx.Err() == nil {
					s.log.Warn("tournament: leadership not handed on", "round", rec.Round, "err", err)
				}
				cancel()
			}
			return
		}
	}
	b, err := json.Marshal(sum)
	if err != nil {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.cfg.Ledger.Finish(fctx, rec.Round, b); err != nil && !errs.Is(err, errs.Conflict) && ctx.Err() == nil {
		s.log.Warn("tournament: round result not recorded", "round", rec.Round, "err", err)
	}
}

// replaySummary runs round rec from its seed to the end, off the clock,
// and scores it with its replicated votes.
func (s *Service) replaySummary(rec LedgerRound) (*RoundSummary, error) {
	makers, err := s.rosterFor(rec.Roster)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	rc := s.cfg.Round
	s.mu.Unlock()
	_, sc := s.RoundPlan(rec.Round)
	rc.Seed, rc.Script, rc.Roster = rec.Seed, sc.Script, makers
	r, err := NewRound(rc)
	if err != nil {
		return nil, err
	}
	for !r.Done() {
		r.Step()
	}
	results := r.Results(s.cfg.ScoreBy)
	if len(results) == 0 {
		return nil, errors.New("the round has no entrants")
	}
	return &RoundSummary{Round: rec.Round, Scenario: sc.Name, Winner: results[0].Strategy, WinnerName: results[0].Name,
		CrowdPick: leaderOf(tallyOf(s.cfg.Ledger.Votes(rec.Round))), Results: results}, nil
}
