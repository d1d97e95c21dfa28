package tournament

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// liveRound is the round in progress (or the last one) and what the engine
// keeps while it runs.
type liveRound struct {
	round      *Round
	scenario   Scenario
	det        *detector
	fills      []Fill // not yet published
	recentFill []int  // step of each strategy's last fill
}

// seasonState is the current season's standings and the crowd's record.
type seasonState struct {
	id        int64
	standings []Standing
	crowd     CrowdAccuracy
}

// roundSeed derives round id's seed from the service seed (SplitMix64).
func roundSeed(seed uint64, id int64) uint64 {
	z := seed + uint64(id)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// RoundPlan is what round id will be: its seed and scenario.
func (s *Service) RoundPlan(id int64) (uint64, Scenario) {
	return roundSeed(s.cfg.Seed, id), Scenarios[int((id-1)%int64(len(Scenarios)))]
}

func (s *Service) seasonOf(id int64) int64 { return (id-1)/int64(s.cfg.RoundsPerSeason) + 1 }

// Run runs rounds until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	s.feed.start(ctx)
	defer s.feed.wait()
	if err := s.recover(ctx); err != nil {
		return err
	}
	if s.cfg.Ledger != nil {
		return s.runLedger(ctx)
	}
	wait := s.cfg.FirstWait
	for {
		s.mu.Lock()
		s.phase = "voting"
		s.lockAt = time.Now().Add(wait)
		id := s.roundID + 1
		s.mu.Unlock()
		s.publish()
		if !sleep(ctx, wait) {
			return nil
		}
		seed, _ := s.RoundPlan(id)
		if err := s.runRound(ctx, roundPlan{id: id, seed: seed, start: time.Now()}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wait = s.cfg.VoteWindow
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// recover marks rounds interrupted by a stop as abandoned and loads the
// next round's votes, the season standings and the crowd's record.
func (s *Service) recover(ctx context.Context) error {
	if err := s.tables.markInterrupted(ctx); err != nil {
		return err
	}
	last, err := s.tables.lastRound(ctx)
	if err != nil {
		return err
	}
	s.vmu.Lock()
	s.mu.Lock()
	s.roundID, s.rostered = last, last
	s.season = seasonState{id: s.seasonOf(last + 1)}
	s.mu.Unlock()
	err = s.openVotes(ctx, last+1)
	s.vmu.Unlock()
	if err != nil {
		return err
	}
	return s.loadSeason(ctx)
}

// roundPlan is the round to run: its number, its seed, and the real time
// it started, which its clock runs from. Alone that is now; in cluster mode
// it is the replicated start, so a node that joins the round late (a new
// leader after a failover, a restarted node) catches up to the same step.
//
// In cluster mode (ledger) roster is the leader's roster of the round:
// this node plays the round with it, or sits the round out when it cannot.
type roundPlan struct {
	id     int64
	seed   uint64
	start  time.Time
	roster []RosterEntry
	ledger bool
}

// sitOut is what a cluster node does with a round of the leader's roster
// that it cannot play (an entrant it lacks): it does not run a round of
// its own under that id (it would differ from every other node's), it
// says why on its page and in its log, and it waits for the next round.
func (s *Service) sitOut(id int64, why error) {
	s.mu.Lock()
	s.roundID, s.rostered = max(s.roundID, id), max(s.rostered, id)
	s.live, s.phase = nil, "sitting-out"
	s.notice = fmt.Sprintf("Round %d is not played on this node: %v.", id, why)
	s.mu.Unlock()
	s.log.Error("tournament: this node sits a round out", "round", id, "err", why)
	s.publish()
}

// runRound runs round p to its end on the clock.
func (s *Service) runRound(ctx context.Context, p roundPlan) error {
	id, seed := p.id, p.seed
	makers, err := s.rosterFor(p.roster)
	if err != nil {
		s.sitOut(id, err)
		return nil
	}
	s.mu.Lock()
	rc := s.cfg.Round
	s.rostered = max(s.rostered, id)
	s.notice = ""
	s.mu.Unlock()
	_, sc := s.RoundPlan(id)
	rc.Seed, rc.Script, rc.Roster = seed, sc.Script, makers
	r, err := NewRound(rc)
	if err != nil {
		return fmt.Errorf("tournament: round %d: %w", id, err)
	}
	r.TimeDecisions(true) // for the live decision-latency figures; results do not depend on it
	season := s.seasonOf(id)
	if err := s.tables.startRound(ctx, roundRow{ID: id, Season: season, Seed: seed, Scenario: sc, FeeBps: r.cfg.FeeBps,
		ScoreBy: s.cfg.ScoreBy, Started: p.start, Cluster: p.ledger}); err != nil {
		return err
	}
	live := &liveRound{round: r, scenario: sc, det: newDetector(len(r.profiles), s.cfg.ScoreBy),
		recentFill: make([]int, len(r.profiles))}
	for k := range live.recentFill {
		live.recentFill[k] = -100
	}
	s.feed.newRound(seed, id, r.profiles)
	s.vmu.Lock() // votes for this round close now
	closed := s.votes.snapshot()
	s.mu.Lock()
	s.live, s.roundID, s.phase = live, id, "running"
	if season != s.season.id {
		s.season = seasonState{id: season}
	}
	s.mu.Unlock()
	err = s.openVotes(ctx, id+1)
	s.vmu.Unlock()
	if err != nil {
		return err
	}

	stepDur := r.cfg.Step
	realStart := p.start
	nextPublish := time.Now()
	lr := s.newLedgerRun(ctx, id)
	defer lr.wait()
	for !r.Done() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.mu.Lock()
		batchEnd := time.Now().Add(20 * time.Millisecond)
		var wait time.Duration
		for n := 0; !r.Done(); n++ {
			if s.cfg.Speed > 0 {
				due := int(time.Since(realStart).Seconds() * s.cfg.Speed / stepDur.Seconds())
				if r.StepNo() >= due {
					wait = time.Duration(float64(stepDur) / s.cfg.Speed)
					break
				}
			}
			r.Step()
			s.afterStep(live)
			if n%16 == 15 && time.Now().After(batchEnd) {
				break
			}
		}
		lr.afterBatch(s, r)
		s.mu.Unlock()
		if time.Now().After(nextPublish) {
			s.publish()
			nextPublish = time.Now().Add(s.cfg.PublishEvery)
		}
		if wait = min(wait, time.Until(nextPublish)); wait > 0 {
			sleep(ctx, wait)
		}
	}
	tally := closed.Votes
	if s.cfg.Ledger != nil {
		// The replicated votes, closed when the round started: the same
		// on every node, whichever of them runs the round to its end.
		tally = tallyOf(s.cfg.Ledger.Votes(id))
	}
	return s.finish(ctx, id, live, tally)
}

// afterStep collects fills and commentary after a step. Called with mu held.
func (s *Service) afterStep(live *liveRound) {
	r := live.round
	fills := r.DrainFills()
	for _, f := range fills {
		for k, p := range r.profiles {
			if p.ID == f.Strategy {
				live.recentFill[k] = f.Step
			}
		}
	}
	if len(live.fills) < 500 {
		live.fills = append(live.fills, fills...)
	}
	for _, e := range live.det.step(r, r.DrainEvents(), nil) {
		s.say(e)
	}
}

// say hands an event to the commentary, with the names and symbols a
// model's rewrite may quote. Called with mu held.
func (s *Service) say(e Event) {
	if !s.feed.rewrites() {
		s.feed.say(e, nil, nil)
		return
	}
	var names, symbols []string
	for _, p := range s.profiles {
		names = append(names, p.Name)
	}
	if s.live != nil {
		// An entrant withdrawn during the round still plays it.
		for _, p := range s.live.round.profiles {
			if !slices.Contains(names, p.Name) {
				names = append(names, p.Name)
			}
		}
		for _, in := range s.live.round.Instruments() {
			symbols = append(symbols, in.Symbol)
		}
	}
	s.feed.say(e, names, symbols)
}

// finish scores the round, persists it, and announces the winner. tally is
// the round's votes as they closed.
func (s *Service) finish(ctx context.Context, id int64, live *liveRound, tally map[string]int) error {
	r := live.round
	results := r.Results(s.cfg.ScoreBy)
	winner := results[0]
	pick := leaderOf(tally)
	equity := map[string][]float64{}
	for _, res := range results {
		equity[res.Strategy] = everyMinute(r.equity[r.indexOf(res.Strategy)], r.cfg.Step)
	}
	if err := s.tables.finishRound(ctx, id, results, equity, winner.Strategy, pick, time.Now()); err != nil {
		return err
	}
	s.mu.Lock()
	s.say(Event{Kind: EventResult, Step: r.StepNo(), Clock: r.clock(), Strategy: winner.Strategy, Name: winner.Name, Value: math.Round(winner.PnL)})
	s.lastResult = &RoundSummary{Round: id, Scenario: live.scenario.Name, Winner: winner.Strategy, WinnerName: winner.Name,
		CrowdPick: pick, Results: results}
	s.phase = "voting"
	s.mu.Unlock()
	if err := s.loadSeason(ctx); err != nil {
		return err
	}
	s.publish()
	return nil
}

// everyMinute samples an equity curve of steps of length step once a
// simulated minute (and at its end): what the database keeps, and what the
// season's PSR and DSR are computed on (one-minute returns).
func everyMinute(eq []float64, step time.Duration) []float64 {
	k := max(1, int(time.Minute/step))
	out := make([]float64, 0, len(eq)/k+2)
	for i := 0; i < len(eq); i += k {
		out = append(out, eq[i])
	}
	if (len(eq)-1)%k != 0 {
		out = append(out, eq[len(eq)-1])
	}
	return out
}

func (r *Round) indexOf(id string) int {
	for k, p := range r.profiles {
		if p.ID == id {
			return k
		}
	}
	return -1
}

// loadSeason rebuilds the current season's standings and the crowd's
// record from the database.
func (s *Service) loadSeason(ctx context.Context) error {
	s.mu.Lock()
	id := s.season.id
	s.mu.Unlock()
	in, crowd, err := s.tables.season(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.season.id == id {
		s.season.standings, s.season.crowd = Standings(in), crowd
	}
	return nil
}
