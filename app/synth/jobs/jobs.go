// Package jobs runs synthetic-data jobs for the web app: one at a time, in
// the order they were started, each written atomically into a directory,
// with progress published on the bus and, for transactions, the detector's
// and the quality report when the file is done. Each job's status is kept
// in a manifest beside its file (store.go), so the jobs, their reports and
// their files outlive a restart; a job cut off by a stop or a crash comes
// back interrupted, never as done.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/detect"
	"github.com/metastation/metastation/app/synth/quality"
)

// TopicProgress carries a job's status whenever it changes, at most a few
// times a second while it runs. It is a snapshot topic.
var TopicProgress = bus.NewTopic[Status]("synth.progress")

// Limits on jobs started from the web app.
const (
	MaxRows       = 20_000_000      // rows of one job, by default (Limits.MaxRows)
	MaxQueued     = 20              // jobs queued or running at once, by default (Limits.MaxQueued)
	MaxKept       = 20              // finished jobs kept; older ones and their files are removed
	reportMaxRows = 500_000         // the detector and quality report use at most this many rows
	saveEvery     = 5 * time.Second // a running job's manifest is brought up to date this often
)

// Spec is what a job generates.
type Spec struct {
	Kind      string  `json:"kind"`       // transactions, customers, merchants, shipments, employees
	Rows      int     `json:"rows"`       // 1..Limits.MaxRows
	Seed      uint64  `json:"seed"`       // the same seed gives the same data
	FraudRate float64 `json:"fraud_rate"` // transactions only; 0 takes the default 1.5 %
	Format    string  `json:"format"`     // csv (default), jsonl or parquet
	// Label is the name the person chose when it differs from Kind (a
	// "fraud" job is a transactions job), so the job is shown as asked.
	Label string `json:"label,omitempty"`
}

// States of a job.
const (
	Queued    = "queued"
	Running   = "running"
	Done      = "done"
	Failed    = "failed"
	Cancelled = "cancelled" // by the person who started it
	// Interrupted is a job cut off by the server stopping (or crashing)
	// while it was queued or running. Its Error says so in a sentence; its
	// unfinished file is removed.
	Interrupted = "interrupted"
)

// errCancelled is the cause of a running job's cancellation by Cancel, as
// against the service stopping.
var errCancelled = errors.New("cancelled")

// Status is a job's state, as published on synth.progress.
type Status struct {
	ID       string          `json:"id"`
	Spec     Spec            `json:"spec"`
	State    string          `json:"state"`
	Rows     int             `json:"rows"` // written so far
	RowsPerS float64         `json:"rows_per_s"`
	ETA      float64         `json:"eta_s"`
	Started  time.Time       `json:"started"`
	Finished time.Time       `json:"finished"`
	File     string          `json:"file,omitempty"` // name in the jobs directory, once done
	Bytes    int64           `json:"bytes,omitempty"`
	Error    string          `json:"error,omitempty"`
	Detector *detect.Report  `json:"detector,omitempty"`
	Quality  *quality.Report `json:"quality,omitempty"`
	// ReportRows is the size of the data the reports were computed on: the
	// job itself, or its first rows' equivalent (the same seed and rate with
	// fewer rows) when the job is larger than the report's cap.
	ReportRows int `json:"report_rows,omitempty"`
	// RerunOf is the job whose settings this one runs again (Rerun).
	RerunOf string `json:"rerun_of,omitempty"`
}

type job struct {
	st     Status
	cancel context.CancelCauseFunc // set while running
	need   int64                   // bytes its file is expected to take (Start's estimate)
	wrote  int                     // rows written so far, at every chunk (st.Rows lags by up to 250 ms)
}

