package marl

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/runqueue"
	"github.com/metastation/metastation/app/store"
)

// Errors the HTTP layer maps to statuses: ErrNotFound to 404, ErrInvalid to
// 400, ErrConflict to 409. Each is wrapped with a sentence.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrConflict = errors.New("conflict")
)

// The multi-agent trainer's topics on the bus.
var (
	TopicProgress = bus.NewTopic[[]RunInfo]("marl.progress") // snapshot: every run
	TopicMetrics  = bus.NewTopic[Point]("marl.metrics")      // one learning-curve point
	TopicEvents   = bus.NewTopic[Event]("marl.events")       // a curriculum promotion
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

// RunInfo describes a run, as listed and published on marl.progress.
type RunInfo struct {
	ID       int64   `json:"id"`
	Spec     RunSpec `json:"spec"`
	Status   string  `json:"status"` // queued, running, evaluating, done, stopped, failed
	Episodes int     `json:"episodes"`
	Total    int     `json:"total"`
	Agents   int     `json:"agents"`
	// Team and AgentReturns are means over the last 100 training episodes.
	Team         *float64   `json:"team,omitempty"`
	AgentReturns []float64  `json:"agent_returns,omitempty"`
	Epsilon      *float64   `json:"epsilon,omitempty"` // QMIX/VDN only
	Stage        *StageInfo `json:"stage,omitempty"`   // curriculum runs only
	Eval         *EvalInfo  `json:"eval,omitempty"`    // once done
	Resumable    bool       `json:"resumable"`         // stopped or failed with a checkpoint to continue from
	Error        string     `json:"error,omitempty"`
	Started      time.Time  `json:"started"`
	Checkpoint   string     `json:"-"`
}

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

// ServiceConfig sets up the multi-agent trainer.
type ServiceConfig struct {
	Dir             string        // checkpoints go to Dir/run-<id>/checkpoint.ckpt
	CheckpointEvery time.Duration // wall time between checkpoints; default 30s
	PublishEvery    time.Duration // least time between marl.progress snapshots; default 250ms
	EvalEpisodes    int           // held-out episodes of the final evaluation; default 100
	MaxPoints       int           // learning-curve points kept per run; default 600
}

// entry is a run and what the service keeps of it.
type entry struct {
	info   RunInfo
	points []Point
	events []Event
	team   []float64   // the last recentWindow team returns
	agents [][]float64 // the same episodes' per-agent returns
	every  int         // episodes between learning-curve points
}

// Service trains multi-agent runs one at a time (they are CPU-bound),
// publishes their progress, learning curves and curriculum promotions on
// the bus, persists them through the writer and checkpoints them. Its
// methods are safe to call while Run runs.
type Service struct {
	cfg ServiceConfig
	bus *bus.Bus
	w   *store.Writer // may be nil: nothing is persisted
	db  *store.DB     // may be nil: run ids are counted in memory
	log *slog.Logger

	mu     sync.Mutex // guards runs, nextID and q
	runs   map[int64]*entry
	nextID int64
	q      *runqueue.Queue
}

// NewService builds the trainer. b is required; w and db may be nil.
func NewService(cfg ServiceConfig, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*Service, error) {
	if b == nil {
		return nil, errors.New("the multi-agent trainer needs a bus")
	}
	if cfg.Dir == "" {
		return nil, errors.New("the multi-agent trainer needs a directory for checkpoints")
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 30 * time.Second
	}
	if cfg.PublishEvery <= 0 {
		cfg.PublishEvery = 250 * time.Millisecond
	}
	if cfg.EvalEpisodes <= 0 {
		cfg.EvalEpisodes = 100
	}
	if cfg.MaxPoints < 10 {
		cfg.MaxPoints = 600
	}
	s := &Service{cfg: cfg, bus: b, w: w, db: db, log: log, runs: map[int64]*entry{}}
	s.q = runqueue.New(&s.mu, runqueue.Config{CheckpointEvery: cfg.CheckpointEvery, PublishEvery: cfg.PublishEvery, Publish: s.publish})
	return s, nil
}

// serviceEnvs are the worlds the service trains on.
func serviceEnvs() []string {
	return []string{"spread", "matrix2", "trading-ma", "supply", "allocation"}
}

// CheckSpec validates spec and fills in its default budget. Its errors
// wrap ErrInvalid with a sentence a person can act on.
func CheckSpec(spec RunSpec) (RunSpec, error) {
	known := false
	for _, e := range serviceEnvs() {
		known = known || e == spec.Env
	}
	switch {
	case spec.Env == "":
		return spec, fmt.Errorf("%w: choose a world: spread, matrix2, trading-ma, supply or allocation", ErrInvalid)
	case !known:
		return spec, fmt.Errorf("%w: unknown world %q; choose spread, matrix2, trading-ma, supply or allocation", ErrInvalid, spec.Env)
	case spec.Algo != "qmix" && spec.Algo != "vdn" && spec.Algo != "maddpg":
		return spec, fmt.Errorf("%w: unknown algorithm %q; choose qmix, vdn or maddpg", ErrInvalid, spec.Algo)
	case spec.Episodes < 0:
		return spec, fmt.Errorf("%w: episodes must not be negative (0 takes the algorithm's default)", ErrInvalid)
	case spec.Episodes > MaxServiceEpisodes:
		return spec, fmt.Errorf("%w: a run from the page trains at most %d episodes, not %d; use metastation train for longer runs", ErrInvalid, MaxServiceEpisodes, spec.Episodes)
	case spec.Curriculum && spec.Env != "trading-ma":
		return spec, fmt.Errorf("%w: the curriculum (calm → volatile → crisis → black_swan) runs on the trading world only: choose trading-ma", ErrInvalid)
	case spec.Curriculum && spec.Algo == "maddpg":
		return spec, fmt.Errorf("%w: the curriculum trains qmix or vdn, not maddpg", ErrInvalid)
	case len(spec.Hidden) > 4:
		return spec, fmt.Errorf("%w: at most 4 hidden layers", ErrInvalid)
	}
	for _, h := range spec.Hidden {
		if h < 1 || h > 512 {
			return spec, fmt.Errorf("%w: a hidden layer has 1 to 512 units, not %d", ErrInvalid, h)
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
		return RunInfo{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	now := time.Now().UTC()
	var id int64
	if s.db != nil {
		res, err := s.db.W.ExecContext(ctx,
			`INSERT INTO marl_runs (env, algo, seed, curriculum, total_episodes, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)`,
			spec.Env, spec.Algo, int64(spec.Seed), spec.Curriculum, spec.Episodes, now.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
		if err != nil {
			return RunInfo{}, fmt.Errorf("record run: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return RunInfo{}, fmt.Errorf("record run: %w", err)
		}
	}
	s.mu.Lock()
	if s.db == nil {
		s.nextID++
		id = s.nextID
	}
	e := &entry{info: RunInfo{ID: id, Spec: spec, Status: "queued", Total: spec.Episodes, Agents: env.NumAgents(), Started: now,
		Checkpoint: s.checkpointPath(id)}}
	if spec.Curriculum {
		e.info.Stage = stageInfo(NewCurriculum(DefaultCurriculumConfig()))
	}
	s.runs[id] = e
	s.q.Push(id, false)
	out := e.info
	s.mu.Unlock()
	s.publish()
	return out, nil
}

// Resume queues a stopped or failed run to continue from its checkpoint (a
// run stopped before its first episode starts afresh).
func (s *Service) Resume(id int64) (RunInfo, error) {
	s.mu.Lock()
	e, ok := s.runs[id]
	if !ok {
		s.mu.Unlock()
		return RunInfo{}, fmt.Errorf("%w: there is no run %d", ErrNotFound, id)
	}
	info := &e.info
	if info.Status != "stopped" && info.Status != "failed" {
		s.mu.Unlock()
		return RunInfo{}, fmt.Errorf("%w: run %d is %s; only a stopped or failed run resumes", ErrConflict, id, info.Status)
	}
	_, err := os.Stat(info.Checkpoint)
	hasCkpt := err == nil
	if !hasCkpt && info.Episodes > 0 {
		s.mu.Unlock()
		return RunInfo{}, fmt.Errorf("%w: run %d has no checkpoint to resume from", ErrConflict, id)
	}
	info.Status, info.Error, info.Resumable = "queued", "", false
	s.q.Push(id, hasCkpt)
	s.persistStatus(info)
	out := *info
	s.mu.Unlock()
	s.publish()
	return out, nil
}

// Stop asks a queued or running run to stop; a running one checkpoints
// first, so that Resume continues it where it stopped.
func (s *Service) Stop(id int64) (RunInfo, error) {
	s.mu.Lock()
	e, ok := s.runs[id]
	if !ok {
		s.mu.Unlock()
		return RunInfo{}, fmt.Errorf("%w: there is no run %d", ErrNotFound, id)
	}
	var err error
	dequeued := false
	switch e.info.Status {
	case "queued":
		if s.q.Remove(id) {
			// Not started yet: it leaves the queue at once.
			s.markStopped(&e.info)
			dequeued = true
		} else {
			s.q.Stop(id) // taken off the queue, about to start
		}
	case "running":
		s.q.Stop(id)
	case "evaluating":
		err = fmt.Errorf("%w: run %d has finished training and is being evaluated", ErrConflict, id)
	default:
		err = fmt.Errorf("%w: run %d is already %s", ErrConflict, id, e.info.Status)
	}
	out := e.info
	s.mu.Unlock()
	if dequeued {
		s.publish()
	}
	return out, err
}

// Runs lists every run, newest first.
func (s *Service) Runs() []RunInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RunInfo, 0, len(s.runs))
	for _, e := range s.runs {
		out = append(out, e.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// Get returns one run.
func (s *Service) Get(id int64) (RunInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.runs[id]
	if !ok {
		return RunInfo{}, fmt.Errorf("%w: there is no run %d", ErrNotFound, id)
	}
	return e.info, nil
}

// History is a run's learning curve so far and its curriculum promotions.
type History struct {
	Run    RunInfo `json:"run"`
	Points []Point `json:"points"`
	Events []Event `json:"events"`
}

// History returns a copy of a run's learning curve and events.
func (s *Service) History(id int64) (History, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.runs[id]
	if !ok {
		return History{}, fmt.Errorf("%w: there is no run %d", ErrNotFound, id)
	}
	return History{Run: e.info, Points: append([]Point{}, e.points...), Events: append([]Event{}, e.events...)}, nil
}

// checkpointPath is where run id keeps its checkpoint.
func (s *Service) checkpointPath(id int64) string {
	return filepath.Join(s.cfg.Dir, "run-"+strconv.FormatInt(id, 10), "checkpoint.ckpt")
}

// resumable reports whether Resume takes the run: stopped or failed, with a
// checkpoint to continue from or nothing trained yet (it starts afresh).
func resumable(info *RunInfo) bool {
	if info.Status != "stopped" && info.Status != "failed" {
		return false
	}
	_, err := os.Stat(info.Checkpoint)
	return err == nil || info.Episodes == 0
}

// markStopped records the run as stopped. Called with s.mu held.
func (s *Service) markStopped(info *RunInfo) {
	info.Status = "stopped"
	info.Resumable = resumable(info)
	s.persistStatus(info)
}

// Run trains queued runs one after another until ctx ends. A run cut short
// by ctx is checkpointed and left stopped.
func (s *Service) Run(ctx context.Context) error {
	train := func(ctx context.Context, id int64, resume bool) {
		if err := s.train(ctx, id, resume); err != nil {
			s.log.Error("marl run failed", "run", id, "err", err)
		}
	}
	stopped := func(id int64) { s.markStopped(&s.runs[id].info) } // a stop request was pending when its turn came
	s.q.Run(ctx, train, stopped)
	return nil
}

// train runs one job to its end, a stop request or ctx's end; resume
// continues it from its checkpoint.
func (s *Service) train(ctx context.Context, id int64, resume bool) error {
	s.mu.Lock()
	e := s.runs[id]
	info := &e.info
	spec, path := info.Spec, info.Checkpoint
	s.mu.Unlock()

	fail := func(err error) error {
		s.mu.Lock()
		info.Status, info.Error = "failed", err.Error()
		info.Resumable = resumable(info)
		s.persistStatus(info)
		s.mu.Unlock()
		s.publish()
		return err
	}
	var run *Run
	var err error
	if resume {
		run, err = loadRunFile(path)
		if err == nil {
			run.SetBudget(spec.Episodes)
		}
	} else {
		run, err = NewRun(spec)
	}
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fail(fmt.Errorf("checkpoint directory: %w", err))
	}
	save := func() error {
		var buf bytes.Buffer
		if err := run.Save(&buf); err != nil {
			return err
		}
		return WriteFileAtomic(path, buf.Bytes())
	}

	s.mu.Lock()
	start := run.Episodes()
	// A resumed run continues from its checkpoint: forget what came after.
	for len(e.points) > 0 && e.points[len(e.points)-1].Episode > start {
		e.points = e.points[:len(e.points)-1]
	}
	for len(e.events) > 0 && e.events[len(e.events)-1].Episode > start {
		e.events = e.events[:len(e.events)-1]
	}
	if info.Episodes != start {
		e.team, e.agents = nil, nil
	}
	e.every = max(1, spec.Episodes/(s.cfg.MaxPoints/2))
	info.Status, info.Episodes, info.Resumable = "running", start, false
	if run.Cur != nil {
		info.Stage = stageInfo(run.Cur)
	}
	s.persistStatus(info)
	s.mu.Unlock()
	if resume && s.w != nil {
		s.enqueue(`DELETE FROM marl_points WHERE run_id = ? AND episode > ?`, id, start)
		s.enqueue(`DELETE FROM marl_events WHERE run_id = ? AND episode > ?`, id, start)
	}
	s.publish()

	onEval := func(ev CurriculumEvent) {
		if !ev.Promoted {
			return
		}
		next := ""
		if !run.Cur.Done() {
			next = run.Cur.Current().Name
		}
		out := Event{Run: id, Episode: ev.Episode, Stage: ev.Stage, Next: next, Score: finite(ev.Score), Smoothed: finite(ev.Smoothed),
			Drawdown: finite(ev.Drawdown), Forgot: ev.Forgot, Text: ev.String()}
		// The curriculum counts its own episodes; the run's count is the
		// one the curve uses.
		out.Episode = run.Episodes()
		s.mu.Lock()
		e.events = append(e.events, out)
		s.mu.Unlock()
		TopicEvents.Publish(s.bus, "marl", "", "promotion", out)
		forgot, _ := json.Marshal(ev.Forgot)
		if ev.Forgot == nil {
			forgot = []byte("[]")
		}
		s.enqueue(`INSERT OR REPLACE INTO marl_events (run_id, episode, stage, next, score, smoothed, drawdown, forgot, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, out.Episode, out.Stage, out.Next, out.Score, out.Smoothed, out.Drawdown, string(forgot), out.Text)
	}

	step := func() error {
		st, err := run.Step(ctx, onEval)
		if err != nil {
			return err
		}
		s.record(e, run, st)
		return nil
	}
	stopped, err := s.q.Train(ctx, id, run.Done, step, save)
	if err != nil {
		return fail(err)
	}
	if stopped {
		s.mu.Lock()
		s.markStopped(info)
		s.mu.Unlock()
		s.publish()
		return nil
	}
	s.mu.Lock()
	info.Status = "evaluating"
	s.mu.Unlock()
	s.publish()
	ev, err := s.evaluate(ctx, run, spec)
	if err != nil {
		if ctx.Err() != nil {
			// Trained and checkpointed; only the evaluation is missing.
			s.mu.Lock()
			s.markStopped(info)
			s.mu.Unlock()
			s.publish()
			return nil
		}
		return fail(err)
	}
	s.mu.Lock()
	info.Status, info.Eval = "done", &ev
	s.persistStatus(info)
	s.mu.Unlock()
	s.publish()
	return nil
}

// record adds a training episode to a run's running means, its learning
// curve every few episodes, and its progress.
func (s *Service) record(e *entry, run *Run, st EpisodeStats) {
	s.mu.Lock()
	if len(e.team) == recentWindow {
		e.team, e.agents = e.team[1:], e.agents[1:]
	}
	e.team = append(e.team, st.Return)
	e.agents = append(e.agents, append([]float64(nil), st.Agents...))
	info := &e.info
	team := finite(meanOf(e.team))
	per := make([]float64, len(st.Agents))
	for _, a := range e.agents {
		for i := range per {
			if i < len(a) {
				per[i] += a[i] / float64(len(e.agents))
			}
		}
	}
	for i := range per {
		per[i] = finite(per[i])
	}
	info.Episodes, info.Team, info.AgentReturns = st.Episode, &team, per
	if !math.IsNaN(st.Epsilon) {
		eps := st.Epsilon
		info.Epsilon = &eps
	}
	if run.Cur != nil {
		info.Stage = stageInfo(run.Cur)
	}
	var p *Point
	if st.Episode%e.every == 0 || st.Episode >= info.Total {
		p = &Point{Run: info.ID, Episode: st.Episode, Team: team, Agents: per}
		for len(e.points) > 0 && e.points[len(e.points)-1].Episode >= p.Episode {
			e.points = e.points[:len(e.points)-1]
		}
		e.points = append(e.points, *p)
		if len(e.points) > s.cfg.MaxPoints {
			// Keep every other point of the older half.
			half := len(e.points) / 2
			kept := e.points[:0]
			for i, q := range e.points {
				if i >= half || i%2 == 1 {
					kept = append(kept, q)
				}
			}
			e.points = kept
		}
	}
	s.mu.Unlock()
	if p != nil {
		TopicMetrics.Publish(s.bus, "marl", "", "metric", *p)
		agents, _ := json.Marshal(p.Agents)
		s.enqueue(`INSERT OR REPLACE INTO marl_points (run_id, episode, team, agents) VALUES (?, ?, ?, ?)`, p.Run, p.Episode, p.Team, string(agents))
	}
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
	m, ci := MeanCI95(greedy)
	rm, rci := MeanCI95(rnd)
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

// publish sends the snapshot of every run on marl.progress.
func (s *Service) publish() {
	TopicProgress.Publish(s.bus, "marl", "", "progress", s.Runs())
}

func (s *Service) enqueue(query string, args ...any) {
	if s.w == nil {
		return
	}
	if !s.w.TryEnqueue(query, args...) {
		s.log.Warn("marl: the writer's queue is full; a row was not persisted", "query", query[:min(len(query), 40)])
	}
}

// persistStatus records info's state; s.mu is held.
func (s *Service) persistStatus(info *RunInfo) {
	if s.w == nil {
		return
	}
	var team, eval, ci, rnd, stage, smoothed, evalN any
	if info.Team != nil {
		team = *info.Team
	}
	if info.Eval != nil {
		eval, ci, rnd, evalN = info.Eval.Team, info.Eval.CI, info.Eval.Random, info.Eval.Episodes
	}
	if info.Stage != nil {
		stage, smoothed = info.Stage.Index, info.Stage.Smoothed
	}
	agents, _ := json.Marshal(info.AgentReturns)
	s.enqueue(`UPDATE marl_runs SET status = ?, episodes = ?, team_return = ?, agent_returns = ?, stage = ?, smoothed = ?, eval_return = ?, eval_ci = ?, eval_episodes = ?, random_return = ?, checkpoint = ?, error = ?, updated_at = ? WHERE id = ?`,
		info.Status, info.Episodes, team, string(agents), stage, smoothed, eval, ci, evalN, rnd, info.Checkpoint, info.Error, time.Now().UTC().Format(time.RFC3339Nano), info.ID)
}

// Load reads the runs of earlier sessions from the database, with their
// learning curves and events. Runs the last session left queued or running
// are stopped: resumable when their checkpoint is on disk. Call it before
// Run.
func (s *Service) Load(ctx context.Context) error {
	if s.db == nil {
		return nil
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, env, algo, seed, curriculum, total_episodes, status, episodes, team_return, agent_returns, stage,
		smoothed, eval_return, eval_ci, eval_episodes, random_return, checkpoint, error, created_at FROM marl_runs ORDER BY id`)
	if err != nil {
		return fmt.Errorf("load marl runs: %w", err)
	}
	defer rows.Close()
	loaded := map[int64]*entry{}
	for rows.Next() {
		var (
			e                          entry
			seed                       int64
			team, evalRet, evalCI, rnd sql.NullFloat64
			smoothed                   sql.NullFloat64
			agents, ckpt, msg          sql.NullString
			stage, evalN               sql.NullInt64
			created                    string
		)
		i := &e.info
		if err := rows.Scan(&i.ID, &i.Spec.Env, &i.Spec.Algo, &seed, &i.Spec.Curriculum, &i.Total, &i.Status, &i.Episodes, &team, &agents, &stage,
			&smoothed, &evalRet, &evalCI, &evalN, &rnd, &ckpt, &msg, &created); err != nil {
			return fmt.Errorf("load marl runs: %w", err)
		}
		// The path recorded goes stale when the data directory moves or was
		// given relative to another working directory: derive it again.
		i.Spec.Seed, i.Spec.Episodes, i.Checkpoint, i.Error = uint64(seed), i.Total, s.checkpointPath(i.ID), msg.String
		i.Started, _ = time.Parse(time.RFC3339Nano, created)
		if env, err := NewEnv(i.Spec.Env); err == nil {
			i.Agents = env.NumAgents()
		}
		if team.Valid {
			v := team.Float64
			i.Team = &v
		}
		if agents.Valid {
			_ = json.Unmarshal([]byte(agents.String), &i.AgentReturns)
		}
		if i.Spec.Curriculum {
			cur := NewCurriculum(DefaultCurriculumConfig())
			if stage.Valid {
				cur.Stage = int(stage.Int64)
			}
			i.Stage = stageInfo(cur)
			i.Stage.Smoothed = smoothed.Float64
		}
		if evalRet.Valid {
			i.Eval = &EvalInfo{Episodes: int(evalN.Int64), Team: evalRet.Float64, CI: evalCI.Float64, Random: rnd.Float64}
		}
		_, serr := os.Stat(i.Checkpoint)
		switch i.Status {
		case "queued", "running", "evaluating":
			i.Status = "stopped"
			if serr != nil && i.Episodes > 0 {
				i.Status, i.Error = "failed", "the server stopped before the run's first checkpoint"
			}
			s.persistStatus(i)
		}
		i.Resumable = resumable(i)
		loaded[i.ID] = &e
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load marl runs: %w", err)
	}
	prow, err := s.db.R.QueryContext(ctx, `SELECT run_id, episode, team, agents FROM marl_points ORDER BY run_id, episode`)
	if err != nil {
		return fmt.Errorf("load marl points: %w", err)
	}
	defer prow.Close()
	for prow.Next() {
		var p Point
		var agents string
		if err := prow.Scan(&p.Run, &p.Episode, &p.Team, &agents); err != nil {
			return fmt.Errorf("load marl points: %w", err)
		}
		_ = json.Unmarshal([]byte(agents), &p.Agents)
		if e := loaded[p.Run]; e != nil {
			e.points = append(e.points, p)
		}
	}
	if err := prow.Err(); err != nil {
		return fmt.Errorf("load marl points: %w", err)
	}
	erow, err := s.db.R.QueryContext(ctx, `SELECT run_id, episode, stage, next, score, smoothed, drawdown, forgot, text FROM marl_events ORDER BY run_id, episode`)
	if err != nil {
		return fmt.Errorf("load marl events: %w", err)
	}
	defer erow.Close()
	for erow.Next() {
		var ev Event
		var forgot string
		if err := erow.Scan(&ev.Run, &ev.Episode, &ev.Stage, &ev.Next, &ev.Score, &ev.Smoothed, &ev.Drawdown, &forgot, &ev.Text); err != nil {
			return fmt.Errorf("load marl events: %w", err)
		}
		_ = json.Unmarshal([]byte(forgot), &ev.Forgot)
		if e := loaded[ev.Run]; e != nil {
			e.events = append(e.events, ev)
		}
	}
	if err := erow.Err(); err != nil {
		return fmt.Errorf("load marl events: %w", err)
	}
	s.mu.Lock()
	for id, e := range loaded {
		if _, ok := s.runs[id]; !ok {
			s.runs[id] = e
		}
	}
	s.mu.Unlock()
	return nil
}
