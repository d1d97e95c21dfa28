package jobs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/synth"
)

// referenceFile generates spec's data directly with synth.GenerateFile (one
// worker, unlike the service's two) and returns its bytes: what the
// settings give when nothing interrupts them.
func referenceFile(t *testing.T, spec Spec) []byte {
	t.Helper()
	format, err := synth.ParseFormat(spec.Format)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ref."+spec.Format)
	cfg := synth.Config{Seed: spec.Seed, Rows: spec.Rows, FraudRate: spec.FraudRate, Workers: 1}
	if err := synth.GenerateFile(context.Background(), cfg, spec.Kind, format, path, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A job cut off by a stop mid-run, and one still queued at the stop, are run
// again by a second service on the same directory: each new job has the
// old one's settings, names it, and writes the same bytes as the settings
// give uninterrupted.
func TestRerunGivesTheSameFile(t *testing.T) {
	dir := t.TempDir()
	a, err := New(dir, nil, quiet(), 2)
	if err != nil {
		t.Fatal(err)
	}
	stop := runService(t, a)
	big, err := a.Start(Spec{Kind: "shipments", Rows: 300_000, Seed: 9, Format: "csv"}) // 37 chunks, 39 MB
	if err != nil {
		t.Fatal(err)
	}
	fraud, err := a.Start(Spec{Kind: "transactions", Rows: 21_000, Seed: 4, FraudRate: 0.03, Format: "jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	waitFirstRows(t, a, big.ID)
	stop()
	if cur, _ := a.Job(big.ID); cur.State != Interrupted || cur.Rows >= cur.Spec.Rows {
		t.Fatalf("the job was not cut off mid-run: %s after %d rows", cur.State, cur.Rows)
	}

	b, err := New(dir, nil, quiet(), 2)
	if err != nil {
		t.Fatal(err)
	}
	reruns := map[string]Status{}
	for _, old := range []Status{big, fraud} {
		was, _ := b.Job(old.ID)
		if was.State != Interrupted {
			t.Fatalf("job %s after the restart: %s", old.ID, was.State)
		}
		again, err := b.Rerun(old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if again.ID == old.ID || again.RerunOf != old.ID || again.Spec != was.Spec || again.State != Queued {
			t.Fatalf("the rerun of job %s: %+v", old.ID, again)
		}
		reruns[old.ID] = again
	}
	runService(t, b)
	for _, old := range []Status{big, fraud} {
		again := reruns[old.ID]
		done := wait(t, b, again.ID)
		if done.State != Done {
			t.Fatalf("the rerun of job %s: %s %q", old.ID, done.State, done.Error)
		}
		if now, _ := b.Job(old.ID); now.State != Interrupted {
			t.Errorf("the rerun job %s changed to %s", old.ID, now.State)
		}
		path, err := b.Path(again.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceFile(t, again.Spec); !bytes.Equal(got, want) {
			t.Errorf("the rerun of job %s wrote %d bytes that differ from the %d of an uninterrupted run", old.ID, len(got), len(want))
		}
		if old.ID == fraud.ID && (done.Detector == nil || done.Quality == nil) {
			t.Errorf("the rerun fraud job has no reports")
		}
	}

	c, err := New(dir, nil, quiet(), 2) // the rerun's origin is remembered
	if err != nil {
		t.Fatal(err)
	}
	if jobs := c.Jobs(); len(jobs) != 4 || jobs[0].RerunOf != fraud.ID || jobs[1].RerunOf != big.ID || jobs[0].State != Done {
		t.Errorf("jobs after a second restart: %s", asJSON(t, jobs))
	}
}

// Rerun refuses what cannot run again, with the error the API maps to a
// status and a sentence.
func TestRerunRefuses(t *testing.T) {
	dir := t.TempDir()
	writeTestManifest(t, dir, Status{ID: "1", Spec: Spec{Kind: "unicorns", Rows: 10, Format: "csv"}, State: Failed, Error: "it broke"})
	writeTestManifest(t, dir, Status{ID: "2", Spec: Spec{Kind: "employees", Rows: MaxRows + 1, Format: "csv", FraudRate: synth.DefaultFraudRate}, State: Interrupted})
	s, err := New(dir, nil, quiet(), 2)
	if err != nil {
		t.Fatal(err)
	}
	stop := runService(t, s)
	done, err := s.Start(Spec{Kind: "employees", Rows: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, s, done.ID); st.State != Done {
		t.Fatalf("small job: %+v", st)
	}
	running, err := s.Start(Spec{Kind: "shipments", Rows: MaxRows, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := s.Start(Spec{Kind: "customers", Rows: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for cur, _ := s.Job(running.ID); cur.State != Running; cur, _ = s.Job(running.ID) {
		time.Sleep(2 * time.Millisecond)
	}
	tests := []struct {
		id   string
		want errs.Code
		msg  string
	}{
		{"99", errs.NotFound, "No job 99"},
		{done.ID, errs.Conflict, "Job 3 is done and its file is ready"},
		{running.ID, errs.Conflict, "Job 4 is still running; it needs no second run"},
		{queued.ID, errs.Conflict, "Job 5 is still queued"},
		{"1", errs.Invalid, `Job 1 cannot run again: unknown kind "unicorns"`},
		{"2", errs.Invalid, "Job 2 cannot run again: rows must be between 1 and 20,000,000, not 20,000,001"},
	}
	for _, tt := range tests {
		t.Run("job "+tt.id, func(t *testing.T) {
			if _, err := s.Rerun(tt.id); !errs.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("rerun of job %s: %v, want %v with %q", tt.id, err, tt.want, tt.msg)
			}
		})
	}
	if _, err := s.Cancel(running.ID); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, s, running.ID); st.State != Cancelled {
		t.Fatalf("the cancelled job: %s", st.State)
	}
	again, err := s.Rerun(running.ID) // a cancelled job runs again
	if err != nil || again.RerunOf != running.ID || again.Spec != running.Spec {
		t.Fatalf("rerun of the cancelled job: %+v, %v", again, err)
	}
	stop()
	if n := len(s.Jobs()); n != 6 {
		t.Errorf("%d jobs, want 6 (no refused rerun added one)", n)
	}
}
