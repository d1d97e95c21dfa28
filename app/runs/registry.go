package runs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

// Config sets up a registry: where its runs keep their checkpoints and
// records, and where it publishes and logs.
type Config struct {
	Name            string        // the domain ("rl", "marl"): the source of its bus events
	Dir             string        // checkpoints go to Dir/run-<id>/checkpoint.ckpt
	CheckpointEvery time.Duration // wall time between checkpoints; default 30s
	PublishEvery    time.Duration // least time between progress snapshots; default 250ms
	// MaxQueued is how many runs may wait their turn (runs train one at a
	// time, so an unbounded queue only piles up records and promises);
	// default 100. Start and Resume past it are refused with a sentence.
	MaxQueued int

	Bus    *bus.Bus      // required: progress snapshots go there
	DB     *store.DB     // may be nil: nothing is stored, run ids are counted in memory
	Writer *store.Writer // may be nil: nothing is persisted
	Log    *slog.Logger  // may be nil: slog.Default()
}

// Registry keeps a domain's runs: it queues them, trains them one at a time
// through the domain's Trainer and Learners, stops and resumes them,
// publishes their progress and reloads the runs of earlier sessions. Its
// methods are safe to call while Run runs.
type Registry[I any, P Info[I]] struct {
	cfg      Config
	progress bus.Topic[[]I]
	t        Trainer[I]
	log      *slog.Logger

	mu     sync.Mutex // guards runs, nextID, q and every description
	runs   map[int64]P
	nextID int64
	q      *queue
}

// New returns an empty registry whose runs t builds and records, and
// whose snapshots of every run go to progress.
func New[I any, P Info[I]](cfg Config, progress bus.Topic[[]I], t Trainer[I]) (*Registry[I, P], error) {
	switch {
	case t == nil:
		return nil, errors.New("a run registry needs a trainer")
	case cfg.Bus == nil:
		return nil, errors.New("a run registry needs a bus")
	case cfg.Dir == "":
		return nil, errors.New("a run registry needs a directory for checkpoints")
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 30 * time.Second
	}
	if cfg.PublishEvery <= 0 {
		cfg.PublishEvery = 250 * time.Millisecond
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 100
	}
	r := &Registry[I, P]{cfg: cfg, progress: progress, t: t, log: log, runs: map[int64]P{}}
	r.q = newQueue(&r.mu, queueConfig{CheckpointEvery: cfg.CheckpointEvery, PublishEvery: cfg.PublishEvery, Publish: r.publish})
	return r, nil
}

// Start records a new run described by info (its spec, and what the domain
// knows before training: its budget, its agents) and queues it. Validate
// the spec first: Start takes it as it is.
func (r *Registry[I, P]) Start(ctx context.Context, info I) (I, error) {
	p := P(&info)
	rec := p.RunRecord()
	rec.Status, rec.Error, rec.Resumable, rec.Started = Queued, "", false, time.Now().UTC()
	r.mu.Lock()
	full := r.queueFull()
	r.mu.Unlock()
	if full != nil {
		var zero I
		return zero, full
	}
	id, err := r.insert(ctx, p)
	if err != nil {
		var zero I
		return zero, fmt.Errorf("record run: %w", err)
	}
	r.mu.Lock()
	if r.cfg.DB == nil {
		r.nextID++
		id = r.nextID
	}
	rec.ID, rec.Checkpoint = id, r.checkpointPath(id)
	r.runs[id] = p
	r.q.Push(id, false)
	out := *p
	r.mu.Unlock()
	r.publish()
	return out, nil
}

// queueFull refuses one more waiting run when MaxQueued already wait. Call
// it with the lock held.
func (r *Registry[I, P]) queueFull() error {
	if n := len(r.q.jobs); n >= r.cfg.MaxQueued {
		return errs.Errorf(errs.Unavailable, "%d %s runs are already waiting their turn, the most the queue holds (runs train one at a time); stop a waiting run or wait for one to finish, then start this one again (serve --max-queued-runs sets the cap)", n, r.cfg.Name)
	}
	return nil
}

// Resume queues a stopped or failed run to continue from its checkpoint; a
// run that trained nothing and has no checkpoint (stopped while it waited,
// or left waiting by the last session) starts afresh.
func (r *Registry[I, P]) Resume(id int64) (I, error) {
	r.mu.Lock()
	p, ok := r.runs[id]
	if !ok {
		r.mu.Unlock()
		var zero I
		return zero, errs.Errorf(errs.NotFound, "there is no run %d", id)
	}
	rec := p.RunRecord()
	if rec.Status != Stopped && rec.Status != Failed {
		out := *p
		r.mu.Unlock()
		return out, errs.Errorf(errs.Conflict, "run %d is %s; only a stopped or failed run resumes", id, rec.Status)
	}
	hasCkpt := exists(rec.Checkpoint)
	if !hasCkpt && p.Trained() > 0 {
		out := *p
		r.mu.Unlock()
		return out, errs.Errorf(errs.Conflict, "run %d has no checkpoint to resume from", id)
	}
	if err := r.queueFull(); err != nil {
		out := *p
		r.mu.Unlock()
		return out, err
	}
	rec.Status, rec.Error, rec.Resumable = Queued, "", false
	r.q.Push(id, hasCkpt)
	r.persist(p)
	out := *p
	r.mu.Unlock()
	r.flush()
	r.publish()
	return out, nil
}

