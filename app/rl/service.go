package rl

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
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

// The trainer's topics on the bus.
var (
	TopicProgress = bus.NewTopic[[]RunInfo]("rl.progress") // snapshot: every run
	TopicMetrics  = bus.NewTopic[RunMetric]("rl.metrics")  // one learning-curve point
)

// RunInfo describes a run, as listed and published on rl.progress.
type RunInfo struct {
	ID         int64     `json:"id"`
	Spec       RunSpec   `json:"spec"`
	Status     string    `json:"status"` // queued, running, done, stopped, failed
	Steps      int       `json:"steps"`
	Total      int       `json:"total"`
	Return     float64   `json:"return"`                // mean of the last 100 training episodes
	EvalReturn *float64  `json:"eval_return,omitempty"` // deterministic evaluation at the end
	Error      string    `json:"error,omitempty"`
	Resumable  bool      `json:"resumable"` // stopped or failed, with a checkpoint to continue from or nothing trained
	Checkpoint string    `json:"-"`
	Started    time.Time `json:"started"`
}

// RunMetric is a learning-curve point of one run, published on rl.metrics.
type RunMetric struct {
	Run int64 `json:"run"`
	Metric
}

// ServiceConfig sets up the trainer.
type ServiceConfig struct {
	Dir             string        // checkpoints go to Dir/run-<id>/checkpoint.ckpt
	CheckpointEvery time.Duration // wall time between checkpoints; default 30s
	PublishEvery    time.Duration // least time between rl.progress snapshots; default 250ms
	CurvePoints     int           // points of a run's curve kept in memory; default DefaultCurvePoints
	CurveEpisodes   int           // episode returns of a run kept in memory and stored; default DefaultCurveEpisodes
}

// Service trains runs one at a time (they are CPU-bound), publishes their
// progress and metrics on the bus, persists them through the writer and
// checkpoints them. Its methods are safe to call while Run runs.
type Service struct {
	cfg ServiceConfig
	bus *bus.Bus
	w   *store.Writer // may be nil: nothing is persisted
	db  *store.DB     // may be nil: run ids are counted in memory
	log *slog.Logger

	mu     sync.Mutex // guards runs, nextID and q
	runs   map[int64]*RunInfo
	nextID int64
	q      *runqueue.Queue

	cmu    sync.Mutex // guards curves
	curves map[int64]*Curve
}

