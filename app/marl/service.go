package marl

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/metastation/metastation/app/atomicfile"
	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/runs"
	"github.com/metastation/metastation/app/stats"
	"github.com/metastation/metastation/app/store"
)

// MaxServiceEpisodes caps a run started through the service; longer runs
// belong to `metastation train`.
const MaxServiceEpisodes = 20_000

// recentWindow is the number of training episodes the running means cover.
const recentWindow = 100

// StageInfo is where a curriculum run stands.
type StageInfo struct {
	Index    int      `json:"index"`  // the stage trained; len(Names) once every stage is passed
	Name     string   `json:"name"`   // its name ("" once every stage is passed)
	Passed   int      `json:"passed"` // stages passed
	Names    []string `json:"names"`  // every stage, in order
	Smoothed float64  `json:"smoothed"`
}

// EvalInfo is a finished run's greedy team on held-out episodes, and a
// random team on the same episodes.
type EvalInfo struct {
	Episodes int     `json:"episodes"`
	Team     float64 `json:"team"`
	CI       float64 `json:"ci"` // half-width of the 95 % Student-t interval
	Random   float64 `json:"random"`
	RandomCI float64 `json:"random_ci"`
}

// RunInfo describes a run, as listed and published on marl.progress. Its
// Record holds the id, the status (queued, running, evaluating, done,
// stopped, failed), the error, whether it resumes (stopped or failed with a
// checkpoint to continue from, or nothing trained) and when it started.
type RunInfo struct {
	runs.Record
	Spec     RunSpec `json:"spec"`
	Episodes int     `json:"episodes"`
	Total    int     `json:"total"`
	Agents   int     `json:"agents"`
	// Team and AgentReturns are means over the last 100 training episodes.
	Team         *float64   `json:"team,omitempty"`
	AgentReturns []float64  `json:"agent_returns,omitempty"`
	Epsilon      *float64   `json:"epsilon,omitempty"` // QMIX/VDN only
	Stage        *StageInfo `json:"stage,omitempty"`   // curriculum runs only
	Eval         *EvalInfo  `json:"eval,omitempty"`    // once done
}

// Trained is the episodes the run has trained.
func (r *RunInfo) Trained() int { return r.Episodes }

// Point is a learning-curve point of one run, published on marl.metrics:
// the team's and each agent's mean return over the last 100 training
// episodes.
type Point struct {
	Run     int64     `json:"run"`
	Episode int       `json:"episode"`
	Team    float64   `json:"team"`
	Agents  []float64 `json:"agents"`
}

// Event is a curriculum promotion, published on marl.events, with the
// earlier stages found forgotten when they were re-evaluated.
type Event struct {
	Run      int64    `json:"run"`
	Episode  int      `json:"episode"`
	Stage    string   `json:"stage"` // the stage passed
	Next     string   `json:"next"`  // the stage trained next; "" once all are passed
	Score    float64  `json:"score"`
	Smoothed float64  `json:"smoothed"`
	Drawdown float64  `json:"drawdown"`
	Forgot   []string `json:"forgot,omitempty"`
	Text     string   `json:"text"` // CurriculumEvent.String()
}

// The multi-agent trainer's topics on the bus.
var (
	TopicProgress = bus.NewTopic[[]RunInfo]("marl.progress") // snapshot: every run
	TopicMetrics  = bus.NewTopic[Point]("marl.metrics")      // one learning-curve point
	TopicEvents   = bus.NewTopic[Event]("marl.events")       // a curriculum promotion
)

// ServiceConfig sets up the multi-agent trainer.
type ServiceConfig struct {
	Dir             string        // checkpoints go to Dir/run-<id>/checkpoint.ckpt
	CheckpointEvery time.Duration // wall time between checkpoints; default 30s
	MaxQueued       int           // runs waiting their turn; default 100 (runs.Config.MaxQueued)
	PublishEvery    time.Duration // least time between marl.progress snapshots; default 250ms
	EvalEpisodes    int           // held-out episodes of the final evaluation; default 100
	MaxPoints       int           // learning-curve points kept per run; default 600
}

