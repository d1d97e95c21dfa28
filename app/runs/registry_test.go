package runs

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

// toyInfo is a domain's description of a run: a counter that trains to
// Total and is scored by its final count.
type toyInfo struct {
	Record
	Total int
	Steps int
	Score *float64
}

func (i *toyInfo) Trained() int { return i.Steps }

// toyTrainer builds toy learners and records toy runs in toy_runs.
type toyTrainer struct {
	openErr error
	evalErr error
	evalCtx bool // Evaluate waits for ctx to end and fails with its error
}

func (t *toyTrainer) Open(info toyInfo, resume bool) (Learner[toyInfo], error) {
	if t.openErr != nil {
		return nil, t.openErr
	}
	l := &toyLearner{t: t, total: info.Total}
	if resume {
		b, err := os.ReadFile(info.Checkpoint)
		if err != nil {
			return nil, err
		}
		if l.steps, err = strconv.Atoi(string(b)); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (t *toyTrainer) Insert(info *toyInfo) (string, []any) {
	return `INSERT INTO toy_runs (status, total) VALUES (?, ?)`, []any{info.Status, info.Total}
}

func (t *toyTrainer) Update(info *toyInfo) (string, []any) {
	return `UPDATE toy_runs SET status = ?, steps = ? WHERE id = ?`, []any{info.Status, info.Steps, info.ID}
}

var toyProgress = bus.NewTopic[[]toyInfo]("toy.progress")

// toyStore is a real SQLite file with the toy table and a batching writer.
type toyStore struct {
	db *store.DB
	w  *store.Writer
}

func openToyStore(t *testing.T) *toyStore {
	t.Helper()
	migrations := fstest.MapFS{"0001_toy.sql": {Data: []byte(`CREATE TABLE toy_runs (id INTEGER PRIMARY KEY, status TEXT NOT NULL, total INTEGER NOT NULL, steps INTEGER NOT NULL DEFAULT 0)`)}}
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), store.FileName), migrations)
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { w.Close(); db.Close() })
	return &toyStore{db: db, w: w}
}

// status returns the status toy_runs holds for run id, once the writer has
// committed what it was given.
func (s *toyStore) status(t *testing.T, id int64) Status {
	t.Helper()
	if err := s.w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := s.db.R.QueryRowContext(t.Context(), `SELECT status FROM toy_runs WHERE id = ?`, id).Scan(&st); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return st
}

type toyLearner struct {
	t            *toyTrainer
	steps, total int
}

func (l *toyLearner) Begin(info *toyInfo) { info.Steps = l.steps }

func (l *toyLearner) Step(ctx context.Context) (func(*toyInfo), error) {
	time.Sleep(time.Millisecond)
	l.steps++
	n := l.steps
	return func(info *toyInfo) { info.Steps = n }, nil
}

func (l *toyLearner) Done() bool { return l.steps >= l.total }

func (l *toyLearner) Save(path string) error {
	return os.WriteFile(path, []byte(strconv.Itoa(l.steps)), 0o644)
}

