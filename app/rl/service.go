package rl

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/runs"
	"github.com/metastation/metastation/app/store"
)

// The trainer's topics on the bus.
var (
	TopicProgress = bus.NewTopic[[]RunInfo]("rl.progress") // snapshot: every run
	TopicMetrics  = bus.NewTopic[RunMetric]("rl.metrics")  // one learning-curve point
)

// RunInfo describes a run, as listed and published on rl.progress. Its
// Record holds the id, the status (queued, running, evaluating, done,
// stopped, failed), the error, whether it resumes and when it started.
type RunInfo struct {
	runs.Record
	Spec       RunSpec  `json:"spec"`
	Steps      int      `json:"steps"`
	Total      int      `json:"total"`
	Return     float64  `json:"return"`                // mean of the last 100 training episodes
	EvalReturn *float64 `json:"eval_return,omitempty"` // deterministic evaluation at the end
}

// Trained is the steps the run has trained.
func (r *RunInfo) Trained() int { return r.Steps }

// RunMetric is a learning-curve point of one run, published on rl.metrics.
type RunMetric struct {
	Run int64 `json:"run"`
	Metric
}

// ServiceConfig sets up the trainer.
type ServiceConfig struct {
	Dir             string        // checkpoints go to Dir/run-<id>/checkpoint.ckpt
	CheckpointEvery time.Duration // wall time between checkpoints; default 30s
	MaxQueued       int           // runs waiting their turn; default 100 (runs.Config.MaxQueued)
	PublishEvery    time.Duration // least time between rl.progress snapshots; default 250ms
	CurvePoints     int           // points of a run's curve kept in memory; default DefaultCurvePoints
	CurveEpisodes   int           // episode returns of a run kept in memory and stored; default DefaultCurveEpisodes
	// Collector gathers the shards of runs spread over a cluster
	// (RunSpec.Cluster): app/disttrain's over the cluster's nodes. Nil
	// collects them here, with the same result.
	Collector Collector
}

// Service trains runs one at a time (they are CPU-bound), publishes their
// progress and metrics on the bus, persists them through the writer and
// checkpoints them. Its methods are safe to call while Run runs.
type Service struct {
	bus     *bus.Bus
	reg     *runs.Registry[RunInfo, *RunInfo]
	curves  *curves
	collect Collector
}

// NewService builds the trainer. b is required; w and db may be nil.
func NewService(cfg ServiceConfig, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*Service, error) {
	s := &Service{bus: b, curves: newCurves(cfg.CurvePoints, cfg.CurveEpisodes), collect: cfg.Collector}
	var err error
	if s.reg, err = runs.New(runs.Config{Name: "rl", Dir: cfg.Dir, CheckpointEvery: cfg.CheckpointEvery, PublishEvery: cfg.PublishEvery, MaxQueued: cfg.MaxQueued,
		Bus: b, DB: db, Writer: w, Log: log}, TopicProgress, trainer{s}); err != nil {
		return nil, fmt.Errorf("the trainer: %w", err)
	}
	return s, nil
}

// Start validates spec and queues a new run.
func (s *Service) Start(ctx context.Context, spec RunSpec) (RunInfo, error) {
	l, err := NewLearner(spec)
	if err != nil {
		return RunInfo{}, errs.Errorf(errs.Invalid, "%w", err)
	}
	_, total := l.Progress()
	return s.reg.Start(ctx, RunInfo{Spec: spec, Total: total})
}

// Resume queues a stopped or failed run to continue from its checkpoint; a
// run that trained nothing and has no checkpoint starts afresh.
func (s *Service) Resume(id int64) (RunInfo, error) { return s.reg.Resume(id) }

// Stop asks a queued or running run to stop; a running one checkpoints
// first, a queued one leaves the queue at once.
func (s *Service) Stop(id int64) (RunInfo, error) { return s.reg.Stop(id) }

// Runs lists every run, newest first.
func (s *Service) Runs() []RunInfo { return s.reg.List() }

// Get returns one run; an unknown id is a not-found error.
func (s *Service) Get(id int64) (RunInfo, error) { return s.reg.Get(id) }