// Service trains multi-agent runs one at a time (they are CPU-bound),
// publishes their progress, learning curves and curriculum promotions on
// the bus, persists them through the writer and checkpoints them. Its
// methods are safe to call while Run runs.
type Service struct {
	cfg  ServiceConfig
	bus  *bus.Bus
	reg  *runs.Registry[RunInfo, *RunInfo]
	hist *histories
}

// NewService builds the trainer. b is required; w and db may be nil.
func NewService(cfg ServiceConfig, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*Service, error) {
	if cfg.EvalEpisodes <= 0 {
		cfg.EvalEpisodes = 100
	}
	if cfg.MaxPoints < 10 {
		cfg.MaxPoints = 600
	}
	s := &Service{cfg: cfg, bus: b, hist: newHistories(cfg.MaxPoints)}
	reg, err := runs.New(runs.Config{Name: "marl", Dir: cfg.Dir, CheckpointEvery: cfg.CheckpointEvery, PublishEvery: cfg.PublishEvery, MaxQueued: cfg.MaxQueued,
		Bus: b, DB: db, Writer: w, Log: log}, TopicProgress, trainer{s})
	if err != nil {
		return nil, fmt.Errorf("the multi-agent trainer: %w", err)
	}
	s.reg = reg
	return s, nil
}

// serviceEnvs are the worlds the service trains on.
func serviceEnvs() []string {
	return []string{"spread", "matrix2", "trading-ma", "supply", "allocation"}
}

// CheckSpec validates spec and fills in its default budget. Its errors are
// errs.Invalid, with a sentence a person can act on.
func CheckSpec(spec RunSpec) (RunSpec, error) {
	known := false
	for _, e := range serviceEnvs() {
		known = known || e == spec.Env
	}
	switch {
	case spec.Env == "":
		return spec, errs.Errorf(errs.Invalid, "choose a world: spread, matrix2, trading-ma, supply or allocation")
	case !known:
		return spec, errs.Errorf(errs.Invalid, "unknown world %q; choose spread, matrix2, trading-ma, supply or allocation", spec.Env)
	case spec.Algo != "qmix" && spec.Algo != "vdn" && spec.Algo != "maddpg":
		return spec, errs.Errorf(errs.Invalid, "unknown algorithm %q; choose qmix, vdn or maddpg", spec.Algo)
	case spec.Episodes < 0:
		return spec, errs.Errorf(errs.Invalid, "episodes must not be negative (0 takes the algorithm's default)")
	case spec.Episodes > MaxServiceEpisodes:
		return spec, errs.Errorf(errs.Invalid, "a run from the page trains at most %d episodes, not %d; use metastation train for longer runs", MaxServiceEpisodes, spec.Episodes)
	case spec.Curriculum && spec.Env != "trading-ma":
		return spec, errs.Errorf(errs.Invalid, "the curriculum (calm → volatile → crisis → black_swan) runs on the trading world only: choose trading-ma")
	case spec.Curriculum && spec.Algo == "maddpg":
		return spec, errs.Errorf(errs.Invalid, "the curriculum trains qmix or vdn, not maddpg")
	case len(spec.Hidden) > 4:
		return spec, errs.Errorf(errs.Invalid, "at most 4 hidden layers")
	}
	for _, h := range spec.Hidden {
		if h < 1 || h > 512 {
			return spec, errs.Errorf(errs.Invalid, "a hidden layer has 1 to 512 units, not %d", h)
		}
	}
	if spec.Episodes == 0 {
		if spec.Algo == "maddpg" {
			spec.Episodes = DefaultMADDPGConfig(spec.Env).Episodes
		} else {
			spec.Episodes = DefaultQMIXConfig(spec.Env, spec.Algo).Episodes
		}
		spec.Episodes = min(spec.Episodes, MaxServiceEpisodes)
	}
	return spec, nil
}

