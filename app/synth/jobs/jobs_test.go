package jobs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
)

func newService(t *testing.T) (*Service, *bus.Bus, context.CancelFunc) {
	t.Helper()
	b := bus.New()
	s, err := New(t.TempDir(), b, slog.New(slog.NewTextHandler(io.Discard, nil)), 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, b, cancel
}

// wait returns the job's status once it reaches a final state.
func wait(t *testing.T, s *Service, id string) Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := s.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == Done || st.State == Failed || st.State == Cancelled {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish", id)
	return Status{}
}

func TestJobEndToEnd(t *testing.T) {
	s, b, _ := newService(t)
	sub := b.Subscribe(1024, TopicProgress.Name)
	defer sub.Close()
	for _, format := range []string{"csv", "jsonl", "parquet"} {
		st, err := s.Start(Spec{Kind: "transactions", Rows: 30_000, Seed: 1, Format: format})
		if err != nil {
			t.Fatal(err)
		}
		st = wait(t, s, st.ID)
		if st.State != Done || st.Rows != 30_000 || st.Quality == nil || st.Detector == nil {
			t.Fatalf("%s: %+v", format, st)
		}
		p, err := s.Preview(st.ID, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Rows) != 5 || len(p.Rows[0]) != len(p.Columns) || p.Rows[0][0] != "1" {
			t.Fatalf("%s preview: %+v", format, p)
		}
		path, err := s.Path(st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != st.Bytes {
			t.Fatalf("%s file: %v %v", format, fi, err)
		}
	}
	states := map[string]bool{}
	for len(sub.C()) > 0 {
		e := <-sub.C()
		states[e.Payload.(Status).State] = true
	}
	if !states[Queued] || !states[Running] || !states[Done] {
		t.Fatalf("published states %v", states)
	}
}

func TestJobCancel(t *testing.T) {
	s, _, _ := newService(t)
	st, err := s.Start(Spec{Kind: "transactions", Rows: MaxRows, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for {
		cur, _ := s.Job(st.ID)
		if cur.Rows > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := s.Cancel(st.ID); err != nil {
		t.Fatal(err)
	}
	if st = wait(t, s, st.ID); st.State != Cancelled {
		t.Fatalf("state %s", st.State)
	}
	if ents, _ := os.ReadDir(s.dir); len(ents) != 1 || ents[0].Name() != "job-1.json" {
		t.Fatalf("a cancelled job left %v, want only its manifest", ents)
	}
	if _, err := s.Path(st.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("path of a cancelled job: %v", err)
	}
}

func TestJobRejectsBadSpecs(t *testing.T) {
	s, _, _ := newService(t)
	for _, spec := range []Spec{
		{Kind: "widgets", Rows: 10},
		{Kind: "transactions", Rows: 0},
		{Kind: "transactions", Rows: MaxRows + 1},
		{Kind: "transactions", Rows: 10, FraudRate: 0.5},
		{Kind: "employees", Rows: 10, Format: "parquet"},
		{Kind: "employees", Rows: 10, Format: "xml"},
	} {
		if _, err := s.Start(spec); !errs.Is(err, errs.Invalid) {
			t.Errorf("%+v: got %v, want errs.Invalid", spec, err)
		}
	}
	if _, err := s.Job("99"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

// A new service numbers its jobs after the files an earlier one left.
func TestJobIDsContinueAfterRestart(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/job-7-transactions-1.csv", []byte("id\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(dir, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Start(Spec{Kind: "employees", Rows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != "8" {
		t.Fatalf("first job after a restart is %s, want 8", st.ID)
	}
}

// A job cancelled after the worker picked it but before it started must not
// run: run finds it no longer queued and leaves it cancelled.
func TestJobCancelledBeforeItRuns(t *testing.T) {
	s, err := New(t.TempDir(), bus.New(), slog.New(slog.NewTextHandler(io.Discard, nil)), 2)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Start(Spec{Kind: "transactions", Rows: 1000, Seed: 1}) // no Run: it stays queued
	if err != nil {
		t.Fatal(err)
	}
	id, ok := s.nextQueued()
	if !ok || id != st.ID {
		t.Fatalf("next queued %q %v, want %q", id, ok, st.ID)
	}
	if _, err := s.Cancel(id); err != nil {
		t.Fatal(err)
	}
	s.run(t.Context(), id) // the worker goes on with what it picked
	if got, _ := s.Job(id); got.State != Cancelled {
		t.Fatalf("state %s after run, want cancelled", got.State)
	}
	if _, err := s.Path(id); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a cancelled job has a file: %v", err)
	}
}