// CheckpointPath returns the file of a run's latest checkpoint, for download.
func (s *Service) CheckpointPath(id int64) (string, error) { return s.reg.CheckpointPath(id) }

// Run trains queued runs one after another until ctx ends. A run cut short
// by ctx is checkpointed and left stopped.
func (s *Service) Run(ctx context.Context) error { return s.reg.Run(ctx) }

// Load reads the runs of earlier sessions from the database, rebuilds
// their learning curves (see Metrics) and hands each point read to point
// (which may be nil), run by run in order of steps. The points carry the
// episode returns the database kept (the same as the curve held, see
// Curve); points written before migration 0032 carry none. The runs come
// back as runs.Registry.Restore says: one the last session left running
// stopped and resumable, or failed when it left no checkpoint. Call Load
// before Run; runs already known are left alone.
func (s *Service) Load(ctx context.Context, point func(RunMetric)) error {
	return s.reg.Reload(ctx, func(ctx context.Context, db *store.DB) ([]RunInfo, error) {
		return s.readRuns(ctx, db, point)
	})
}

// Metrics returns a copy of run id's learning curve so far (bounded, see
// Curve), with the returns of the episodes each point finished; nil when
// the run has no point yet.
func (s *Service) Metrics(id int64) []RunMetric { return s.curves.points(id) }

// trainer is what the trainer supplies to its registry of runs: Open here,
// the statements in store.go.
type trainer struct{ s *Service }

func (t trainer) Open(info RunInfo, resume bool) (runs.Learner[RunInfo], error) {
	var l Learner
	var err error
	if resume {
		c, lerr := LoadCheckpoint(info.Checkpoint)
		if lerr != nil {
			return nil, lerr
		}
		l, err = RestoreLearner(c)
	} else {
		l, err = NewLearner(info.Spec)
	}
	if err != nil {
		return nil, err
	}
	if pl, ok := l.(*ppoLearner); ok {
		pl.collect = t.s.collect
	}
	return &run{s: t.s, id: info.ID, spec: info.Spec, l: l}, nil
}

// run is the training of one run: a Learner whose points go to the
// curve, the bus and the database.
type run struct {
	s    *Service
	id   int64
	spec RunSpec
	l    Learner
}

// Begin forgets the points past the learner's steps: a resumed run trains
// them again (a server that died after them left them behind), one started
// afresh all of them.
func (r *run) Begin(info *RunInfo) {
	from, total := r.l.Progress()
	r.s.forgetMetrics(r.id, from)
	info.Steps, info.Total = from, total
}

func (r *run) Step(ctx context.Context) (func(*RunInfo), error) {
	var m Metric
	if pl, ok := r.l.(*ppoLearner); ok {
		var err error
		if m, err = pl.AdvanceContext(ctx); err != nil {
			return nil, err
		}
	} else {
		m = r.l.Advance()
	}
	lost := r.s.curves.add(RunMetric{Run: r.id, Metric: m})
	TopicMetrics.Publish(r.s.bus, "rl", "", "metric", RunMetric{Run: r.id, Metric: m})
	r.s.persistMetric(r.id, m)
	r.s.forgetReturns(r.id, lost)
	steps, total := r.l.Progress()
	return func(info *RunInfo) { info.Steps, info.Total, info.Return = steps, total, m.Return }, nil
}

func (r *run) Done() bool { return r.l.Done() }

func (r *run) Save(path string) error {
	c, err := r.l.Checkpoint()
	if err != nil {
		return err
	}
	return SaveCheckpoint(path, c)
}

// Evaluate plays the deterministic policy on held-out seeds.
func (r *run) Evaluate(context.Context) (func(*RunInfo), error) {
	episodes := 100
	if r.spec.Env == "pendulum" {
		episodes = 10
	}
	rs, err := Evaluate(r.l, r.spec.Env, episodes, r.spec.Seed+1000)
	if err != nil {
		return nil, err
	}
	mean, _ := MeanStd(rs)
	return func(info *RunInfo) { info.EvalReturn = &mean }, nil
}