// Start validates spec and queues a new run.
func (s *Service) Start(ctx context.Context, spec RunSpec) (RunInfo, error) {
	spec, err := CheckSpec(spec)
	if err != nil {
		return RunInfo{}, err
	}
	env, err := NewEnv(spec.Env)
	if err != nil {
		return RunInfo{}, errs.Errorf(errs.Invalid, "%w", err)
	}
	info := RunInfo{Spec: spec, Total: spec.Episodes, Agents: env.NumAgents()}
	if spec.Curriculum {
		info.Stage = stageInfo(NewCurriculum(DefaultCurriculumConfig()))
	}
	return s.reg.Start(ctx, info)
}

// Resume queues a stopped or failed run to continue from its checkpoint (a
// run stopped before its first episode starts afresh).
func (s *Service) Resume(id int64) (RunInfo, error) { return s.reg.Resume(id) }

// Stop asks a queued or running run to stop; a running one checkpoints
// first, so that Resume continues it where it stopped.
func (s *Service) Stop(id int64) (RunInfo, error) { return s.reg.Stop(id) }

// Runs lists every run, newest first.
func (s *Service) Runs() []RunInfo { return s.reg.List() }

// Get returns one run.
func (s *Service) Get(id int64) (RunInfo, error) { return s.reg.Get(id) }

// Run trains queued runs one after another until ctx ends. A run cut short
// by ctx is checkpointed and left stopped.
func (s *Service) Run(ctx context.Context) error { return s.reg.Run(ctx) }

// History is a run's learning curve so far and its curriculum promotions.
type History struct {
	Run    RunInfo `json:"run"`
	Points []Point `json:"points"`
	Events []Event `json:"events"`
}

// History returns a copy of a run's learning curve and events.
func (s *Service) History(id int64) (History, error) {
	info, err := s.reg.Get(id)
	if err != nil {
		return History{}, err
	}
	points, events := s.hist.copy(id)
	return History{Run: info, Points: points, Events: events}, nil
}

// trainer is what the multi-agent trainer supplies to its registry of
// runs: Open here, the statements in store.go.
type trainer struct{ s *Service }

func (t trainer) Open(info RunInfo, resume bool) (runs.Learner[RunInfo], error) {
	var r *Run
	var err error
	if resume {
		r, err = loadRunFile(info.Checkpoint)
		if err == nil {
			r.SetBudget(info.Spec.Episodes)
		}
	} else {
		r, err = NewRun(info.Spec)
	}
	if err != nil {
		return nil, err
	}
	every := max(1, info.Spec.Episodes/(t.s.cfg.MaxPoints/2))
	return &training{s: t.s, id: info.ID, spec: info.Spec, run: r, resume: resume, every: every}, nil
}

// training is the training of one run: a Run whose episodes go to the
// running means, the learning curve, the bus and the database.
type training struct {
	s      *Service
	id     int64
	spec   RunSpec
	run    *Run
	resume bool
	every  int // episodes between learning-curve points
}

// Begin forgets what came after the checkpoint a resumed run continues
// from.
func (t *training) Begin(info *RunInfo) {
	start := t.run.Episodes()
	t.s.hist.rewind(t.id, start, info.Episodes == start)
	if t.resume {
		t.s.forgetPast(t.id, start)
	}
	info.Episodes = start
	if t.run.Cur != nil {
		info.Stage = stageInfo(t.run.Cur)
	}
}

// Step plays one training episode and adds it to the running means, the
// learning curve every few episodes, and the run's progress.
func (t *training) Step(ctx context.Context) (func(*RunInfo), error) {
	st, err := t.run.Step(ctx, t.onEval)
	if err != nil {
		return nil, err
	}
	point := st.Episode%t.every == 0 || st.Episode >= t.spec.Episodes
	team, per, p := t.s.hist.add(t.id, st, point)
	if p != nil {
		TopicMetrics.Publish(t.s.bus, "marl", "", "metric", *p)
		t.s.persistPoint(*p)
	}
	var eps *float64
	if !math.IsNaN(st.Epsilon) {
		eps = &st.Epsilon
	}
	var stage *StageInfo
	if t.run.Cur != nil {
		stage = stageInfo(t.run.Cur)
	}
	return func(info *RunInfo) {
		info.Episodes, info.Team, info.AgentReturns = st.Episode, &team, per
		if eps != nil {
			info.Epsilon = eps
		}
		if stage != nil {
			info.Stage = stage
		}
	}, nil
}

