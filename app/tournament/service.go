package tournament

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/store"
)

// Errors the HTTP layer maps to statuses; each is wrapped with a sentence.
var (
	ErrNotFound = errors.New("not found") // 404: unknown round or strategy
	ErrLocked   = errors.New("locked")    // 409: voting for that round has closed
	ErrInvalid  = errors.New("invalid")   // 400
	ErrConflict = errors.New("conflict")  // 409: an entrant with that id is in, or the tournament is full
)

// The tournament's topics on the bus.
var (
	TopicState      = bus.NewTopic[State]("tournament.state")       // snapshot
	TopicCommentary = bus.NewTopic[[]Line]("tournament.commentary") // new lines
	TopicFills      = bus.NewTopic[[]Fill]("tournament.fills")      // strategies' fills since the last message
)

// Scenario is a named regime script.
type Scenario struct {
	Name   string `json:"name"`
	Script string `json:"script"`
}

// Scenarios are the market scenarios rounds rotate through.
var Scenarios = []Scenario{
	{"Flash crash at 10:30", DefaultScript},
	{"Nervous afternoon", "calm; 12:00 volatile; 14:30 crisis shock=-2; 15:15 volatile"},
	{"Quiet trend day", "calm"},
	{"Crisis open, recovery", "crisis shock=-3; 10:30 volatile; 12:30 calm"},
}

// Config sets up the tournament service. Zero fields take the defaults.
type Config struct {
	Seed            uint64
	Speed           float64       // simulated seconds per real second; default 130 (a round in 3 minutes); negative is as fast as possible
	Round           RoundConfig   // Seed and Script are set per round
	VoteWindow      time.Duration // real pause between rounds, votes still open; default 20s
	FirstWait       time.Duration // real wait before the first round; default 1s
	RoundsPerSeason int           // default 5
	ScoreBy         ScoreBy       // default sortino
	PublishEvery    time.Duration // default 250ms
	LLM             *LLM          // when set, commentary lines are rewritten by a local model (templates are the fallback)
}

func (c Config) withDefaults() Config {
	if c.Speed == 0 {
		c.Speed = 130
	}
	if c.VoteWindow == 0 {
		c.VoteWindow = 20 * time.Second
	}
	if c.FirstWait == 0 {
		c.FirstWait = time.Second
	}
	if c.RoundsPerSeason <= 0 {
		c.RoundsPerSeason = 5
	}
	if c.ScoreBy == "" {
		c.ScoreBy = BySortino
	}
	if c.PublishEvery <= 0 {
		c.PublishEvery = 250 * time.Millisecond
	}
	c.Round = c.Round.withDefaults()
	return c
}

// Service runs rounds one after another on a clock, takes votes, comments,
// publishes its state on the bus and persists everything. Its methods are
// safe to call while Run runs.
type Service struct {
	cfg      Config
	bus      *bus.Bus
	db       *store.DB
	w        *store.Writer
	log      *slog.Logger
	profiles []Profile

	voteMu sync.Mutex // serialises votes: database and tallies change together
	llmCtx context.Context
	llmWG  sync.WaitGroup // rewrites in flight

	mu         sync.Mutex
	rostered   int64  // the last round whose roster is fixed; entrants play from the one after
	phase      string // "starting", "running", "voting"
	round      *Round
	roundID    int64
	scenario   Scenario
	lockAt     time.Time // when the upcoming round starts
	voteRound  int64     // the round votes are for: the next one to start
	tally      map[string]int
	votersPick map[string]string // client -> strategy, for voteRound
	voteLeader string
	det        *detector
	com        *Commentator
	recent     []Line
	lines      []Line // not yet published
	fills      []Fill // not yet published
	lastResult *RoundSummary
	standings  []Standing
	season     int64
	crowd      CrowdAccuracy
	recentFill []int // step of each strategy's last fill
}

