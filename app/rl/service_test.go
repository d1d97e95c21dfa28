package rl

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/runs"
	"github.com/metastation/metastation/app/store"
)

func waitStatus(t *testing.T, s *Service, id int64, status runs.Status) RunInfo {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range s.Runs() {
			if r.ID == id && r.Status == status {
				return r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("run %d never became %s: %+v", id, status, s.Runs())
	return RunInfo{}
}

func TestServiceTrainsPersistsAndResumes(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := store.NewWriter(db, store.WriterOptions{}, slog.Default())
	defer w.Close()
	b := bus.New()
	metrics := b.Subscribe(1024, "rl.metrics")
	defer metrics.Close()
	s, err := NewService(ServiceConfig{Dir: dir}, b, w, db, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	if _, err := s.Start(ctx, RunSpec{Algo: "sac", Env: "cartpole"}); err == nil {
		t.Fatal("SAC on CartPole was accepted")
	}
	run, err := s.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: 8 * 512, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	fin := waitStatus(t, s, run.ID, "done")
	if fin.Steps != 8*512 || fin.EvalReturn == nil {
		t.Fatalf("finished run %+v", fin)
	}
	got := 0
	for len(metrics.C()) > 0 {
		e := <-metrics.C()
		if m, ok := e.Payload.(RunMetric); ok && m.Run == run.ID {
			got++
		}
	}
	if got != 8 {
		t.Fatalf("%d metrics published, want 8 (one per update)", got)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	var status string
	if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM rl_metrics WHERE run_id = ?`, run.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.R.QueryRowContext(ctx, `SELECT status FROM rl_runs WHERE id = ?`, run.ID).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if n != 8 || status != "done" {
		t.Fatalf("database holds %d metrics and status %q, want 8 and done", n, status)
	}
	if _, err := s.CheckpointPath(run.ID); err != nil {
		t.Fatal(err)
	}

	// Stop a longer run at once, then resume it to the end.
	long, err := s.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: 40 * 512, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, long.ID, "running")
	if _, err := s.Stop(long.ID); err != nil {
		t.Fatal(err)
	}
	stopped := waitStatus(t, s, long.ID, "stopped")
	if stopped.Steps >= 40*512 {
		t.Fatalf("the run finished before it could be stopped: %+v", stopped)
	}
	if _, err := s.Resume(long.ID); err != nil {
		t.Fatal(err)
	}
	if fin := waitStatus(t, s, long.ID, "done"); fin.Steps != 40*512 {
		t.Fatalf("resumed run ended at %d steps", fin.Steps)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A run stopped while it waits its turn is passed over, never trained: it
// ends stopped, with no steps and no checkpoint, and the run after it
// still trains. Resumed, it starts afresh and trains to its end.
func TestServiceStopWhileQueued(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := NewService(ServiceConfig{Dir: t.TempDir()}, bus.New(), nil, nil, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	long, err := s.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: 40 * 512, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := s.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: 2 * 512, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	next, err := s.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: 2 * 512, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, long.ID, "running")
	if _, err := s.Stop(waiting.ID); err != nil {
		t.Fatal(err)
	}
	// It leaves the queue at once, while the long run still trains.
	for _, r := range s.Runs() {
		if r.ID == waiting.ID && (r.Status != "stopped" || !r.Resumable) {
			t.Errorf("a run stopped in the queue is %s (resumable %v) at once, want stopped and resumable", r.Status, r.Resumable)
		}
	}
	if _, err := s.Stop(long.ID); err != nil {
		t.Fatal(err)
	}
	if r := waitStatus(t, s, waiting.ID, "stopped"); r.Steps != 0 {
		t.Errorf("the run stopped in the queue trained %d steps", r.Steps)
	}
	if _, err := s.CheckpointPath(waiting.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("checkpoint of a run never trained: %v", err)
	}
	if r := waitStatus(t, s, next.ID, "done"); r.Steps != 2*512 {
		t.Errorf("the next run ended at %d steps", r.Steps)
	}
	if _, err := s.Stop(next.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("stopping a finished run: %v", err)
	}
	// A run stopped before it trained has nothing to lose: it resumes
	// afresh, as a multi-agent run does (it used to answer a conflict).
	if r := waitStatus(t, s, waiting.ID, "stopped"); !r.Resumable {
		t.Errorf("the run stopped in the queue is not resumable: %+v", r)
	}
	if r, err := s.Resume(waiting.ID); err != nil || r.Status != "queued" {
		t.Errorf("resuming a run that trained nothing: %+v, %v", r, err)
	}
	if r := waitStatus(t, s, waiting.ID, "done"); r.Steps != 2*512 || len(s.Metrics(waiting.ID)) != 2 {
		t.Errorf("the run resumed afresh ended at %d steps with %d points", r.Steps, len(s.Metrics(waiting.ID)))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
