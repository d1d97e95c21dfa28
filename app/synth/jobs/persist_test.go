package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// runService runs s until the returned stop is called; stop waits for Run
// to return, as a server's shutdown does.
func runService(t *testing.T, s *Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Finished jobs come back after a restart as they were: status, figures,
// reports, file and preview; new jobs are numbered after them.
func TestJobsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	a, err := New(dir, nil, quiet(), 2)
	if err != nil {
		t.Fatal(err)
	}
	stop := runService(t, a)
	fraud, err := a.Start(Spec{Kind: "transactions", Rows: 25_000, Seed: 4, FraudRate: 0.02, Format: "jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	emp, err := a.Start(Spec{Kind: "employees", Rows: 3_000, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := a.Start(Spec{Kind: "customers", Rows: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Cancel(queued.ID); err != nil { // most likely still queued behind the others
		t.Fatal(err)
	}
	fraud, emp = wait(t, a, fraud.ID), wait(t, a, emp.ID)
	wait(t, a, queued.ID)
	if fraud.State != Done || fraud.Detector == nil || fraud.Quality == nil || emp.State != Done {
		t.Fatalf("before the restart: %+v\n%+v", fraud, emp)
	}
	before := a.Jobs()
	previews := map[string]*Preview{}
	files := map[string][]byte{}
	for _, st := range []Status{fraud, emp} {
		p, err := a.Preview(st.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		previews[st.ID] = p
		path, _ := a.Path(st.ID)
		if files[st.ID], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	stop()

	b, err := New(dir, nil, quiet(), 2)
	if err != nil {
		t.Fatal(err)
	}
	after := b.Jobs()
	if got, want := asJSON(t, after), asJSON(t, before); got != want {
		t.Fatalf("jobs after the restart:\n%s\nwant\n%s", got, want)
	}
	for id, want := range previews {
		p, err := b.Preview(id, 50)
		if err != nil {
			t.Fatalf("preview of job %s after the restart: %v", id, err)
		}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("preview of job %s changed across the restart", id)
		}
		path, err := b.Path(id)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, files[id]) {
			t.Errorf("file of job %s changed across the restart (%v)", id, err)
		}
	}
	st, err := b.Start(Spec{Kind: "employees", Rows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != "4" {
		t.Fatalf("first job after the restart is %s, want 4", st.ID)
	}
}

// A job running when the service stops comes back interrupted, with a
// sentence, and nothing of its file is left or served; the job queued
// behind it too.
func TestJobInterruptedByStop(t *testing.T) {
	dir := t.TempDir()
	a, err := New(dir, nil, quiet(), 2)
	if err != nil {
		t.Fatal(err)
	}
	stop := runService(t, a)
	big, err := a.Start(Spec{Kind: "transactions", Rows: MaxRows, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	next, err := a.Start(Spec{Kind: "employees", Rows: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	waitFirstRows(t, a, big.ID)
	stop()
	cur, _ := a.Job(big.ID)
	if cur.State != Interrupted || !strings.Contains(cur.Error, "server stopped while this job was running, after ") {
		t.Fatalf("the running job after the stop: %s %q", cur.State, cur.Error)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"job-1.json", "job-2.json"}) {
		t.Fatalf("files after the stop: %v, want the two manifests only", got)
	}

	b, err := New(dir, nil, quiet(), 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Job(big.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Interrupted || got.Error != cur.Error || got.Rows != cur.Rows || got.File != "" || got.Bytes != 0 {
		t.Fatalf("the interrupted job after the restart: %+v", got)
	}
	if got, _ := b.Job(next.ID); got.State != Interrupted || !strings.HasPrefix(got.Error, "The server stopped before this job started.") {
		t.Fatalf("the queued job after the restart: %s %q", got.State, got.Error)
	}
	if _, err := b.Path(big.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("path of the interrupted job: %v", err)
	}
	if _, err := b.Preview(big.ID, 5); !errs.Is(err, errs.NotFound) {
		t.Fatalf("preview of the interrupted job: %v", err)
	}
	if _, err := b.Cancel(big.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Job(big.ID); got.State != Interrupted {
		t.Fatalf("cancelling an interrupted job made it %s", got.State)
	}
}

func writeTestManifest(t *testing.T, dir string, st Status) {
	t.Helper()
	b, err := json.Marshal(manifest{Version: manifestVersion, Status: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "job-"+st.ID+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeTestFile(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// What a crash leaves behind (no chance to record the end of a job) is
// read back safely: a file renamed into place before its job was recorded
// done is removed, not served; temporary files go; a done job whose file
// changed is no longer done; damaged manifests and unknown files are left
// alone and not listed.
func TestJobsAfterACrash(t *testing.T) {
	dir := t.TempDir()
	csv := "id,name\n1,a\n2,b\n"
	spec := Spec{Kind: "transactions", Rows: 50_000, Seed: 1, FraudRate: 0.015, Format: "csv"}
	writeTestManifest(t, dir, Status{ID: "1", Spec: spec, State: Running, Rows: 50_000})
	writeTestFile(t, dir, "job-1-transactions-1.csv", csv) // complete rows, reports not done
	writeTestFile(t, dir, ".job-1-transactions-1.csv.123.tmp", "id")
	writeTestManifest(t, dir, Status{ID: "2", Spec: spec, State: Running, Rows: 8_192})
	writeTestFile(t, dir, ".job-2-transactions-1.csv.456.tmp", csv)
	writeTestFile(t, dir, ".job-2.json.789.tmp", "{")
	emp := Spec{Kind: "employees", Rows: 2, Format: "csv"}
	writeTestManifest(t, dir, Status{ID: "3", Spec: emp, State: Done, Rows: 2, File: "job-3-employees-0.csv", Bytes: int64(len(csv))})
	writeTestFile(t, dir, "job-3-employees-0.csv", csv)
	writeTestManifest(t, dir, Status{ID: "4", Spec: emp, State: Done, Rows: 2, File: "job-4-employees-0.csv", Bytes: int64(len(csv))})
	writeTestFile(t, dir, "job-4-employees-0.csv", csv[:10]) // cut short
	writeTestManifest(t, dir, Status{ID: "5", Spec: emp, State: Done, Rows: 2, File: "job-5-employees-0.csv", Bytes: int64(len(csv))})
	writeTestManifest(t, dir, Status{ID: "6", Spec: emp, State: Done, Rows: 2, File: "../secret.csv", Bytes: 1})
	writeTestFile(t, dir, "job-7.json", "{")
	writeTestFile(t, dir, "job-7-employees-0.csv", csv)
	writeTestFile(t, dir, "job-9-employees-3.csv", csv) // from before manifests

	s, err := New(dir, nil, quiet(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range s.Jobs() {
		ids = append(ids, st.ID+":"+st.State)
	}
	if want := []string{"5:failed", "4:failed", "3:done", "2:interrupted", "1:interrupted"}; !slices.Equal(ids, want) {
		t.Fatalf("jobs %v, want %v", ids, want)
	}
	if st, _ := s.Job("1"); !strings.Contains(st.Error, "after writing its 50,000 rows and before its reports were done") {
		t.Errorf("job 1: %q", st.Error)
	}
	if st, _ := s.Job("2"); !strings.Contains(st.Error, "after 8,192 of 50,000 rows") {
		t.Errorf("job 2: %q", st.Error)
	}
	if st, _ := s.Job("4"); !strings.Contains(st.Error, "had changed since the job finished") || !strings.Contains(st.Error, "so it was removed") || st.Bytes != 0 || st.Detector != nil || st.Quality != nil {
		t.Errorf("job 4: %q, %d bytes, reports %v %v: want the removal said and no figures of the removed file", st.Error, st.Bytes, st.Detector, st.Quality)
	}
	if st, _ := s.Job("5"); !strings.Contains(st.Error, "is no longer in the data directory") {
		t.Errorf("job 5: %q", st.Error)
	}
	for _, id := range []string{"1", "2", "4", "5"} {
		if _, err := s.Path(id); !errs.Is(err, errs.NotFound) {
			t.Errorf("path of job %s: %v", id, err)
		}
	}
	if p, err := s.Preview("3", 5); err != nil || len(p.Rows) != 2 {
		t.Errorf("preview of job 3: %+v %v", p, err)
	}
	want := []string{"job-1.json", "job-2.json", "job-3-employees-0.csv", "job-3.json", "job-4.json", "job-5.json",
		"job-6.json", "job-7-employees-0.csv", "job-7.json", "job-9-employees-3.csv"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("files after the load:\n%v\nwant\n%v", got, want)
	}
	var m manifest
	if b, err := os.ReadFile(filepath.Join(dir, "job-1.json")); err != nil || json.Unmarshal(b, &m) != nil || m.State != Interrupted {
		t.Errorf("job 1's manifest was not brought up to date: %+v %v", m, err)
	}
	if st, err := s.Start(Spec{Kind: "employees", Rows: 10}); err != nil || st.ID != "10" {
		t.Errorf("next job %+v %v, want id 10", st, err)
	}
}

// The cap on finished jobs holds for manifests as for files: while the
// service runs and when it loads a directory holding more.
func TestJobsPruneManifests(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir, nil, quiet(), 1)
	if err != nil {
		t.Fatal(err)
	}
	s.kept = 2
	stop := runService(t, s)
	var last Status
	for range 4 {
		st, err := s.Start(Spec{Kind: "employees", Rows: 10})
		if err != nil {
			t.Fatal(err)
		}
		last = wait(t, s, st.ID)
	}
	stop()
	if last.ID != "4" || len(s.Jobs()) != 2 {
		t.Fatalf("jobs %+v", s.Jobs())
	}
	if got, want := names(t, dir), []string{"job-3-employees-0.csv", "job-3.json", "job-4-employees-0.csv", "job-4.json"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}

	dir = t.TempDir()
	for i := 1; i <= MaxKept+3; i++ {
		writeTestManifest(t, dir, Status{ID: strings.TrimSpace(thousands(i)), Spec: Spec{Kind: "employees", Rows: 10}, State: Cancelled})
	}
	s, err = New(dir, nil, quiet(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if jobs := s.Jobs(); len(jobs) != MaxKept || jobs[len(jobs)-1].ID != "4" {
		t.Fatalf("%d jobs loaded, the oldest %s; want %d from 4", len(jobs), jobs[len(jobs)-1].ID, MaxKept)
	}
	if got := names(t, dir); len(got) != MaxKept || slices.Contains(got, "job-3.json") {
		t.Fatalf("manifests left %v", got)
	}
}

// A running job's manifest follows its progress, so that a crash (no
// chance to record the end) still comes back saying how far the job got.
func TestJobProgressSavedForACrash(t *testing.T) {
	dir := t.TempDir()
	a, err := New(dir, nil, quiet(), 2)
	if err != nil {
		t.Fatal(err)
	}
	a.saveEvery = 0
	runService(t, a)
	st, err := a.Start(Spec{Kind: "transactions", Rows: MaxRows, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	deadline := time.Now().Add(20 * time.Second)
	for m.Rows == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the manifest of the running job never showed rows: %+v", m.Status)
		}
		time.Sleep(20 * time.Millisecond)
		if b, err := os.ReadFile(filepath.Join(dir, "job-1.json")); err == nil {
			json.Unmarshal(b, &m)
		}
	}
	if m.State != Running {
		t.Fatalf("manifest state %s", m.State)
	}
	// The directory as a crash would leave it: this manifest and a temporary file.
	crash := t.TempDir()
	writeTestManifest(t, crash, m.Status)
	writeTestFile(t, crash, ".job-1-transactions-1.csv.1.tmp", "id,time\n")
	b, err := New(crash, nil, quiet(), 1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := b.Job(st.ID)
	if want := "after " + thousands(m.Rows) + " of 20,000,000 rows"; got.State != Interrupted || !strings.Contains(got.Error, want) {
		t.Fatalf("after the crash: %s %q, want interrupted and %q", got.State, got.Error, want)
	}
	if got := names(t, crash); !slices.Equal(got, []string{"job-1.json"}) {
		t.Fatalf("files after the crash: %v", got)
	}
}

// waitFirstRows waits until job id has written rows.
func waitFirstRows(t *testing.T, s *Service, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for cur, _ := s.Job(id); cur.Rows == 0; cur, _ = s.Job(id) {
		if time.Now().After(deadline) {
			t.Fatalf("job %s wrote no rows", id)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
