package supply

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/store"
)

// Topics the service publishes.
var (
	// TopicState is the crisis room's snapshot, every period.
	TopicState = bus.NewTopic[RoomState]("supply.state")
	// TopicAgents carries the six agents' messages, one envelope each,
	// from "supply:<role>" to "supply:<role>" (empty: everyone).
	TopicAgents = bus.NewTopic[Message]("supply.agents")
	// TopicProgress is the running comparison's progress.
	TopicProgress = bus.NewTopic[CompareProgress]("supply.progress")
)

// LearnedFunc returns the newest learned supply controller (nil, "", nil
// when there is none).
type LearnedFunc func(ctx context.Context) (marl.Controller, string, error)

// ServiceConfig sets up the crisis room.
type ServiceConfig struct {
	Tick    time.Duration // wall time of one period; default 500ms
	Periods int           // length of a live room; default 260 (five years of weeks)
	Window  int           // periods of history in each snapshot; default 156
	// Linger is the ticks a finished room stays on screen before the next
	// one starts with the same settings and the next seed; default 30,
	// negative: never.
	Linger int
}

// Service runs the live crisis room (a network, its six agents and its
// no-disruption twin, one period per tick), takes crises and settings
// from people, and runs comparisons in the background. Its methods are
// safe to call while Run runs.
type Service struct {
	cfg     ServiceConfig
	bus     *bus.Bus
	w       *store.Writer // may be nil: nothing is persisted
	db      *store.DB     // may be nil
	log     *slog.Logger
	learned LearnedFunc // may be nil

	mu          sync.Mutex
	seq         int64 // of the last snapshot
	room        *room
	nextRoom    int64
	nextCrisis  int64
	nextCmp     int64
	comparisons map[string]Comparison
	progress    CompareProgress
	jobs        chan CompareConfig
}

// CompareProgress is the state of the background comparison.
type CompareProgress struct {
	Running  bool    `json:"running"`
	Scenario string  `json:"scenario,omitempty"`
	Seeds    int     `json:"seeds,omitempty"`
	Done     int     `json:"done"`
	Total    int     `json:"total"`
	Error    string  `json:"error,omitempty"`
	Elapsed  float64 `json:"elapsed_s,omitempty"`
}

// NewService builds the crisis room. b is required; w, db and learned may
// be nil. It reads what the database keeps (ids, comparisons).
func NewService(ctx context.Context, cfg ServiceConfig, b *bus.Bus, w *store.Writer, db *store.DB, learned LearnedFunc, log *slog.Logger) (*Service, error) {
	if b == nil {
		return nil, errors.New("the crisis room needs a bus")
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 500 * time.Millisecond
	}
	if cfg.Periods <= 0 {
		cfg.Periods = 260
	}
	if cfg.Window <= 0 {
		cfg.Window = 156
	}
	if cfg.Linger == 0 {
		cfg.Linger = 30
	}
	s := &Service{cfg: cfg, bus: b, w: w, db: db, log: log, learned: learned,
		comparisons: map[string]Comparison{}, jobs: make(chan CompareConfig, 1)}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if _, err := s.Reset(ctx, RoomConfig{Preset: "global", Seed: 1, Coordinated: true}); err != nil {
		return nil, err
	}
	return s, nil
}

// Run plays the room until ctx ends and runs the comparisons asked for.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.compareLoop(ctx)
	}()
	defer wg.Wait()
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.tick()
		}
	}
}

// tick plays one period, if the room is running, and publishes.
func (s *Service) tick() {
	s.mu.Lock()
	r := s.room
	var msgs []Message
	played := false
	if !r.paused && !r.finished() {
		msgs = s.play(r)
		played = true
	}
	next := false
	if r.finished() && s.cfg.Linger > 0 {
		r.idle++
		next = r.idle >= s.cfg.Linger
	}
	st := s.stateLocked()
	s.mu.Unlock()
	if next {
		// The finished room is kept (persistRoomEnd ran); the next one
		// plays the same settings on the next seed.
		cfg := r.cfg
		cfg.Seed++
		if _, err := s.Reset(context.Background(), cfg); err != nil {
			s.log.Warn("supply: the next room could not start; the finished one stays", "err", err)
			s.mu.Lock()
			r.idle = math.MinInt / 2 // do not try again every tick
			s.mu.Unlock()
		}
		return
	}
	if !played {
		return
	}
	for _, m := range msgs {
		to := ""
		if m.To != "" {
			to = "supply:" + string(m.To)
		}
		TopicAgents.Publish(s.bus, "supply:"+string(m.From), to, m.Kind, m)
	}
	TopicState.Publish(s.bus, "supply", "", "state", st)
}