// Limits bound what Start accepts. Each refusal says which limit it met and
// how to change it: serve's flags set the first two.
type Limits struct {
	// MaxRows is the most rows one job may have (serve --max-rows); at
	// most synth.MaxRows, the generator's own cap.
	MaxRows int
	// MaxQueued is the most jobs queued or running at once (serve
	// --max-synth-jobs). Jobs run one at a time; the cap bounds the queue.
	MaxQueued int
	// FreeBytes reports the space free to the server on the disk holding
	// the jobs directory, and whether it could tell; nil is
	// synth.FreeBytes. A test gives the service a small disk with it.
	FreeBytes func(dir string) (uint64, bool)
}

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxRows <= 0 {
		l.MaxRows = MaxRows
	}
	l.MaxRows = min(l.MaxRows, synth.MaxRows)
	if l.MaxQueued <= 0 {
		l.MaxQueued = MaxQueued
	}
	if l.FreeBytes == nil {
		l.FreeBytes = synth.FreeBytes
	}
	return l
}

// Service queues and runs jobs. Its methods are safe to call while Run runs.
type Service struct {
	dir       string
	bus       *bus.Bus
	log       *slog.Logger
	workers   int
	kept      int           // finished jobs kept: MaxKept
	saveEvery time.Duration // a running job's manifest is brought up to date this often

	saveMu sync.Mutex // serialises manifest writes and removals; taken before mu
	mu     sync.Mutex
	limits Limits
	jobs   map[string]*job
	order  []string // ids, oldest first
	next   int
	wake   chan struct{}
}

// New returns a service writing into dir (created if needed), with the jobs
// an earlier service left there: finished ones as they were, queued and
// running ones interrupted. b may be nil; workers 0 means one per core. One
// service at a time may use dir.
func New(dir string, b *bus.Bus, log *slog.Logger, workers int) (*Service, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create jobs directory: %w", err)
	}
	s := &Service{dir: dir, bus: b, log: log, workers: workers, kept: MaxKept, saveEvery: saveEvery, limits: Limits{}.withDefaults(), jobs: map[string]*job{}, wake: make(chan struct{}, 1)}
	// New jobs are numbered after every manifest and file earlier services
	// left, so that no new file takes an old one's name.
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// SetLimits replaces the limits (zero fields take the defaults). Jobs
// already queued stay queued.
func (s *Service) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l.withDefaults()
}

// Limits returns the limits Start applies.
func (s *Service) Limits() Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

// Start validates spec and queues a job for it.
func (s *Service) Start(spec Spec) (Status, error) {
	return s.start(spec, "")
}

// Rerun queues a new job with the settings of job id, which failed, was
// cancelled or was interrupted: the same spec, so the same data. The new
// job starts afresh (nothing of the old one's unfinished file is kept) and
// names id in its RerunOf. A job still queued or running, or done, is not
// run again (errs.Conflict). The settings are validated again as Start does
// (the limits, or the free disk space, may have changed).
func (s *Service) Rerun(id string) (Status, error) {
	old, err := s.Job(id)
	if err != nil {
		return Status{}, err
	}
	switch old.State {
	case Queued, Running:
		return Status{}, errs.Errorf(errs.Conflict, "job %s is still %s; it needs no second run", id, old.State)
	case Done:
		return Status{}, errs.Errorf(errs.Conflict, "job %s is done and its file is ready; the same settings would give the same data again", id)
	}
	st, err := s.start(old.Spec, id)
	if errs.Is(err, errs.Invalid) {
		msg := strings.TrimSuffix(errs.MessageOf(err), ".")
		return Status{}, errs.Errorf(errs.Invalid, "job %s cannot run again: %s%s", id, strings.ToLower(msg[:1]), msg[1:])
	}
	return st, err
}

