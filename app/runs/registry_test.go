package runs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
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

// toyTrainer records what the registry asks of a domain.
type toyTrainer struct {
	openErr error
	evalErr error
	evalCtx bool // Evaluate waits for ctx to end and fails with its error

	mu        sync.Mutex
	persisted map[int64]Status
	published int
}

func (t *toyTrainer) Insert(context.Context, *toyInfo) (int64, error) { return 0, nil }

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

func (t *toyTrainer) Persist(info *toyInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.persisted == nil {
		t.persisted = map[int64]Status{}
	}
	t.persisted[info.ID] = info.Status
}

func (t *toyTrainer) Publish([]toyInfo) {
	t.mu.Lock()
	t.published++
	t.mu.Unlock()
}

func (t *toyTrainer) persistedStatus(id int64) Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.persisted[id]
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

func newToy(t *testing.T, tr *toyTrainer, dir string) *Registry[toyInfo, *toyInfo] {
	t.Helper()
	r, err := New[toyInfo](Config{Dir: dir, CheckpointEvery: time.Hour, PublishEvery: time.Hour}, tr, slog.New(slog.NewTextHandler(io.Discard, nil)))
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

// A run trains to its end and is evaluated; a finished run neither stops
// nor resumes, and an unknown one is not found. Ids count from 1 without
// a store, and the list is newest first.
func TestRegistryRunsToTheEnd(t *testing.T) {
	tr := &toyTrainer{}
	r := newToy(t, tr, t.TempDir())
	runToy(t, r)
	a, err := r.Start(t.Context(), toyInfo{Total: 5})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != 1 || a.Status != Queued || a.Started.IsZero() {
		t.Fatalf("started %+v", a)
	}
	fin := waitToy(t, r, a.ID, "done", status(Done))
	if fin.Steps != 5 || fin.Score == nil || *fin.Score != 5 || fin.Resumable || tr.persistedStatus(a.ID) != Done {
		t.Errorf("finished %+v (persisted %s)", fin, tr.persistedStatus(a.ID))
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

// A run stopped while it waits leaves the queue at once and, having
// trained nothing, resumes afresh; a run stopped while it trains
// checkpoints, and resumes from that checkpoint to its end.
func TestRegistryStopResume(t *testing.T) {
	tr := &toyTrainer{}
	r := newToy(t, tr, t.TempDir())
	long, _ := r.Start(t.Context(), toyInfo{Total: 100_000})
	waiting, _ := r.Start(t.Context(), toyInfo{Total: 3})
	if _, err := r.Resume(waiting.ID); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("resuming a queued run: %v", err)
	}
	got, err := r.Stop(waiting.ID)
	if err != nil || got.Status != Stopped || !got.Resumable || tr.persistedStatus(waiting.ID) != Stopped {
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
			r := newToy(t, tc.tr, t.TempDir())
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
			if got.Error != tc.wantError || got.Resumable != tc.resumable || tc.tr.persistedStatus(a.ID) != tc.want {
				t.Errorf("%+v (persisted %s); want error %q, resumable %v", got, tc.tr.persistedStatus(a.ID), tc.wantError, tc.resumable)
			}
		})
	}
}

// Restore brings back the runs of an earlier session: finished ones as they
// were, active ones stopped (resumable with a checkpoint or with nothing
// trained) or failed (trained, no checkpoint), each recorded; runs already
// known stay as they are, and new ids come after the old ones.
func TestRegistryRestore(t *testing.T) {
	dir := t.TempDir()
	tr := &toyTrainer{}
	r := newToy(t, tr, dir)
	known, _ := r.Start(t.Context(), toyInfo{Total: 1})
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
		persisted Status
	}{
		{known.ID, Queued, false, "", ""},
		{2, Done, false, "", ""},
		{3, Stopped, true, "", Stopped},
		{4, Failed, false, InterruptedMessage, Failed},
		{5, Stopped, true, "", Stopped},
		{6, Failed, false, InterruptedMessage, Failed},
	} {
		got, err := r.Get(tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tc.status || got.Resumable != tc.resumable || got.Error != tc.error || tr.persistedStatus(tc.id) != tc.persisted {
			t.Errorf("run %d: %+v (persisted %q); want %s, resumable %v, error %q, persisted %q", tc.id, got, tr.persistedStatus(tc.id), tc.status, tc.resumable, tc.error, tc.persisted)
		}
		if want := filepath.Join(dir, "run-"+strconv.FormatInt(tc.id, 10), "checkpoint.ckpt"); got.Checkpoint != want {
			t.Errorf("run %d checkpoint %q, want %q", tc.id, got.Checkpoint, want)
		}
	}
	if next, _ := r.Start(t.Context(), toyInfo{Total: 1}); next.ID != 7 {
		t.Errorf("the next run got id %d, want 7", next.ID)
	}
}