// NewService builds the trainer. b is required; w and db may be nil.
func NewService(cfg ServiceConfig, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*Service, error) {
	if b == nil {
		return nil, errors.New("the trainer needs a bus")
	}
	if cfg.Dir == "" {
		return nil, errors.New("the trainer needs a directory for checkpoints")
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
	s := &Service{cfg: cfg, bus: b, w: w, db: db, log: log, runs: map[int64]*RunInfo{}, curves: map[int64]*Curve{}}
	s.q = runqueue.New(&s.mu, runqueue.Config{CheckpointEvery: cfg.CheckpointEvery, PublishEvery: cfg.PublishEvery, Publish: s.publish})
	return s, nil
}

// Start validates spec and queues a new run.
func (s *Service) Start(ctx context.Context, spec RunSpec) (RunInfo, error) {
	l, err := NewLearner(spec)
	if err != nil {
		return RunInfo{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	_, total := l.Progress()
	now := time.Now().UTC()
	var id int64
	if s.db != nil {
		js, err := json.Marshal(spec)
		if err != nil {
			return RunInfo{}, fmt.Errorf("record run: %w", err)
		}
		res, err := s.db.W.ExecContext(ctx,
			`INSERT INTO rl_runs (algo, env, seed, total_steps, status, spec, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)`,
			spec.Algo, spec.Env, int64(spec.Seed), total, string(js), now.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
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
	info := &RunInfo{ID: id, Spec: spec, Status: "queued", Total: total, Started: now,
		Checkpoint: checkpointPath(s.cfg.Dir, id)}
	s.runs[id] = info
	s.q.Push(id, false)
	out := *info
	s.mu.Unlock()
	s.publish()
	return out, nil
}

// Resume queues a stopped or failed run to continue from its checkpoint; a
// run that trained nothing and has no checkpoint (stopped while it waited,
// or left waiting by the last session) starts afresh.
func (s *Service) Resume(id int64) (RunInfo, error) {
	s.mu.Lock()
	info, ok := s.runs[id]
	if !ok {
		s.mu.Unlock()
		return RunInfo{}, fmt.Errorf("%w: no run %d", ErrNotFound, id)
	}
	if info.Status != "stopped" && info.Status != "failed" {
		s.mu.Unlock()
		return RunInfo{}, fmt.Errorf("%w: run %d is %s; only a stopped or failed run resumes", ErrConflict, id, info.Status)
	}
	_, err := os.Stat(info.Checkpoint)
	hasCkpt := err == nil
	if !hasCkpt && info.Steps > 0 {
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

// Stop asks a queued or running run to stop; a running one checkpoints first.
// A queued run leaves the queue at once, as the multi-agent service does.
func (s *Service) Stop(id int64) error {
	s.mu.Lock()
	info, ok := s.runs[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: no run %d", ErrNotFound, id)
	}
	if info.Status != "queued" && info.Status != "running" {
		s.mu.Unlock()
		return fmt.Errorf("%w: run %d is already %s", ErrConflict, id, info.Status)
	}
	dequeued := info.Status == "queued" && s.q.Remove(id)
	if dequeued {
		info.Status = "stopped"
		info.Resumable = resumable(info)
		s.persistStatus(info)
	} else {
		s.q.Stop(id) // running, or popped and about to start: Train honours it
	}
	s.mu.Unlock()
	if dequeued {
		s.publish()
	}
	return nil
}

// Runs lists every run, newest first.
func (s *Service) Runs() []RunInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RunInfo, 0, len(s.runs))
	for _, r := range s.runs {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// CheckpointPath returns the file of a run's latest checkpoint, for download.
func (s *Service) CheckpointPath(id int64) (string, error) {
	s.mu.Lock()
	info, ok := s.runs[id]
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%w: no run %d", ErrNotFound, id)
	}
	if _, err := os.Stat(info.Checkpoint); err != nil {
		return "", fmt.Errorf("%w: run %d has no checkpoint yet", ErrNotFound, id)
	}
	return info.Checkpoint, nil
}

// Run trains queued runs one after another until ctx ends. A run cut short
// by ctx is checkpointed and left stopped.
func (s *Service) Run(ctx context.Context) error {
	train := func(ctx context.Context, id int64, resume bool) {
		if err := s.train(ctx, id, resume); err != nil {
			s.log.Error("rl run failed", "run", id, "err", err)
		}
	}
	stopped := func(id int64) { // asked to stop while it waited
		info := s.runs[id]
		info.Status = "stopped"
		info.Resumable = resumable(info)
		s.persistStatus(info)
	}
	s.q.Run(ctx, train, stopped)
	return nil
}

// train runs one job to its end, a stop request or ctx's end; resume
// continues it from its checkpoint.
func (s *Service) train(ctx context.Context, id int64, resume bool) error {
	s.mu.Lock()
	info := s.runs[id]
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
	var l Learner
	var err error
	if resume {
		c, lerr := LoadCheckpoint(path)
		if lerr != nil {
			return fail(lerr)
		}
		l, err = RestoreLearner(c)
	} else {
		l, err = NewLearner(spec)
	}
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fail(fmt.Errorf("checkpoint directory: %w", err))
	}
	save := func() error {
		c, err := l.Checkpoint()
		if err != nil {
			return err
		}
		return SaveCheckpoint(path, c)
	}
	// A resumed run trains again the points past its checkpoint (a server
	// that died after them left them behind), one started afresh all of
	// them.
	from, _ := l.Progress()
	s.forgetMetrics(id, from)
	s.mu.Lock()
	info.Status = "running"
	info.Steps, info.Total = l.Progress()
	s.persistStatus(info)
	s.mu.Unlock()
	s.publish()

	step := func() error {
		m := l.Advance()
		lost := s.addPoint(RunMetric{Run: id, Metric: m})
		TopicMetrics.Publish(s.bus, "rl", "", "metric", RunMetric{Run: id, Metric: m})
		s.persistMetric(id, m)
		s.forgetReturns(id, lost)
		s.mu.Lock()
		info.Steps, info.Total = l.Progress()
		info.Return = m.Return
		s.mu.Unlock()
		return nil
	}
	stopped, err := s.q.Train(ctx, id, l.Done, step, save)
	if err != nil {
		return fail(err)
	}
	if stopped {
		s.mu.Lock()
		info.Status = "stopped"
		info.Resumable = resumable(info)
		s.persistStatus(info)
		s.mu.Unlock()
		s.publish()
		return nil
	}
	episodes := 100
	if spec.Env == "pendulum" {
		episodes = 10
	}
	rs, err := Evaluate(l, spec.Env, episodes, spec.Seed+1000)
	if err != nil {
		return fail(err)
	}
	mean, _ := MeanStd(rs)
	s.mu.Lock()
	info.Status, info.EvalReturn = "done", &mean
	s.persistStatus(info)
	s.mu.Unlock()
	s.publish()
	return nil
}

// checkpointPath is where run id's checkpoint is kept.
func checkpointPath(dir string, id int64) string {
	return filepath.Join(dir, "run-"+strconv.FormatInt(id, 10), "checkpoint.ckpt")
}

// resumable reports whether Resume would take info: it is stopped or
// failed, and its checkpoint is on disk or it trained nothing (it starts
// afresh).
func resumable(info *RunInfo) bool {
	if info.Status != "stopped" && info.Status != "failed" {
		return false
	}
	_, err := os.Stat(info.Checkpoint)
	return err == nil || info.Steps == 0
}

// Metrics returns a copy of run id's learning curve so far (bounded, see
// Curve), with the returns of the episodes each point finished; nil when
// the run has no point yet.
func (s *Service) Metrics(id int64) []RunMetric {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	c := s.curves[id]
	if c == nil {
		return nil
	}
	return c.Points()
}

// addPoint adds m to its run's curve and returns the steps of the points
// whose returns the curve let go.
func (s *Service) addPoint(m RunMetric) []int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	c := s.curves[m.Run]
	if c == nil {
		c = &Curve{MaxPoints: s.cfg.CurvePoints, MaxEpisodes: s.cfg.CurveEpisodes}
		s.curves[m.Run] = c
	}
	return c.Add(m)
}

// truncateCurve drops the points of run id's curve past steps.
func (s *Service) truncateCurve(id int64, steps int) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if c := s.curves[id]; c != nil {
		c.Truncate(steps)
	}
}

// Load reads the runs of earlier sessions from the database, rebuilds
// their learning curves (see Metrics) and hands each point read to point
// (which may be nil), run by run in order of steps. The points carry the
// episode returns the database kept (the same as the curve held, see
// Curve); points written before migration 0032 carry none. Done, failed
// and stopped runs come back as they were. Runs the last session left
// queued or running come back stopped, resumable when their checkpoint is
// on disk or they trained nothing (Resume starts them afresh); one that had
// trained but left no checkpoint (the server died before its first one)
// comes back failed. Call Load before Run; runs already known are left
// alone.
func (s *Service) Load(ctx context.Context, point func(RunMetric)) error {
	if s.db == nil {
		return nil
	}
	loaded, err := s.loadRuns(ctx)
	if err != nil {
		return err
	}
	// The curve's last point: a run the last session left running has
	// trained past the steps its record holds (they are written when the
	// status changes).
	last := map[int64]Metric{}
	rows, err := s.db.R.QueryContext(ctx, `SELECT run_id, steps, mean_return, episodes, approx_kl, clip_frac, entropy, explained_variance, policy_loss, value_loss, q_loss, alpha, episode_returns
		FROM rl_metrics ORDER BY run_id, steps`)
	if err != nil {
		return fmt.Errorf("load rl metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m        RunMetric
			episodes int
			diag     [8]sql.NullFloat64
			returns  []byte
		)
		if err := rows.Scan(&m.Run, &m.Steps, &m.Return, &episodes, &diag[0], &diag[1], &diag[2], &diag[3], &diag[4], &diag[5], &diag[6], &diag[7], &returns); err != nil {
			return fmt.Errorf("load rl metrics: %w", err)
		}
		if loaded[m.Run] == nil {
			continue
		}
		m.ApproxKL, m.ClipFrac, m.Entropy, m.ExplainedVariance = diag[0].Float64, diag[1].Float64, diag[2].Float64, diag[3].Float64
		m.PolicyLoss, m.ValueLoss, m.QLoss, m.Alpha = diag[4].Float64, diag[5].Float64, diag[6].Float64, diag[7].Float64
		m.Episodes = decodeReturns(returns)
		last[m.Run] = m.Metric
		// The database holds what the curve held, so this lets nothing go
		// unless a clearing was lost (the writer's queue was full).
		s.forgetReturns(m.Run, s.addPoint(m))
		if point != nil {
			point(m)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load rl metrics: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, info := range loaded {
		if _, ok := s.runs[id]; ok {
			continue
		}
		if info.Status == "queued" || info.Status == "running" {
			// Its steps were recorded when it started; its curve went on.
			if m, ok := last[id]; ok && m.Steps > info.Steps {
				info.Steps, info.Return = m.Steps, m.Return
			}
			info.Status = "stopped"
			if _, err := os.Stat(info.Checkpoint); err != nil && info.Steps > 0 {
				info.Status, info.Error = "failed", "the server stopped before the run's first checkpoint"
			}
			s.persistStatus(info)
		}
		info.Resumable = resumable(info)
		s.runs[id] = info
	}
	return nil
}

// loadRuns reads the records of the runs not yet known, by id.
func (s *Service) loadRuns(ctx context.Context) (map[int64]*RunInfo, error) {
	s.mu.Lock()
	known := make(map[int64]bool, len(s.runs))
	for id := range s.runs {
		known[id] = true
	}
	s.mu.Unlock()
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, algo, env, seed, total_steps, status, steps, mean_return, eval_return, error, spec, created_at
		FROM rl_runs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load rl runs: %w", err)
	}
	defer rows.Close()
	loaded := map[int64]*RunInfo{}
	for rows.Next() {
		var (
			info      RunInfo
			seed      int64
			ret, eval sql.NullFloat64
			reason    sql.NullString
			spec      sql.NullString
			created   string
		)
		if err := rows.Scan(&info.ID, &info.Spec.Algo, &info.Spec.Env, &seed, &info.Total, &info.Status, &info.Steps, &ret, &eval, &reason, &spec, &created); err != nil {
			return nil, fmt.Errorf("load rl runs: %w", err)
		}
		if known[info.ID] {
			continue
		}
		if spec.Valid { // hidden sizes and workers; the columns stay the truth for the rest
			var full RunSpec
			if err := json.Unmarshal([]byte(spec.String), &full); err == nil {
				info.Spec.Hidden, info.Spec.Workers = full.Hidden, full.Workers
			}
		}
		info.Spec.Seed, info.Spec.Steps = uint64(seed), info.Total
		info.Return, info.Error = ret.Float64, reason.String
		// Where Start puts it, under this session's directory: the path
		// recorded (absent until the first status change) goes stale when
		// the data directory is moved or was given relative to another
		// working directory.
		info.Checkpoint = checkpointPath(s.cfg.Dir, info.ID)
		if eval.Valid {
			v := eval.Float64
			info.EvalReturn = &v
		}
		info.Started, _ = time.Parse(time.RFC3339Nano, created)
		loaded[info.ID] = &info
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load rl runs: %w", err)
	}
	return loaded, nil
}

// publish sends the snapshot of every run on rl.progress.
func (s *Service) publish() {
	TopicProgress.Publish(s.bus, "rl", "", "progress", s.Runs())
}

// persistStatus records info's status; s.mu is held.
func (s *Service) persistStatus(info *RunInfo) {
	if s.w == nil {
		return
	}
	var eval any
	if info.EvalReturn != nil {
		eval = *info.EvalReturn
	}
	if !s.w.TryEnqueue(`UPDATE rl_runs SET status = ?, steps = ?, mean_return = ?, eval_return = ?, checkpoint = ?, error = ?, updated_at = ? WHERE id = ?`,
		info.Status, info.Steps, info.Return, eval, info.Checkpoint, info.Error, time.Now().UTC().Format(time.RFC3339Nano), info.ID) {
		s.log.Warn("rl: the writer's queue is full; a run status was not persisted", "run", info.ID)
	}
}

// forgetMetrics deletes the points of run id's curve past steps: the run
// resumes from its checkpoint there and trains them again (a server that
// died after them, before its next checkpoint, left them behind).
func (s *Service) forgetMetrics(id int64, steps int) {
	s.truncateCurve(id, steps)
	if s.w == nil {
		return
	}
	if !s.w.TryEnqueue(`DELETE FROM rl_metrics WHERE run_id = ? AND steps > ?`, id, steps) {
		s.log.Warn("rl: the writer's queue is full; the points past a resumed run's checkpoint were not deleted", "run", id, "steps", steps)
	}
}

// forgetReturns clears the stored episode returns of run id's points at
// steps, which its curve let go: the database keeps what the curve holds.
func (s *Service) forgetReturns(id int64, steps []int) {
	if s.w == nil || len(steps) == 0 {
		return
	}
	list, err := json.Marshal(steps)
	if err != nil {
		s.log.Warn("rl: the episode returns a run let go were not cleared", "run", id, "err", err)
		return
	}
	if !s.w.TryEnqueue(`UPDATE rl_metrics SET episode_returns = NULL WHERE run_id = ? AND steps IN (SELECT value FROM json_each(?))`, id, string(list)) {
		s.log.Warn("rl: the writer's queue is full; the episode returns a run let go were not cleared", "run", id, "points", len(steps))
	}
}

// encodeReturns packs episode returns as little-endian float64s (exact,
// 8 bytes each); nil when there are none.
func encodeReturns(rs []float64) []byte {
	if len(rs) == 0 {
		return nil
	}
	b := make([]byte, 0, 8*len(rs))
	for _, r := range rs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r))
	}
	return b
}

// decodeReturns unpacks encodeReturns; nil for NULL (points stored before
// migration 0032, or whose returns were let go).
func decodeReturns(b []byte) []float64 {
	if len(b) < 8 {
		return nil
	}
	rs := make([]float64, len(b)/8)
	for i := range rs {
		rs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return rs
}

func (s *Service) persistMetric(id int64, m Metric) {
	if s.w == nil {
		return
	}
	if !s.w.TryEnqueue(`INSERT OR REPLACE INTO rl_metrics (run_id, steps, mean_return, episodes, approx_kl, clip_frac, entropy, explained_variance, policy_loss, value_loss, q_loss, alpha, episode_returns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, m.Steps, m.Return, len(m.Episodes), m.ApproxKL, m.ClipFrac, m.Entropy, m.ExplainedVariance, m.PolicyLoss, m.ValueLoss, m.QLoss, m.Alpha, encodeReturns(m.Episodes)) {
		s.log.Warn("rl: the writer's queue is full; a metric was not persisted", "run", id, "steps", m.Steps)
	}
}