// start is Start; rerunOf names the job whose settings spec repeats, if any.
func (s *Service) start(spec Spec, rerunOf string) (Status, error) {
	if spec.Format == "" {
		spec.Format = "csv"
	}
	format, err := synth.ParseFormat(spec.Format)
	if err != nil {
		return Status{}, errs.Errorf(errs.Invalid, "%v", err)
	}
	if !slices.Contains(synth.Kinds, spec.Kind) {
		return Status{}, errs.Errorf(errs.Invalid, "unknown kind %q", spec.Kind)
	}
	lim := s.Limits()
	if err := CheckRows(spec.Rows, lim.MaxRows); err != nil {
		return Status{}, err
	}
	if format == synth.Parquet && spec.Kind != "transactions" {
		return Status{}, errs.Errorf(errs.Invalid, "parquet is written for transactions only")
	}
	if spec.FraudRate == 0 {
		spec.FraudRate = synth.DefaultFraudRate
	}
	if err := s.config(spec).Validate(); err != nil {
		return Status{}, errs.Errorf(errs.Invalid, "%v", err)
	}
	need, err := synth.EstimateBytes(s.config(spec), spec.Kind, format)
	if err != nil {
		return Status{}, errs.Errorf(errs.Invalid, "%v", err)
	}
	// The job is recorded before it is queued: a job that could not be
	// would vanish at the next restart, so it is refused instead. Starts
	// take saveMu so that ids join the order in turn.
	// The queue and the disk are checked under saveMu, so that two starts
	// at once cannot both take the last place or the last free bytes.
	s.saveMu.Lock()
	if err := s.admit(lim, need); err != nil {
		s.saveMu.Unlock()
		return Status{}, err
	}
	s.mu.Lock()
	s.next++
	st := Status{ID: strconv.Itoa(s.next), Spec: spec, State: Queued, RerunOf: rerunOf}
	s.mu.Unlock()
	if err := s.writeManifest(st); err != nil {
		s.saveMu.Unlock()
		s.log.Error("synth job not started", "err", err)
		return Status{}, err
	}
	s.mu.Lock()
	s.jobs[st.ID] = &job{st: st, need: need}
	s.order = append(s.order, st.ID)
	s.mu.Unlock()
	s.saveMu.Unlock()
	s.publish(st)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return st, nil
}

// CheckRows refuses a job of rows outside 1..max, naming the flag that
// raises the cap when the job is too large for it.
func CheckRows(rows, max int) error {
	switch {
	case rows >= 1 && rows <= max:
		return nil
	case rows > max && max < synth.MaxRows:
		return errs.Errorf(errs.Invalid, "rows must be between 1 and %s, not %s; serve --max-rows raises the cap (up to %s)", thousands(max), thousands(rows), thousands(synth.MaxRows))
	case rows > max:
		return errs.Errorf(errs.Invalid, "rows must be between 1 and %s, not %s; %s rows is the most one job can generate, so split the data into jobs with different seeds", thousands(max), thousands(rows), thousands(max))
	}
	return errs.Errorf(errs.Invalid, "rows must be between 1 and %s, not %s", thousands(max), thousands(rows))
}

// admit refuses a job of need bytes when the queue is full, or when the
// disk cannot hold it as well as what the jobs already queued or running
// still have to write: the free space alone would admit three jobs on room
// for one, and two of them would fail. Call it with saveMu held.
func (s *Service) admit(lim Limits, need int64) error {
	s.mu.Lock()
	waiting, pending := 0, int64(0)
	for _, id := range s.order {
		j := s.jobs[id]
		switch j.st.State {
		case Queued:
			waiting++
			pending += j.need
		case Running:
			waiting++
			// What it wrote is already off the free space; count the rest.
			if j.st.Spec.Rows > 0 {
				pending += j.need - j.need*int64(j.wrote)/int64(j.st.Spec.Rows)
			}
		}
	}
	s.mu.Unlock()
	if waiting >= lim.MaxQueued {
		return errs.Errorf(errs.Unavailable, "%d data jobs are already queued or running, the most the queue holds (serve --max-synth-jobs sets it); wait for one to finish or cancel a queued one, then start this one again", waiting)
	}
	free, ok := lim.FreeBytes(s.dir)
	if !ok {
		return nil
	}
	// A margin of 5 %: the estimate is taken from a sample of the rows.
	if want := float64(pending+need) * 1.05; want > float64(free) {
		if pending == 0 {
			return errs.Errorf(errs.NoSpace, "the disk holding %s has %s free and this job needs about %s; free some space or start a smaller job", s.dir, mb(int64(free)), mb(need))
		}
		return errs.Errorf(errs.NoSpace, "the disk holding %s has %s free, the %d jobs queued or running will still write about %s of it, and this job needs about %s; free some space, cancel a queued job, or wait for the queue to empty", s.dir, mb(int64(free)), waiting, mb(pending), mb(need))
	}
	return nil
}