// play advances r by one period (s.mu held) and returns its messages.
func (s *Service) play(r *room) []Message {
	if r.random > 0 && r.rng.Float64() < r.random {
		cs := RandomCrises(r.net, r.rng.Uint64(), r.run.T, 1)
		if len(cs) > 0 {
			c := cs[0]
			c.Start, c.End = r.run.T, r.run.T+(c.End-c.Start)
			s.addCrisis(r, c)
		}
	}
	turn := r.runTeam.Play()
	r.runK.Add(r.run, turn.Period)
	r.twinK.Add(r.twin, r.twinTeam.Play().Period)
	r.last = turn
	r.messages = append(r.messages, turn.Messages...)
	if over := len(r.messages) - 60; over > 0 {
		r.messages = slices.Delete(r.messages, 0, over)
	}
	if r.finished() {
		k := r.runK.Compute(r.run, r.twinK, r.run.Crises())
		s.persistRoomEnd(r, k, r.twinK.Compute(r.twin, nil, nil))
	}
	return turn.Messages
}

// RoomConfig is what a person picks for a live room.
type RoomConfig struct {
	Preset string `json:"preset"`
	Seed   uint64 `json:"seed"`
	// Policies per ordering role (missing: base-stock).
	Policies    map[Role]string `json:"policies,omitempty"`
	Coordinated bool            `json:"coordinated"`
	// Random is the random-crisis mode's chance of a new crisis per period
	// (0: off; at most 0.5).
	Random float64 `json:"random"`
	// Z is the base-stock safety factor; 0 tunes it on the preset (the
	// least cost over SafetyGrid on a few seeds without crises).
	Z float64 `json:"z"`
}

type room struct {
	id                int64
	net               *Network
	seed              uint64
	strat             Strategy
	random            float64
	rng               *rand.Rand
	run, twin         *Sim
	runTeam, twinTeam *Team
	runK, twinK       *Tracker
	last              Turn
	messages          []Message
	paused            bool
	learnedLabel      string
	cfg               RoomConfig // what it was started with, for the next room
	idle              int        // ticks since it finished
}

func (r *room) finished() bool { return r.run.Done() }