// onEval records and publishes a curriculum promotion.
func (t *training) onEval(ev CurriculumEvent) {
	if !ev.Promoted {
		return
	}
	next := ""
	if !t.run.Cur.Done() {
		next = t.run.Cur.Current().Name
	}
	// The curriculum counts its own episodes; the run's count is the one
	// the curve uses.
	out := Event{Run: t.id, Episode: t.run.Episodes(), Stage: ev.Stage, Next: next, Score: finite(ev.Score), Smoothed: finite(ev.Smoothed),
		Drawdown: finite(ev.Drawdown), Forgot: ev.Forgot, Text: ev.String()}
	t.s.hist.addEvent(out)
	TopicEvents.Publish(t.s.bus, "marl", "", "promotion", out)
	t.s.persistEvent(out)
}

func (t *training) Done() bool { return t.run.Done() }

func (t *training) Save(path string) error {
	var buf bytes.Buffer
	if err := t.run.Save(&buf); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

func (t *training) Evaluate(ctx context.Context) (func(*RunInfo), error) {
	ev, err := t.s.evaluate(ctx, t.run, t.spec)
	if err != nil {
		return nil, err
	}
	return func(info *RunInfo) { info.Eval = &ev }, nil
}

// evaluate plays the greedy learner and a random team on the same
// held-out episodes (EvaluateTeam's, with ctx checked between episodes).
// The trading world is scored on the market's long-run mix of regimes.
func (s *Service) evaluate(ctx context.Context, run *Run, spec RunSpec) (EvalInfo, error) {
	env, err := NewEnv(spec.Env)
	if err != nil {
		return EvalInfo{}, err
	}
	if t, ok := env.(*TradingMA); ok {
		t.Mixed = true
	}
	n := s.cfg.EvalEpisodes
	play := func(c Controller, greedy bool) ([]float64, error) {
		seed := spec.Seed + 1000
		seeds := rand.New(rand.NewPCG(seed, 0x6576616c))
		rng := rand.New(rand.NewPCG(seed, 0x61637473))
		out := make([]float64, n)
		for i := range out {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			out[i], _ = Rollout(env, c, seeds.Uint64(), greedy, rng)
		}
		return out, nil
	}
	greedy, err := play(run.Learner(), true)
	if err != nil {
		return EvalInfo{}, err
	}
	rnd, err := play(RandomController{}, false)
	if err != nil {
		return EvalInfo{}, err
	}
	m, ci := stats.MeanCI95(greedy)
	rm, rci := stats.MeanCI95(rnd)
	return EvalInfo{Episodes: n, Team: finite(m), CI: finite(ci), Random: finite(rm), RandomCI: finite(rci)}, nil
}

// loadRunFile reads a run's checkpoint.
func loadRunFile(path string) (*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	defer f.Close()
	run, err := LoadRun(f)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	return run, nil
}

// stageInfo describes where cur stands.
func stageInfo(cur *Curriculum) *StageInfo {
	st := &StageInfo{Index: cur.Stage, Passed: cur.Stage, Smoothed: finite(cur.Smoothed)}
	for _, s := range cur.Config.Stages {
		st.Names = append(st.Names, s.Name)
	}
	if !cur.Done() {
		st.Name = cur.Current().Name
	}
	return st
}

func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// finite keeps NaN and infinities out of JSON payloads.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// Load reads the runs of earlier sessions from the database, with their
// learning curves and events; they come back as runs.Registry.Restore says
// (a run the last session left running is stopped, resumable when its
// checkpoint is on disk). Call it before Run.
func (s *Service) Load(ctx context.Context) error {
	return s.reg.Reload(ctx, s.readRuns)
}