// mb is n bytes in whole MB (at least 1 for a nonzero n), for a sentence.
func mb(n int64) string {
	if n > 0 && n < 1<<20 {
		return "1 MB"
	}
	return thousands(int(n>>20)) + " MB"
}

// Cancel stops a queued or running job and returns its status as the
// cancel left it: cancelled for a queued job, still running for a running
// one (it stops at its next chunk). The status is returned rather than read
// again because the prune that follows may already have forgotten the job.
func (s *Service) Cancel(id string) (Status, error) {
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return Status{}, errs.Errorf(errs.NotFound, "no job %s", id)
	}
	queued := j.st.State == Queued
	switch j.st.State {
	case Queued:
		j.st.State, j.st.Finished = Cancelled, time.Now()
	case Running:
		j.cancel(errCancelled)
	}
	st := j.st
	s.mu.Unlock()
	if queued {
		s.saveLogged(id)
		s.publish(st)
		s.prune()
	}
	return st, nil
}

// Job returns the status of one job.
func (s *Service) Job(id string) (Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return Status{}, errs.Errorf(errs.NotFound, "no job %s", id)
	}
	return j.st, nil
}

// Jobs returns every job's status, newest first.
func (s *Service) Jobs() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.order))
	for i := len(s.order) - 1; i >= 0; i-- {
		out = append(out, s.jobs[s.order[i]].st)
	}
	return out
}

// Path returns the file of a finished job, for download.
func (s *Service) Path(id string) (string, error) {
	st, err := s.Job(id)
	if err != nil {
		return "", err
	}
	switch st.State {
	case Done:
	case Queued, Running:
		return "", errs.Errorf(errs.NotFound, "job %s is %s, its file is not ready", id, st.State)
	default:
		return "", errs.Errorf(errs.NotFound, "job %s is %s; it has no file", id, st.State)
	}
	return filepath.Join(s.dir, st.File), nil
}

// Run runs queued jobs one at a time until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil { // jobs still queued stay so: the next service reads them back interrupted
			return nil
		}
		if id, ok := s.nextQueued(); ok {
			s.run(ctx, id)
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
	}
}

func (s *Service) nextQueued() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		if s.jobs[id].st.State == Queued {
			return id, true
		}
	}
	return "", false
}

func (s *Service) config(spec Spec) synth.Config {
	return synth.Config{Seed: spec.Seed, Rows: spec.Rows, FraudRate: spec.FraudRate, Workers: s.workers}.Normalize()
}