// Reset starts a new live room with cfg; the old one is finished and kept.
func (s *Service) Reset(ctx context.Context, cfg RoomConfig) (RoomState, error) {
	n, err := Preset(cfg.Preset)
	if err != nil {
		return RoomState{}, err
	}
	if !(cfg.Random >= 0 && cfg.Random <= 0.5) {
		return RoomState{}, errs.Errorf(errs.Invalid, "the random-crisis rate must be between 0 and 0.5 per period, not %g", cfg.Random)
	}
	n.Periods = s.cfg.Periods
	strat := Strategy{Name: "room", Policies: map[Role]string{}, Coordinated: cfg.Coordinated, Z: cfg.Z, Forecast: "es", Alpha: 0.3}
	needLearned, baseStock := false, false
	for _, role := range []Role{Manufacturer, Distributor, Retailer} {
		p := cfg.Policies[role]
		if p == "" {
			p = PolicyBaseStock
		}
		strat.Policies[role] = p
		needLearned = needLearned || p == PolicyLearned
		baseStock = baseStock || p == PolicyBaseStock
	}
	for role := range cfg.Policies {
		if _, ok := strat.Policies[role]; !ok {
			return RoomState{}, errs.Errorf(errs.Invalid, "role %q places no orders (roles that do: manufacturer, distributor, retailer)", role)
		}
	}
	if err := strat.Validate(); err != nil {
		return RoomState{}, err
	}
	if strat.Z == 0 && baseStock {
		// No safety factor asked for: the one with the least cost on the
		// preset's own length, without crises, on seeds the room never
		// plays (as the comparison tunes its base-stock arms).
		net, _ := Preset(cfg.Preset)
		if strat.Z, _, err = tune(ctx, net, Scenario{}, strat, roomTuneSeeds, func() {}); err != nil {
			return RoomState{}, err
		}
	}
	var ctrl marl.Controller
	var label string
	if needLearned {
		if s.learned != nil {
			ctrl, label, err = s.learned(ctx)
			if err != nil {
				return RoomState{}, err
			}
		}
		if ctrl == nil {
			return RoomState{}, errs.Errorf(errs.Unavailable, "no learned policy is available: train a multi-agent run on the supply world (qmix, vdn or maddpg) on the Learning page first")
		}
	}
	r := &room{net: n, seed: cfg.Seed, strat: strat, random: cfg.Random, rng: rand.New(rand.NewPCG(cfg.Seed, 0x726f6f6d)), learnedLabel: label, cfg: cfg}
	if r.run, err = NewSim(n, cfg.Seed, nil); err != nil {
		return RoomState{}, err
	}
	if r.twin, err = NewSim(n, cfg.Seed, nil); err != nil {
		return RoomState{}, err
	}
	if r.runTeam, err = NewTeam(r.run, strat, ctrl, label); err != nil {
		return RoomState{}, err
	}
	if r.twinTeam, err = NewTeam(r.twin, strat, ctrl, label); err != nil {
		return RoomState{}, err
	}
	r.runK, r.twinK = NewTracker(n), NewTracker(n)
	s.mu.Lock()
	if old := s.room; old != nil && !old.finished() && old.run.T > 0 {
		s.persistRoomEnd(old, old.runK.Compute(old.run, old.twinK, old.run.Crises()), old.twinK.Compute(old.twin, nil, nil))
	}
	s.nextRoom++
	r.id = s.nextRoom
	s.room = r
	s.persistRoom(r)
	st := s.stateLocked()
	s.mu.Unlock()
	s.publishState(st)
	return st, nil
}

// roomTuneSeeds are the seeds a room's safety factor is tuned on.
const roomTuneSeeds = 4

// Injection is a crisis asked for from now: it starts Delay periods from
// the current one and lasts Duration periods.
type Injection struct {
	Kind     string  `json:"kind"`
	Lane     string  `json:"lane,omitempty"`
	Node     string  `json:"node,omitempty"`
	Market   string  `json:"market,omitempty"`
	Delay    int     `json:"delay"`
	Duration int     `json:"duration"`
	Lead     int     `json:"lead"`
	Capacity float64 `json:"capacity"`
	Factor   float64 `json:"factor"`
}

// Inject adds a crisis to the live room (never to its twin). Impossible
// crises are refused with errs.Invalid and change nothing.
func (s *Service) Inject(in Injection, origin string) (Crisis, error) {
	if in.Duration < 1 || in.Duration > MaxCrisisPeriods {
		return Crisis{}, errs.Errorf(errs.Invalid, "a crisis lasts 1 to %d periods, not %d", MaxCrisisPeriods, in.Duration)
	}
	if in.Delay < 0 || in.Delay > MaxCrisisPeriods {
		return Crisis{}, errs.Errorf(errs.Invalid, "a crisis starts 0 to %d periods from now, not %d", MaxCrisisPeriods, in.Delay)
	}
	s.mu.Lock()
	r := s.room
	if r.finished() {
		s.mu.Unlock()
		return Crisis{}, errs.Errorf(errs.Conflict, "the room has played all %d periods; start a new one first", r.net.Periods)
	}
	c := Crisis{Kind: in.Kind, Lane: in.Lane, Node: in.Node, Market: in.Market, Lead: in.Lead, Capacity: in.Capacity, Factor: in.Factor,
		Start: r.run.T + in.Delay, End: r.run.T + in.Delay + in.Duration, Origin: origin}
	if err := c.Validate(r.net); err != nil {
		s.mu.Unlock()
		return Crisis{}, err
	}
	c = s.addCrisis(r, c)
	st := s.stateLocked()
	s.mu.Unlock()
	s.publishState(st)
	return c, nil
}