// Stop asks a queued or running run to stop, and returns it as it is then.
// A queued run leaves the queue at once; a running one checkpoints at its
// next step, so that Resume continues it where it stopped.
func (r *Registry[I, P]) Stop(id int64) (I, error) {
	r.mu.Lock()
	p, ok := r.runs[id]
	if !ok {
		r.mu.Unlock()
		var zero I
		return zero, errs.Errorf(errs.NotFound, "there is no run %d", id)
	}
	rec := p.RunRecord()
	var err error
	dequeued := false
	switch rec.Status {
	case Queued:
		if r.q.Remove(id) {
			r.settle(p, Stopped, "")
			dequeued = true
		} else {
			r.q.Stop(id) // taken off the queue, about to start: Train honours it
		}
	case Running:
		r.q.Stop(id)
	case Evaluating:
		err = errs.Errorf(errs.Conflict, "run %d has finished training and is being evaluated", id)
	default:
		err = errs.Errorf(errs.Conflict, "run %d is already %s", id, rec.Status)
	}
	out := *p
	r.mu.Unlock()
	if dequeued {
		r.flush()
		r.publish()
	}
	return out, err
}

// Get returns one run.
func (r *Registry[I, P]) Get(id int64) (I, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.runs[id]
	if !ok {
		var zero I
		return zero, errs.Errorf(errs.NotFound, "there is no run %d", id)
	}
	return *p, nil
}

// Has reports whether run id is known.
func (r *Registry[I, P]) Has(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.runs[id]
	return ok
}

// List returns every run, newest first.
func (r *Registry[I, P]) List() []I {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := make([]P, 0, len(r.runs))
	for _, p := range r.runs {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].RunRecord().ID > ps[j].RunRecord().ID })
	out := make([]I, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

// CheckpointPath returns the file of a run's latest checkpoint.
func (r *Registry[I, P]) CheckpointPath(id int64) (string, error) {
	r.mu.Lock()
	p, ok := r.runs[id]
	var path string
	if ok {
		path = p.RunRecord().Checkpoint
	}
	r.mu.Unlock()
	if !ok {
		return "", errs.Errorf(errs.NotFound, "there is no run %d", id)
	}
	if !exists(path) {
		return "", errs.Errorf(errs.NotFound, "run %d has no checkpoint yet", id)
	}
	return path, nil
}

// Restore adds the runs of earlier sessions, as the domain read them from
// its store; runs already known are left alone. Done, failed and stopped
// runs come back as they were. Runs the last session left active come back
// stopped, resumable when their checkpoint is on disk or they trained
// nothing (Resume starts them afresh); one that trained but left no
// checkpoint (the server died before its first) comes back failed. Call
// Restore before Run.
func (r *Registry[I, P]) Restore(infos []I) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, info := range infos {
		p := P(&info)
		rec := p.RunRecord()
		if _, ok := r.runs[rec.ID]; ok {
			continue
		}
		// Derived again rather than read: a recorded path goes stale when
		// the data directory moves or was given relative to another
		// working directory.
		rec.Checkpoint = r.checkpointPath(rec.ID)
		if rec.Status.Active() {
			rec.Status = Stopped
			if p.Trained() > 0 && !exists(rec.Checkpoint) {
				rec.Status, rec.Error = Failed, InterruptedMessage
			}
			r.persist(p)
		}
		rec.Resumable = r.resumable(p)
		r.runs[rec.ID] = p
		r.nextID = max(r.nextID, rec.ID)
	}
}

// Run trains queued runs one after another until ctx ends. A run cut short
// by ctx is checkpointed and left stopped.
func (r *Registry[I, P]) Run(ctx context.Context) error {
	train := func(ctx context.Context, id int64, resume bool) {
		if err := r.train(ctx, id, resume); err != nil {
			r.log.Error("training run failed", "run", id, "err", err)
		}
	}
	stopped := func(id int64) { r.settle(r.runs[id], Stopped, "") } // asked to stop while it waited
	r.q.Run(ctx, train, stopped)
	return nil
}