// NewService builds the tournament service. b and db are required; w (for
// commentary) may be nil.
func NewService(cfg Config, b *bus.Bus, db *store.DB, w *store.Writer, log *slog.Logger) (*Service, error) {
	if b == nil || db == nil {
		return nil, errors.New("the tournament needs a bus and a database")
	}
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg, bus: b, db: db, w: w, log: log, phase: "starting", tally: map[string]int{}, votersPick: map[string]string{}}
	for k, mk := range cfg.Round.Roster {
		s.profiles = append(s.profiles, mk(uint64(k)).Profile())
	}
	// Votes for the next round are open from now, before Run starts.
	if err := s.recover(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// Profiles are the strategies' profiles, in roster order.
func (s *Service) Profiles() []Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profiles
}

// MaxStrategies is the most strategies a tournament holds, house roster
// and entrants together.
const MaxStrategies = 10

// Enter adds a strategy to the roster from the next round to start on and
// returns that round's id. Its profile needs an id and a name, and the id
// must be new. The service does not remember entrants: a restarted service
// plays its configured roster again (their past results stay in the season)
// unless its owner enters them again, as the app does for the learners it
// keeps in tournament_entrants. Withdraw takes an entrant out again; one
// withdrawn may be entered again later. The new state is published at once.
func (s *Service) Enter(m Maker) (int64, error) {
	from, err := s.enter(m)
	if err == nil {
		s.publish()
	}
	return from, err
}