// addCrisis records a valid crisis (s.mu held).
func (s *Service) addCrisis(r *room, c Crisis) Crisis {
	s.nextCrisis++
	c.ID = s.nextCrisis
	if err := r.run.AddCrisis(c); err != nil {
		s.log.Error("supply: a validated crisis was refused", "err", err)
		return c
	}
	s.persistCrisis(r.id, c)
	return c
}

// SetPaused pauses or resumes the room.
func (s *Service) SetPaused(p bool) RoomState {
	s.mu.Lock()
	s.room.paused = p
	st := s.stateLocked()
	s.mu.Unlock()
	s.publishState(st)
	return st
}

// publishState sends a snapshot taken after a person changed the room,
// so every open page sees the change (a paused room sends no others).
func (s *Service) publishState(st RoomState) {
	TopicState.Publish(s.bus, "supply", "", "state", st)
}

// State is the room's snapshot now.
func (s *Service) State() RoomState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

// StartCompare queues a comparison; one runs at a time.
func (s *Service) StartCompare(scenario string, seeds int) (CompareProgress, error) {
	if _, err := ScenarioByName(scenario); err != nil {
		return CompareProgress{}, err
	}
	if seeds < 2 || seeds > MaxSeeds {
		return CompareProgress{}, errs.Errorf(errs.Invalid, "a comparison needs 2 to %d seeds, not %d", MaxSeeds, seeds)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.progress.Running {
		return CompareProgress{}, errs.Errorf(errs.Conflict, "a comparison of %s is running; wait for it to finish", s.progress.Scenario)
	}
	select {
	case s.jobs <- CompareConfig{Scenario: scenario, Seeds: seeds}:
	default:
		return CompareProgress{}, errs.Errorf(errs.Conflict, "a comparison is already queued")
	}
	s.progress = CompareProgress{Running: true, Scenario: scenario, Seeds: seeds}
	return s.progress, nil
}

// Comparisons returns the latest comparison of each scenario.
func (s *Service) Comparisons() []Comparison {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.comparisonsLocked()
}

func (s *Service) comparisonsLocked() []Comparison {
	var out []Comparison
	for _, sc := range Scenarios() {
		if c, ok := s.comparisons[sc.Name]; ok {
			out = append(out, c)
		}
	}
	return out
}

func (s *Service) compareLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case cfg := <-s.jobs:
			s.compare(ctx, cfg)
		}
	}
}

func (s *Service) compare(ctx context.Context, cfg CompareConfig) {
	start := time.Now()
	var last time.Time
	cfg.Progress = func(done, total int) {
		if time.Since(last) < 100*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		s.mu.Lock()
		s.progress.Done, s.progress.Total, s.progress.Elapsed = done, total, time.Since(start).Seconds()
		p := s.progress
		s.mu.Unlock()
		TopicProgress.Publish(s.bus, "supply", "", "progress", p)
	}
	if s.learned != nil {
		c, label, err := s.learned(ctx)
		if err != nil {
			s.log.Warn("supply: the learned policy could not be loaded; the comparison leaves it out", "err", err)
		}
		cfg.Learned, cfg.LearnedLabel = c, label
	}
	res, err := Compare(ctx, cfg)
	s.mu.Lock()
	s.progress.Running, s.progress.Elapsed = false, time.Since(start).Seconds()
	if err != nil {
		s.progress.Error = errs.MessageOf(err)
		s.log.Warn("supply: comparison failed", "scenario", cfg.Scenario, "err", err)
	} else {
		s.nextCmp++
		s.comparisons[res.Scenario.Name] = res
		s.persistComparison(s.nextCmp, res)
	}
	p := s.progress
	st := s.stateLocked()
	s.mu.Unlock()
	TopicProgress.Publish(s.bus, "supply", "", "progress", p)
	TopicState.Publish(s.bus, "supply", "", "state", st)
}

func (s *Service) enqueue(query string, args ...any) {
	if s.w == nil {
		return
	}
	if !s.w.TryEnqueue(query, args...) {
		s.log.Warn("supply: the writer's queue is full; a row was not persisted", "query", query[:min(len(query), 40)])
	}
}