// train runs one job to its end, a stop request or ctx's end; resume
// continues it from its checkpoint.
func (r *Registry[I, P]) train(ctx context.Context, id int64, resume bool) error {
	r.mu.Lock()
	p := r.runs[id]
	info := *p
	rec := p.RunRecord()
	path := rec.Checkpoint
	r.mu.Unlock()

	fail := func(err error) error {
		r.mu.Lock()
		r.settle(p, Failed, err.Error())
		r.mu.Unlock()
		r.publish()
		return err
	}
	stop := func() {
		r.mu.Lock()
		r.settle(p, Stopped, "")
		r.mu.Unlock()
		r.publish()
	}
	l, err := r.t.Open(info, resume)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fail(fmt.Errorf("checkpoint directory: %w", err))
	}
	r.mu.Lock()
	l.Begin(p)
	rec.Status, rec.Resumable = Running, false
	r.persist(p)
	r.mu.Unlock()
	r.publish()

	step := func() error {
		apply, err := l.Step(ctx)
		if err != nil {
			return err
		}
		r.mu.Lock()
		apply(p)
		r.mu.Unlock()
		return nil
	}
	// The row follows each checkpoint: after a SIGKILL it says how far the
	// checkpoint got (a killed multi-agent run came back "episodes 0 of
	// 20000" while its curve had reached 1,122).
	save := func() error {
		if err := l.Save(path); err != nil {
			return err
		}
		r.mu.Lock()
		r.persist(p)
		r.mu.Unlock()
		return nil
	}
	stopped, err := r.q.Train(ctx, id, l.Done, step, save)
	if err != nil {
		return fail(err)
	}
	if stopped {
		stop()
		return nil
	}
	r.mu.Lock()
	rec.Status = Evaluating
	r.mu.Unlock()
	r.publish()
	apply, err := l.Evaluate(ctx)
	if err != nil {
		if ctx.Err() != nil {
			stop() // trained and checkpointed; only the evaluation is missing
			return nil
		}
		return fail(err)
	}
	r.mu.Lock()
	apply(p)
	rec.Status = Done
	r.persist(p)
	r.mu.Unlock()
	r.publish()
	return nil
}

// settle leaves run p stopped or failed (with msg), resumable or not, and
// records it. r.mu is held.
func (r *Registry[I, P]) settle(p P, s Status, msg string) {
	rec := p.RunRecord()
	rec.Status = s
	if s == Failed {
		rec.Error = msg
	}
	rec.Resumable = r.resumable(p)
	r.persist(p)
}

// resumable reports whether Resume would take p: it is stopped or failed,
// and its checkpoint is on disk or it trained nothing (it starts afresh).
func (r *Registry[I, P]) resumable(p P) bool {
	rec := p.RunRecord()
	if rec.Status != Stopped && rec.Status != Failed {
		return false
	}
	return p.Trained() == 0 || exists(rec.Checkpoint)
}

// checkpointPath is where run id keeps its checkpoint.
func (r *Registry[I, P]) checkpointPath(id int64) string {
	return filepath.Join(r.cfg.Dir, "run-"+strconv.FormatInt(id, 10), "checkpoint.ckpt")
}

// Reload reads the runs of earlier sessions with read, which gets the
// database, and restores them (see Restore). Without a database it does
// nothing. Call it before Run.
func (r *Registry[I, P]) Reload(ctx context.Context, read func(ctx context.Context, db *store.DB) ([]I, error)) error {
	if r.cfg.DB == nil {
		return nil
	}
	infos, err := read(ctx, r.cfg.DB)
	if err != nil {
		return err
	}
	r.Restore(infos)
	return nil
}

// Enqueue writes a row of the domain's (a metric, a learning-curve point)
// through the batching writer's queue without waiting; when the queue is
// full it drops the row and says so in the log. Without a writer it does
// nothing.
func (r *Registry[I, P]) Enqueue(query string, args ...any) {
	if r.cfg.Writer == nil {
		return
	}
	if !r.cfg.Writer.TryEnqueue(query, args...) {
		r.log.Warn(r.cfg.Name+": the writer's queue is full; a row was not persisted", "query", query[:min(len(query), 40)])
	}
}

// insert records a new run through the writer connection and returns its
// id; 0 without a database.
func (r *Registry[I, P]) insert(ctx context.Context, p P) (int64, error) {
	if r.cfg.DB == nil {
		return 0, nil
	}
	// The caller acknowledges the new run: synchronous=FULL for it.
	query, args := r.t.Insert((*I)(p))
	var id int64
	err := store.DurableTx(ctx, r.cfg.DB, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// persist records p's state; r.mu is held, so it only queues the row. It
// is a state change, so its batch commits with synchronous=FULL
// (TryEnqueueDurable); Stop and Resume wait for it (flush) before they
// answer.
func (r *Registry[I, P]) persist(p P) {
	if r.cfg.Writer == nil {
		return
	}
	query, args := r.t.Update((*I)(p))
	if !r.cfg.Writer.TryEnqueueDurable(query, args...) {
		r.log.Warn(r.cfg.Name+": the writer's queue is full; a run's state was not persisted", "run", p.RunRecord().ID)
	}
}

// flush waits until the state changes persist queued are on disk, so that
// an answer acknowledges a durable change; a failure is logged (the state
// is live, and the next change records it again).
func (r *Registry[I, P]) flush() {
	if r.cfg.Writer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.cfg.Writer.Flush(ctx); err != nil {
		r.log.Warn(r.cfg.Name+": a run's state change is not on disk yet", "err", err)
	}
}

// publish sends the snapshot of every run.
func (r *Registry[I, P]) publish() {
	r.progress.Publish(r.cfg.Bus, r.cfg.Name, "", "progress", r.List())
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