// run runs one job to its end, or until ctx ends: then the job is
// interrupted, not cancelled.
func (s *Service) run(ctx context.Context, id string) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok || j.st.State != Queued {
		// Cancelled (or pruned) since nextQueued picked it.
		s.mu.Unlock()
		return
	}
	j.cancel = cancel
	j.st.State, j.st.Started = Running, time.Now()
	spec := j.st.Spec
	st := j.st
	s.mu.Unlock()
	s.saveLogged(id)
	s.publish(st)

	format, _ := synth.ParseFormat(spec.Format)
	name := fmt.Sprintf("job-%s-%s-%d.%s", id, spec.Kind, spec.Seed, format)
	path := filepath.Join(s.dir, name)
	cfg := s.config(spec)
	// Progress is saved now and then too, so that a job cut off by a crash
	// comes back saying how far it got.
	last, saved := time.Time{}, time.Now()
	err := synth.GenerateFile(ctx, cfg, spec.Kind, format, path, func(rows int) {
		s.mu.Lock()
		j.wrote = rows
		s.mu.Unlock()
		if now := time.Now(); now.Sub(last) >= 250*time.Millisecond || rows == spec.Rows {
			last = now
			s.update(id, func(st *Status) {
				st.Rows = rows
				secs := now.Sub(st.Started).Seconds()
				st.RowsPerS = float64(rows) / max(secs, 1e-9)
				st.ETA = float64(spec.Rows-rows) / max(st.RowsPerS, 1)
			})
			if now.Sub(saved) >= s.saveEvery || rows == spec.Rows {
				saved = now
				s.saveLogged(id)
			}
		}
	})
	if err == nil && spec.Kind == "transactions" {
		err = s.report(ctx, id, cfg)
	}
	if err != nil {
		os.Remove(path) // the report failed or was cut off after the file was written
	} else {
		syncDir(s.dir) // the file's rename is on disk before a manifest says it is done
	}
	s.finish(id, func(st *Status) {
		st.Finished = time.Now()
		switch {
		case err != nil && context.Cause(ctx) == errCancelled:
			st.State = Cancelled
		case err != nil && ctx.Err() != nil: // the service is stopping
			st.State, st.ETA, st.Detector, st.Quality, st.ReportRows = Interrupted, 0, nil, nil, 0
			st.Error = interruptedSentence(*st)
		case err != nil:
			st.State, st.Error = Failed, err.Error()
			s.log.Error("synth job failed", "job", id, "err", err)
		default:
			st.State, st.File, st.ETA = Done, name, 0
			if fi, err := os.Stat(path); err == nil {
				st.Bytes = fi.Size()
			}
		}
	})
	s.prune()
}

// report trains the detector and scores the quality of a transactions job,
// on the job's own data when it is small enough.
func (s *Service) report(ctx context.Context, id string, cfg synth.Config) error {
	cfg.Rows = min(cfg.Rows, reportMaxRows)
	txs, err := synth.Transactions(cfg)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var det *detect.Report
	if len(txs) >= 20_000 {
		if det, err = detect.Evaluate(txs, detect.Options{}); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	q, err := quality.Transactions(cfg, txs)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	s.update(id, func(st *Status) { st.Detector, st.Quality, st.ReportRows = det, q, len(txs) })
	return nil
}

// update changes a job's status under the lock and publishes it.
func (s *Service) update(id string, f func(*Status)) {
	s.mu.Lock()
	j := s.jobs[id]
	f(&j.st)
	st := j.st
	s.mu.Unlock()
	s.publish(st)
}

// finish sets a running job's final state: in its manifest first, then in
// memory and on the bus, so that a job is never seen done before it is
// recorded done.
func (s *Service) finish(id string, f func(*Status)) {
	s.saveMu.Lock()
	s.mu.Lock()
	j := s.jobs[id]
	st := j.st
	s.mu.Unlock()
	f(&st)
	if err := s.writeManifest(st); err != nil {
		s.log.Error("synth job's end not saved; after a restart it will show as interrupted", "job", id, "err", err)
	}
	s.mu.Lock()
	j.st = st
	s.mu.Unlock()
	s.saveMu.Unlock()
	s.publish(st)
}

func (s *Service) publish(st Status) {
	if s.bus != nil {
		TopicProgress.Publish(s.bus, "synth", "", st.State, st)
	}
}

// prune forgets the oldest finished jobs beyond MaxKept and removes their
// files and manifests.
func (s *Service) prune() {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
}

// pruneLocked is prune with saveMu and mu held (or no other goroutine yet).
func (s *Service) pruneLocked() {
	finished := 0
	for i := len(s.order) - 1; i >= 0; i-- {
		id := s.order[i]
		st := s.jobs[id].st
		if st.State == Queued || st.State == Running {
			continue
		}
		if finished++; finished > s.kept {
			if st.File != "" {
				os.Remove(filepath.Join(s.dir, st.File))
			}
			// The manifest goes last: a crash in between leaves a manifest
			// whose file is missing, which the next load marks failed and
			// a later prune removes.
			os.Remove(s.manifestPath(id))
			delete(s.jobs, id)
			s.order = slices.Delete(s.order, i, i+1)
		}
	}
}