func (l *toyLearner) Evaluate(ctx context.Context) (func(*toyInfo), error) {
	if l.t.evalCtx {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if l.t.evalErr != nil {
		return nil, l.t.evalErr
	}
	score := float64(l.steps)
	return func(info *toyInfo) { info.Score = &score }, nil
}

// newToy returns a registry of toy runs kept in st (nil: in memory).
func newToy(t *testing.T, tr *toyTrainer, dir string, st *toyStore) *Registry[toyInfo, *toyInfo] {
	t.Helper()
	cfg := Config{Name: "toy", Dir: dir, CheckpointEvery: time.Hour, PublishEvery: time.Hour, Bus: bus.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if st != nil {
		cfg.DB, cfg.Writer = st.db, st.w
	}
	r, err := New(cfg, toyProgress, tr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runToy runs r until the test ends, and returns the function that ends
// it early (as a server shutdown does), waiting for Run to return.
func runToy(t *testing.T, r *Registry[toyInfo, *toyInfo]) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func waitToy(t *testing.T, r *Registry[toyInfo, *toyInfo], id int64, what string, ok func(toyInfo) bool) toyInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := r.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(info) {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d never %s: %+v", id, what, info)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func status(s Status) func(toyInfo) bool { return func(i toyInfo) bool { return i.Status == s } }

// A run trains to its end, is evaluated and recorded; a finished run
// neither stops nor resumes, and an unknown one is not found. The list is
// newest first.
func TestRegistryRunsToTheEnd(t *testing.T) {
	st := openToyStore(t)
	r := newToy(t, &toyTrainer{}, t.TempDir(), st)
	runToy(t, r)
	a, err := r.Start(t.Context(), toyInfo{Total: 5})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != 1 || a.Status != Queued || a.Started.IsZero() {
		t.Fatalf("started %+v", a)
	}
	fin := waitToy(t, r, a.ID, "done", status(Done))
	if fin.Steps != 5 || fin.Score == nil || *fin.Score != 5 || fin.Resumable || st.status(t, a.ID) != Done {
		t.Errorf("finished %+v (stored %s)", fin, st.status(t, a.ID))
	}
	if path, err := r.CheckpointPath(a.ID); err != nil {
		t.Error(err)
	} else if b, _ := os.ReadFile(path); string(b) != "5" {
		t.Errorf("final checkpoint %q, want 5", b)
	}
	b, _ := r.Start(t.Context(), toyInfo{Total: 1})
	if l := r.List(); len(l) != 2 || l[0].ID != b.ID || l[1].ID != a.ID {
		t.Errorf("list %+v, want runs %d then %d", l, b.ID, a.ID)
	}
	for _, tc := range []struct {
		name string
		call func() error
		code errs.Code
		msg  string
	}{
		{"stop a done run", func() error { _, err := r.Stop(a.ID); return err }, errs.Conflict, "Run 1 is already done."},
		{"resume a done run", func() error { _, err := r.Resume(a.ID); return err }, errs.Conflict, "Run 1 is done; only a stopped or failed run resumes."},
		{"stop no run", func() error { _, err := r.Stop(9); return err }, errs.NotFound, "There is no run 9."},
		{"resume no run", func() error { _, err := r.Resume(9); return err }, errs.NotFound, "There is no run 9."},
		{"get no run", func() error { _, err := r.Get(9); return err }, errs.NotFound, "There is no run 9."},
		{"checkpoint of no run", func() error { _, err := r.CheckpointPath(9); return err }, errs.NotFound, "There is no run 9."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if errs.CodeOf(err) != tc.code || errs.MessageOf(err) != tc.msg {
				t.Errorf("%v (%s), want %s %q", err, errs.CodeOf(err), tc.code, tc.msg)
			}
		})
	}
}

// Without a database ids count from 1. A run stopped while it waits leaves
// the queue at once and, having trained nothing, resumes afresh; a run stopped while it trains
// checkpoints, and resumes from that checkpoint to its end.
func TestRegistryStopResume(t *testing.T) {
	r := newToy(t, &toyTrainer{}, t.TempDir(), nil)
	long, _ := r.Start(t.Context(), toyInfo{Total: 100_000})
	waiting, _ := r.Start(t.Context(), toyInfo{Total: 3})
	if _, err := r.Resume(waiting.ID); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("resuming a queued run: %v", err)
	}
	got, err := r.Stop(waiting.ID)
	if err != nil || got.Status != Stopped || !got.Resumable {
		t.Fatalf("stopped in the queue: %+v, %v", got, err)
	}
	if _, err := r.CheckpointPath(waiting.ID); errs.MessageOf(err) != "Run 2 has no checkpoint yet." {
		t.Errorf("checkpoint of a run never trained: %v", err)
	}
	runToy(t, r)
	waitToy(t, r, long.ID, "trained a few steps", func(i toyInfo) bool { return i.Steps >= 3 })
	if _, err := r.Stop(long.ID); err != nil {
		t.Fatal(err)
	}
	stopped := waitToy(t, r, long.ID, "stopped", status(Stopped))
	if !stopped.Resumable || stopped.Steps >= 100_000 {
		t.Fatalf("stopped while training: %+v", stopped)
	}
	if b, _ := os.ReadFile(stopped.Checkpoint); string(b) != strconv.Itoa(stopped.Steps) {
		t.Errorf("checkpoint on stop holds %q, the run %d steps", b, stopped.Steps)
	}
	if w, _ := r.Get(waiting.ID); w.Status != Stopped || w.Steps != 0 {
		t.Errorf("the run stopped in the queue trained: %+v", w)
	}
	if _, err := r.Resume(waiting.ID); err != nil {
		t.Fatal(err)
	}
	if w := waitToy(t, r, waiting.ID, "done", status(Done)); w.Steps != 3 {
		t.Errorf("resumed afresh: %+v", w)
	}
	// The long run continues from its checkpoint, not from 0: give it a
	// smaller budget through its checkpoint's count.
	if err := os.WriteFile(stopped.Checkpoint, []byte("99990"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resume(long.ID); err != nil {
		t.Fatal(err)
	}
	if l := waitToy(t, r, long.ID, "done", status(Done)); l.Steps != 100_000 || *l.Score != 100_000 {
		t.Errorf("resumed from its checkpoint: %+v", l)
	}
}

// A run whose learner cannot be built or evaluated fails with the reason;
// one whose evaluation a shutdown cuts short is stopped, trained and
// resumable.
func TestRegistryFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tr        *toyTrainer
		shutdown  bool
		want      Status
		wantError string
		resumable bool
	}{
		{"open fails", &toyTrainer{openErr: errors.New("unknown world")}, false, Failed, "unknown world", true},
		{"evaluation fails", &toyTrainer{evalErr: errors.New("diverged")}, false, Failed, "diverged", true},
		{"shutdown while evaluating", &toyTrainer{evalCtx: true}, true, Stopped, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openToyStore(t)
			r := newToy(t, tc.tr, t.TempDir(), st)
			stop := runToy(t, r)
			a, _ := r.Start(t.Context(), toyInfo{Total: 2})
			if tc.shutdown {
				waitToy(t, r, a.ID, "evaluating", status(Evaluating))
				if _, err := r.Stop(a.ID); errs.CodeOf(err) != errs.Conflict {
					t.Errorf("stopping an evaluating run: %v", err)
				}
				stop()
			}
			got := waitToy(t, r, a.ID, string(tc.want), status(tc.want))
			if got.Error != tc.wantError || got.Resumable != tc.resumable || st.status(t, a.ID) != tc.want {
				t.Errorf("%+v (stored %s); want error %q, resumable %v", got, st.status(t, a.ID), tc.wantError, tc.resumable)
			}
		})
	}
}

// Restore brings back the runs of an earlier session: finished ones as they
// were, active ones stopped (resumable with a checkpoint or with nothing
// trained) or failed (trained, no checkpoint), each recorded in the
// database; runs already known stay as they are.
func TestRegistryRestore(t *testing.T) {
	dir := t.TempDir()
	st := openToyStore(t)
	r := newToy(t, &toyTrainer{}, dir, st)
	known, _ := r.Start(t.Context(), toyInfo{Total: 1})
	for _, s := range []Status{Done, Running, Running, Queued, Evaluating} { // runs 2 to 6, as the last session left them
		if _, err := st.db.W.Exec(`INSERT INTO toy_runs (status, total) VALUES (?, 10)`, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "run-3"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run-3", "checkpoint.ckpt"), []byte("4"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := func(id int64, s Status) Record { return Record{ID: id, Status: s, Checkpoint: "/moved/elsewhere"} }
	r.Restore([]toyInfo{
		{Record: rec(known.ID, Done), Steps: 7},
		{Record: rec(2, Done), Steps: 5},
		{Record: rec(3, Running), Steps: 4},
		{Record: rec(4, Running), Steps: 4},
		{Record: rec(5, Queued)},
		{Record: rec(6, Evaluating), Steps: 2},
	})
	for _, tc := range []struct {
		id        int64
		status    Status
		resumable bool
		error     string
		stored    Status
	}{
		{known.ID, Queued, false, "", Queued},
		{2, Done, false, "", Done},
		{3, Stopped, true, "", Stopped},
		{4, Failed, false, InterruptedMessage, Failed},
		{5, Stopped, true, "", Stopped},
		{6, Failed, false, InterruptedMessage, Failed},
	} {
		got, err := r.Get(tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tc.status || got.Resumable != tc.resumable || got.Error != tc.error || st.status(t, tc.id) != tc.stored {
			t.Errorf("run %d: %+v (stored %q); want %s, resumable %v, error %q, stored %q", tc.id, got, st.status(t, tc.id), tc.status, tc.resumable, tc.error, tc.stored)
		}
		if want := filepath.Join(dir, "run-"+strconv.FormatInt(tc.id, 10), "checkpoint.ckpt"); got.Checkpoint != want {
			t.Errorf("run %d checkpoint %q, want %q", tc.id, got.Checkpoint, want)
		}
	}
	if next, _ := r.Start(t.Context(), toyInfo{Total: 1}); next.ID != 7 { // SQLite's next row id
		t.Errorf("the next run got id %d, want 7", next.ID)
	}
}

// TestRegistryRowFollowsCheckpoints: while a run trains, its database row
// is brought up to each checkpoint, so a server killed mid-run comes back
// with the episodes its checkpoint holds instead of the 0 written at the
// start.
func TestRegistryRowFollowsCheckpoints(t *testing.T) {
	st := openToyStore(t)
	cfg := Config{Name: "toy", Dir: t.TempDir(), CheckpointEvery: time.Millisecond, PublishEvery: time.Hour,
		Bus: bus.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), DB: st.db, Writer: st.w}
	r, err := New(cfg, toyProgress, &toyTrainer{})
	if err != nil {
		t.Fatal(err)
	}
	runToy(t, r)
	info, err := r.Start(t.Context(), toyInfo{Total: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := st.w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		var steps int
		var status Status
		if err := st.db.R.QueryRowContext(t.Context(), `SELECT status, steps FROM toy_runs WHERE id = ?`, info.ID).Scan(&status, &steps); err != nil {
			t.Fatal(err)
		}
		if status == Running && steps > 0 {
			break // the row of a running run has its checkpoint's steps
		}
		if time.Now().After(deadline) {
			t.Fatalf("row of the running run: %s with %d steps after 20 s of checkpoints every millisecond", status, steps)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRegistryQueueCap: past MaxQueued waiting runs, Start and Resume are
// refused with a sentence that gives the limit, and nothing is recorded.
func TestRegistryQueueCap(t *testing.T) {
	st := openToyStore(t)
	dir := t.TempDir()
	cfg := Config{Name: "toy", Dir: dir, CheckpointEvery: time.Hour, PublishEvery: time.Hour, Bus: bus.New(),
		DB: st.db, Writer: st.w, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxQueued: 2}
	r, err := New(cfg, toyProgress, &toyTrainer{})
	if err != nil {
		t.Fatal(err)
	}
	// Run is not running, so every started run stays queued.
	a, err := r.Start(t.Context(), toyInfo{Total: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(t.Context(), toyInfo{Total: 5}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Start(t.Context(), toyInfo{Total: 5})
	if !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "2 toy runs are already waiting") {
		t.Fatalf("third start: %v, want a refusal naming the limit", err)
	}
	if n := len(r.List()); n != 2 {
		t.Fatalf("%d runs recorded after the refusal, want 2", n)
	}
	// A stopped run may not jump back into a full queue either.
	if _, err := r.Stop(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(t.Context(), toyInfo{Total: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resume(a.ID); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("resume into a full queue: %v", err)
	}
}