func (s *Service) enter(m Maker) (int64, error) {
	if m == nil {
		return 0, fmt.Errorf("%w: no strategy to enter", ErrInvalid)
	}
	p := m(0).Profile()
	if p.ID == "" || p.Name == "" || len(p.ID) > 32 {
		return 0, fmt.Errorf("%w: an entrant needs an id of at most 32 characters and a name", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.profiles {
		if q.ID == p.ID {
			return 0, fmt.Errorf("%w: %q (%s) is already in the tournament", ErrConflict, p.ID, q.Name)
		}
	}
	if len(s.profiles) >= MaxStrategies {
		return 0, fmt.Errorf("%w: the tournament is full (%d strategies)", ErrConflict, MaxStrategies)
	}
	// New slices: a round being built holds the old roster.
	s.cfg.Round.Roster = append(slices.Clip(s.cfg.Round.Roster), m)
	p.Entrant = true
	s.profiles = append(slices.Clip(s.profiles), p)
	s.log.Info("tournament: entrant added", "id", p.ID, "name", p.Name, "from_round", s.rostered+1)
	return s.rostered + 1, nil
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

// Run runs rounds until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	s.llmCtx = ctx
	defer s.llmWG.Wait()
	if err := s.recover(ctx); err != nil {
		return err
	}
	wait := s.cfg.FirstWait
	for {
		s.mu.Lock()
		s.phase = "voting"
		s.lockAt = time.Now().Add(wait)
		s.mu.Unlock()
		s.publish()
		if !sleep(ctx, wait) {
			return nil
		}
		if err := s.runRound(ctx); err != nil {
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
	if _, err := s.db.W.ExecContext(ctx, `UPDATE tournament_rounds SET state = 'abandoned' WHERE state = 'running'`); err != nil {
		return fmt.Errorf("tournament: mark interrupted rounds: %w", err)
	}
	var last sql.NullInt64
	if err := s.db.W.QueryRowContext(ctx, `SELECT max(id) FROM tournament_rounds`).Scan(&last); err != nil {
		return fmt.Errorf("tournament: last round: %w", err)
	}
	s.mu.Lock()
	s.roundID, s.rostered = last.Int64, last.Int64
	s.voteRound = last.Int64 + 1
	s.season = s.seasonOf(s.voteRound)
	s.mu.Unlock()
	if err := s.loadVotes(ctx, s.voteRound); err != nil {
		return err
	}
	return s.loadSeason(ctx)
}

func (s *Service) seasonOf(id int64) int64 { return (id-1)/int64(s.cfg.RoundsPerSeason) + 1 }

// loadVotes reads the current votes of round id into the tallies.
func (s *Service) loadVotes(ctx context.Context, id int64) error {
	rows, err := s.db.W.QueryContext(ctx, `SELECT client, strategy FROM tournament_votes WHERE round = ?`, id)
	if err != nil {
		return fmt.Errorf("tournament: read votes: %w", err)
	}
	defer rows.Close()
	tally, picks := map[string]int{}, map[string]string{}
	for rows.Next() {
		var c, st string
		if err := rows.Scan(&c, &st); err != nil {
			return fmt.Errorf("tournament: read votes: %w", err)
		}
		picks[c] = st
		tally[st]++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tournament: read votes: %w", err)
	}
	s.mu.Lock()
	s.tally, s.votersPick = tally, picks
	s.voteLeader = leaderOf(tally)
	s.mu.Unlock()
	return nil
}

// runRound runs the next round to its end on the clock.
func (s *Service) runRound(ctx context.Context) error {
	s.mu.Lock()
	id := s.roundID + 1
	rc := s.cfg.Round
	s.rostered = id
	s.mu.Unlock()
	seed, sc := s.RoundPlan(id)
	rc.Seed, rc.Script = seed, sc.Script
	r, err := NewRound(rc)
	if err != nil {
		return fmt.Errorf("tournament: round %d: %w", id, err)
	}
	r.TimeDecisions(true) // for the live decision-latency figures; results do not depend on it
	season := s.seasonOf(id)
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO tournament_rounds (id, season, seed, scenario, script, fee_bps, score_by, state, started_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)`, id, season, int64(seed), sc.Name, sc.Script, r.cfg.FeeBps, string(s.cfg.ScoreBy), time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("tournament: start round %d: %w", id, err)
	}
	s.voteMu.Lock() // votes for this round close now
	s.mu.Lock()
	s.round, s.roundID, s.scenario, s.phase = r, id, sc, "running"
	if season != s.season {
		s.season, s.standings = season, nil
	}
	s.det = newDetector(len(r.profiles), s.cfg.ScoreBy)
	s.com = NewCommentator(seed, id, r.profiles)
	s.recentFill = make([]int, len(r.profiles))
	for k := range s.recentFill {
		s.recentFill[k] = -100
	}
	closedTally := s.tally
	s.voteRound = id + 1
	s.mu.Unlock()
	err = s.loadVotes(ctx, id+1)
	s.voteMu.Unlock()
	if err != nil {
		return err
	}

	stepDur := r.cfg.Step
	realStart := time.Now()
	nextPublish := time.Now()
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
			s.afterStep(r)
			if n%16 == 15 && time.Now().After(batchEnd) {
				break
			}
		}
		s.mu.Unlock()
		if time.Now().After(nextPublish) {
			s.publish()
			nextPublish = time.Now().Add(s.cfg.PublishEvery)
		}
		if wait = min(wait, time.Until(nextPublish)); wait > 0 {
			sleep(ctx, wait)
		}
	}
	return s.finish(ctx, id, r, closedTally)
}

// afterStep collects fills and commentary after a step. Called with mu held.
func (s *Service) afterStep(r *Round) {
	fills := r.DrainFills()
	for _, f := range fills {
		for k, p := range r.profiles {
			if p.ID == f.Strategy {
				s.recentFill[k] = f.Step
			}
		}
	}
	if len(s.fills) < 500 {
		s.fills = append(s.fills, fills...)
	}
	for _, e := range s.det.step(r, r.DrainEvents(), nil) {
		s.say(e)
	}
}

// say turns an event into a commentary line. Called with mu held.
func (s *Service) say(e Event) {
	if s.com == nil {
		return
	}
	l, ok := s.com.Say(e)
	if !ok {
		return
	}
	if s.cfg.LLM != nil && s.llmCtx != nil {
		var names, symbols []string
		for _, p := range s.profiles {
			names = append(names, p.Name)
		}
		if s.round != nil {
			// An entrant withdrawn during the round still plays it.
			for _, p := range s.round.profiles {
				if !slices.Contains(names, p.Name) {
					names = append(names, p.Name)
				}
			}
			for _, in := range s.round.Instruments() {
				symbols = append(symbols, in.Symbol)
			}
		}
		s.llmWG.Add(1)
		go func() {
			defer s.llmWG.Done()
			text, err := s.cfg.LLM.Rewrite(s.llmCtx, l.Text)
			if err == nil {
				err = QuotesOnly(text, e, names, symbols)
			}
			if err == nil {
				l.Text = text
			} else {
				s.log.Debug("tournament: commentary rewrite dropped", "err", err)
			}
			s.mu.Lock()
			s.emit(l)
			s.mu.Unlock()
		}()
		return
	}
	s.emit(l)
}

// emit publishes and persists a line. Called with mu held.
func (s *Service) emit(l Line) {
	s.lines = append(s.lines, l)
	s.recent = append(s.recent, l)
	if len(s.recent) > 30 {
		s.recent = s.recent[len(s.recent)-30:]
	}
	if s.w != nil && !s.w.TryEnqueue(`INSERT INTO tournament_commentary (round, step, clock, kind, strategy, text) VALUES (?, ?, ?, ?, ?, ?)`,
		l.Round, l.Step, l.Clock, l.Kind, l.Strategy, l.Text) {
		s.log.Warn("tournament: commentary line not persisted, the writer is full")
	}
}

// finish scores the round, persists it, and announces the winner.
func (s *Service) finish(ctx context.Context, id int64, r *Round, tally map[string]int) error {
	results := r.Results(s.cfg.ScoreBy)
	winner := results[0]
	pick := leaderOf(tally)
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("tournament: save round %d: %w", id, err)
	}
	defer tx.Rollback()
	for _, res := range results {
		k := r.indexOf(res.Strategy)
		eq, _ := json.Marshal(everyMinute(r.equity[k], r.cfg.Step))
		if _, err := tx.ExecContext(ctx, `INSERT INTO tournament_results (round, strategy, name, rank, pnl, ret, sharpe, sortino,
			max_drawdown, calmar, turnover, hit_rate, fees, score, stopped, equity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, res.Strategy, res.Name, res.Rank, res.PnL, res.Return, res.Sharpe, res.Sortino, res.MaxDrawdown, res.Calmar,
			res.Turnover, res.HitRate, res.Fees, res.Score, res.Stopped, string(eq)); err != nil {
			return fmt.Errorf("tournament: save results of round %d: %w", id, err)
		}
	}
	var crowd any
	if pick != "" {
		crowd = pick
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tournament_rounds SET state = 'finished', finished_ms = ?, winner = ?, crowd_pick = ? WHERE id = ?`,
		time.Now().UnixMilli(), winner.Strategy, crowd, id); err != nil {
		return fmt.Errorf("tournament: finish round %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tournament: save round %d: %w", id, err)
	}
	s.mu.Lock()
	s.say(Event{Kind: EventResult, Step: r.StepNo(), Clock: r.clock(), Strategy: winner.Strategy, Name: winner.Name, Value: math.Round(winner.PnL)})
	s.lastResult = &RoundSummary{Round: id, Scenario: s.scenario.Name, Winner: winner.Strategy, WinnerName: winner.Name,
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

// loadSeason rebuilds the current season's standings and the crowd's
// record from the database.
func (s *Service) loadSeason(ctx context.Context) error {
	s.mu.Lock()
	season := s.season
	s.mu.Unlock()
	rows, err := s.db.W.QueryContext(ctx, `SELECT r.strategy, r.name, r.score, r.pnl, r.rank, r.equity FROM tournament_results r
		JOIN tournament_rounds t ON t.id = r.round WHERE t.season = ? AND t.state = 'finished' ORDER BY r.round`, season)
	if err != nil {
		return fmt.Errorf("tournament: read season: %w", err)
	}
	defer rows.Close()
	byID := map[string]*SeasonInput{}
	var order []string
	for rows.Next() {
		var id, name, eqText string
		var score, pnl float64
		var rank int
		if err := rows.Scan(&id, &name, &score, &pnl, &rank, &eqText); err != nil {
			return fmt.Errorf("tournament: read season: %w", err)
		}
		in := byID[id]
		if in == nil {
			in = &SeasonInput{Strategy: id, Name: name}
			byID[id] = in
			order = append(order, id)
		}
		in.Scores = append(in.Scores, score)
		in.PnLs = append(in.PnLs, pnl)
		if rank == 1 {
			in.Wins++
		}
		var eq []float64
		if err := json.Unmarshal([]byte(eqText), &eq); err == nil {
			in.Returns = append(in.Returns, Returns(eq)...)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tournament: read season: %w", err)
	}
	var in []SeasonInput
	for _, id := range order {
		in = append(in, *byID[id])
	}
	var crowd CrowdAccuracy
	if err := s.db.W.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(crowd_pick = winner), 0) FROM tournament_rounds
		WHERE season = ? AND state = 'finished' AND crowd_pick IS NOT NULL`, season).Scan(&crowd.Rounds, &crowd.Correct); err != nil {
		return fmt.Errorf("tournament: read crowd record: %w", err)
	}
	s.mu.Lock()
	s.standings = Standings(in)
	s.crowd = crowd
	s.mu.Unlock()
	return nil
}

// CrowdAccuracy is how often the audience's favourite won this season.
type CrowdAccuracy struct {
	Rounds  int `json:"rounds"`  // finished rounds of the season that had votes
	Correct int `json:"correct"` // of them, won by the crowd's pick
}

// RoundSummary is a finished round.
type RoundSummary struct {
	Round      int64    `json:"round"`
	Scenario   string   `json:"scenario"`
	Winner     string   `json:"winner"`
	WinnerName string   `json:"winner_name"`
	CrowdPick  string   `json:"crowd_pick,omitempty"`
	Results    []Result `json:"results"`
}

// Entry is one strategy's line on the live leaderboard.
type Entry struct {
	Strategy string    `json:"strategy"`
	Name     string    `json:"name"`
	Rank     int       `json:"rank"`
	PnL      float64   `json:"pnl"`
	Return   float64   `json:"return"`
	Sharpe   float64   `json:"sharpe"`
	Sortino  float64   `json:"sortino"`
	MaxDD    float64   `json:"max_drawdown"`
	Turnover float64   `json:"turnover"`
	Fees     float64   `json:"fees"`
	Score    float64   `json:"score"`
	Gross    float64   `json:"gross"` // money in positions, long plus short
	Stopped  bool      `json:"stopped"`
	Status   string    `json:"status"` // idle, trading, winning, losing, celebrating, stopped
	Curve    []float64 `json:"curve"`  // equity, at most curvePoints points
	Position []float64 `json:"position"`
}

// Price is one instrument on the ticker.
type Price struct {
	Symbol string  `json:"symbol"`
	Mid    float64 `json:"mid"`
	Change float64 `json:"change"` // since the open, as a fraction
}

// State is the tournament's snapshot, published on tournament.state.
type State struct {
	Season      int64          `json:"season"`
	Round       int64          `json:"round"`
	Phase       string         `json:"phase"` // starting, running, voting
	Scenario    string         `json:"scenario"`
	Clock       string         `json:"clock"`
	Progress    float64        `json:"progress"` // 0..1 of the round
	Regime      string         `json:"regime"`
	Speed       float64        `json:"speed"`
	ScoreBy     ScoreBy        `json:"score_by"`
	VoteRound   int64          `json:"vote_round"`
	LockInS     float64        `json:"lock_in_s"` // real seconds until the vote round starts, when known
	Votes       map[string]int `json:"votes"`
	VoteTotal   int            `json:"vote_total"`
	Crowd       CrowdAccuracy  `json:"crowd"`
	Leaderboard []Entry        `json:"leaderboard"`
	Prices      []Price        `json:"prices"`
	Standings   []Standing     `json:"standings"`
	LastResult  *RoundSummary  `json:"last_result,omitempty"`
	Recent      []Line         `json:"recent"`
	Profiles    []Profile      `json:"profiles"`
	// Decision latency of the strategies' Decide calls over the last
	// decisionWindow calls of the round, in microseconds.
	DecisionP50us float64 `json:"decision_p50_us"`
	DecisionP99us float64 `json:"decision_p99_us"`
}

// curvePoints is the most points of an equity curve in the state.
const curvePoints = 240

// State returns the current snapshot.
func (s *Service) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

func (s *Service) stateLocked() State {
	st := State{Season: s.season, Round: s.roundID, Phase: s.phase, Scenario: s.scenario.Name, Speed: s.cfg.Speed,
		ScoreBy: s.cfg.ScoreBy, VoteRound: s.voteRound, Votes: map[string]int{}, Crowd: s.crowd,
		Standings: s.standings, LastResult: s.lastResult, Profiles: s.profiles,
		Recent: append([]Line(nil), s.recent...)}
	for k, v := range s.tally {
		st.Votes[k] = v
		st.VoteTotal += v
	}
	if s.phase == "voting" {
		st.LockInS = max(0, time.Until(s.lockAt).Seconds())
	}
	r := s.round
	if r == nil {
		return st
	}
	st.DecisionP50us, st.DecisionP99us = decisionLatency(r.DecisionTimes())
	st.Clock = r.Clock().Format("15:04:05")
	st.Progress = float64(r.StepNo()) / float64(r.Steps())
	st.Regime = r.Regime().String()
	for i, in := range r.Instruments() {
		m := r.Mids(i)
		st.Prices = append(st.Prices, Price{Symbol: in.Symbol, Mid: m[len(m)-1], Change: m[len(m)-1]/m[0] - 1})
	}
	results := r.Results(s.cfg.ScoreBy)
	for _, res := range results {
		k := r.indexOf(res.Strategy)
		a := r.Account(k)
		e := Entry{Strategy: res.Strategy, Name: res.Name, Rank: res.Rank, PnL: res.PnL, Return: res.Return,
			Sharpe: res.Sharpe, Sortino: res.Sortino, MaxDD: res.MaxDrawdown, Turnover: res.Turnover, Fees: res.Fees,
			Score: res.Score, Stopped: a.Stopped, Curve: downsample(r.Equity(k), curvePoints),
			Position: append([]float64(nil), a.Position...)}
		for i, p := range a.Position {
			e.Gross += math.Abs(p) * r.Mids(i)[len(r.Mids(i))-1]
		}
		switch {
		case a.Stopped:
			e.Status = "stopped"
		case s.phase == "voting" && res.Rank == 1:
			e.Status = "celebrating"
		case res.Rank == 1 && res.PnL > 0:
			e.Status = "winning"
		case res.Return < -0.01:
			e.Status = "losing"
		case r.StepNo()-s.recentFill[k] <= 3:
			e.Status = "trading"
		default:
			e.Status = "idle"
		}
		st.Leaderboard = append(st.Leaderboard, e)
	}
	return st
}

// downsample keeps at most n points of xs, evenly spaced, always the last,
// rounded to whole units of money (the curves are for drawing).
func downsample(xs []float64, n int) []float64 {
	m := min(len(xs), n)
	out := make([]float64, 0, m)
	for k := range m {
		i := len(xs) - 1
		if m > 1 {
			i = k * (len(xs) - 1) / (m - 1)
		}
		out = append(out, math.Round(xs[i]))
	}
	return out
}

// publish sends the pending commentary and fills and the state.
func (s *Service) publish() {
	s.mu.Lock()
	lines, fills := s.lines, s.fills
	s.lines, s.fills = nil, nil
	st := s.stateLocked()
	s.mu.Unlock()
	if len(lines) > 0 {
		TopicCommentary.Publish(s.bus, "tournament", "", "lines", lines)
	}
	if len(fills) > 0 {
		if len(fills) > 200 {
			fills = fills[len(fills)-200:]
		}
		TopicFills.Publish(s.bus, "tournament", "", "fills", fills)
	}
	TopicState.Publish(s.bus, "tournament", "", "state", st)
}

// decisionWindow is how many recent Decide calls the live latency covers.
const decisionWindow = 2000

// decisionLatency returns the median and 99th percentile, in microseconds,
// of the last decisionWindow durations.
func decisionLatency(ds []time.Duration) (p50, p99 float64) {
	if len(ds) == 0 {
		return 0, 0
	}
	w := slices.Clone(ds[max(0, len(ds)-decisionWindow):])
	slices.Sort(w)
	at := func(q float64) float64 { return float64(w[int(q*float64(len(w)-1))]) / 1e3 }
	return at(0.50), at(0.99)
}
