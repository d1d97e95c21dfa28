package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/synth/jobs"
)

// synthTestServer serves the synth API over a jobs service. With run false
// the service never runs its queue, so jobs stay queued.
func synthTestServer(t *testing.T, run bool) (*httptest.Server, *jobs.Service) {
	t.Helper()
	return synthTestServerIn(t, t.TempDir(), run)
}

// synthTestServerIn is synthTestServer over the jobs an earlier service left
// in dir.
func synthTestServerIn(t *testing.T, dir string, run bool) (*httptest.Server, *jobs.Service) {
	t.Helper()
	j, err := jobs.New(dir, bus.New(), slog.New(slog.NewTextHandler(io.Discard, nil)), 2)
	if err != nil {
		t.Fatal(err)
	}
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { j.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	r := chi.NewRouter()
	r.Get("/api/synth/jobs", synthList(j))
	r.Post("/api/synth/jobs", synthStart(j, &memOptOuts{}))
	r.Get("/api/synth/jobs/{id}", synthJob(j))
	r.Delete("/api/synth/jobs/{id}", synthCancel(j))
	r.Post("/api/synth/jobs/{id}/rerun", synthRerun(j))
	r.Get("/api/synth/jobs/{id}/preview", synthPreview(j))
	r.Get("/api/synth/jobs/{id}/file", synthFile(j))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, j
}

func synthDo(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	code, b := httpDo(t, method, srv.URL+path, body)
	return code, string(b)
}

// TestSynthRoutesErrors checks every refusal of the synth API: the status
// and a sentence that says what is wrong.
func TestSynthRoutesErrors(t *testing.T) {
	srv, j := synthTestServer(t, false)
	queued, err := j.Start(jobs.Spec{Kind: "employees", Rows: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if queued.ID != "1" {
		t.Fatalf("first job id %q", queued.ID)
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"empty body", "POST", "/api/synth/jobs", "", 400, "The request body is empty"},
		{"not JSON", "POST", "/api/synth/jobs", "{kind:", 400, "The request body is not valid JSON;"},
		{"two objects", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":10}{}`, 400, "one JSON object"},
		{"unknown field", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":10,"colour":"red"}`, 400, `unknown field \"colour\"`},
		{"no kind", "POST", "/api/synth/jobs", `{"rows":10}`, 400, "The request needs a kind: one of fraud, transactions, customers, merchants, shipments, employees."},
		{"unknown kind", "POST", "/api/synth/jobs", `{"kind":"unicorns","rows":10}`, 400, `There is no kind \"unicorns\"`},
		{"no rows", "POST", "/api/synth/jobs", `{"kind":"fraud"}`, 400, "The request needs a number of rows"},
		{"rows a string", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":"ten"}`, 400, `The field \"rows\" must be a whole number.`},
		{"rows fractional", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":1.5}`, 400, `The field \"rows\" must be a whole number.`},
		{"zero rows", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":0}`, 400, "Rows must be between 1 and 20,000,000, not 0."},
		{"negative rows", "POST", "/api/synth/jobs", `{"kind":"shipments","rows":-5}`, 400, "Rows must be between 1 and 20,000,000, not -5."},
		{"too many rows", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":30000000}`, 400, "Rows must be between 1 and 20,000,000, not 30,000,000; serve --max-rows raises the cap (up to 100,000,000)."},
		{"negative seed", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":10,"seed":-1}`, 400, `The field \"seed\" must be a whole number from 0 up.`},
		{"fraud rate too high", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":10,"fraud_rate":0.5}`, 400, "The fraud rate must be between 0.001 and 0.1 (0.1 % to 10 %), not 0.5."},
		{"fraud rate too low", "POST", "/api/synth/jobs", `{"kind":"transactions","rows":10,"fraud_rate":0.0001}`, 400, "The fraud rate must be between"},
		{"fraud rate on employees", "POST", "/api/synth/jobs", `{"kind":"employees","rows":10,"fraud_rate":0.01}`, 400, "A fraud rate applies to transactions and fraud jobs only, not to employees."},
		{"unknown format", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":10,"format":"xlsx"}`, 400, `There is no format \"xlsx\"; choose csv, jsonl or parquet.`},
		{"parquet for shipments", "POST", "/api/synth/jobs", `{"kind":"shipments","rows":10,"format":"parquet"}`, 400, "Parquet is written for transactions and fraud jobs only"},
		{"no such job", "GET", "/api/synth/jobs/99", "", 404, "No job 99."},
		{"cancel no such job", "DELETE", "/api/synth/jobs/99", "", 404, "No job 99."},
		{"preview no such job", "GET", "/api/synth/jobs/99/preview", "", 404, "No job 99."},
		{"preview n not a number", "GET", "/api/synth/jobs/1/preview?n=lots", "", 400, `The number of preview rows (n) must be a whole number, not \"lots\".`},
		{"preview n zero", "GET", "/api/synth/jobs/1/preview?n=0", "", 400, "A preview takes 1 to 1000 rows, not 0."},
		{"preview n too big", "GET", "/api/synth/jobs/1/preview?n=5000", "", 400, "A preview takes 1 to 1000 rows, not 5000."},
		{"preview of a queued job", "GET", "/api/synth/jobs/1/preview", "", 404, "Job 1 is queued, its file is not ready."},
		{"file of a queued job", "GET", "/api/synth/jobs/1/file", "", 404, "Job 1 is queued, its file is not ready."},
		{"file no such job", "GET", "/api/synth/jobs/99/file", "", 404, "No job 99."},
		{"a job", "GET", "/api/synth/jobs/1", "", 200, `"state": "queued"`},
		{"the list", "GET", "/api/synth/jobs", "", 200, `"kind": "employees"`},
		{"fraud is transactions", "POST", "/api/synth/jobs", `{"kind":"fraud","rows":1000,"seed":3,"fraud_rate":0.02,"format":"parquet"}`, 202, `"kind": "transactions"`},
		{"cancel a queued job", "DELETE", "/api/synth/jobs/1", "", 202, `"state": "cancelled"`},
		{"cancel it again", "DELETE", "/api/synth/jobs/1", "", 409, "Job 1 is already cancelled; there is nothing to cancel."},
		{"file of a cancelled job", "GET", "/api/synth/jobs/1/file", "", 404, "Job 1 is cancelled; it has no file."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := synthDo(t, srv, tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s %s %s: %d %s; want %d and %q", tt.method, tt.path, tt.body, status, body, tt.status, tt.want)
			}
		})
	}
}

// TestSynthRoutesJob runs a small job through the API: start, wait, preview,
// download.
func TestSynthRoutesJob(t *testing.T) {
	srv, _ := synthTestServer(t, true)
	status, body := synthDo(t, srv, "POST", "/api/synth/jobs", `{"kind":"employees","rows":2000,"seed":5,"format":"jsonl"}`)
	if status != 202 {
		t.Fatalf("start: %d %s", status, body)
	}
	var st jobs.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for st.State != jobs.Done {
		if time.Now().After(deadline) || st.State == jobs.Failed || st.State == jobs.Cancelled {
			t.Fatalf("job: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
		_, body = synthDo(t, srv, "GET", "/api/synth/jobs/"+st.ID, "")
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
	}
	status, body = synthDo(t, srv, "GET", "/api/synth/jobs/"+st.ID+"/preview?n=3", "")
	var p jobs.Preview
	if err := json.Unmarshal([]byte(body), &p); status != 200 || err != nil || len(p.Rows) != 3 || len(p.Rows[0]) != len(p.Columns) {
		t.Fatalf("preview: %d %s", status, body)
	}
	resp, err := http.Get(srv.URL + "/api/synth/jobs/" + st.ID + "/file")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	lines := strings.Count(string(data), "\n")
	if resp.StatusCode != 200 || lines != 2000 || int64(len(data)) != st.Bytes ||
		resp.Header.Get("Content-Type") != "application/x-ndjson" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("file: %d, %d lines, %d bytes (status says %d), headers %v", resp.StatusCode, lines, len(data), st.Bytes, resp.Header)
	}
}

// TestSynthRoutesRerun checks POST /api/synth/jobs/{id}/rerun over jobs an
// earlier server left in every state: a failed, cancelled or interrupted
// job runs again as a new job with its settings (202); an unknown job is
// 404; a queued or done one 409; one whose settings no longer pass the
// start's checks 400, each with a sentence.
func TestSynthRoutesRerun(t *testing.T) {
	dir := t.TempDir()
	manifest := func(id, state, spec string) {
		t.Helper()
		b := fmt.Sprintf(`{"version": 1, "id": %q, "state": %q, "spec": %s, "rows": 10}`, id, state, spec)
		if err := os.WriteFile(filepath.Join(dir, "job-"+id+".json"), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fraud := `{"kind": "transactions", "rows": 30000, "seed": 77, "fraud_rate": 0.03, "format": "jsonl"}`
	manifest("1", "failed", fraud)
	manifest("2", "cancelled", `{"kind": "employees", "rows": 500, "seed": 2, "fraud_rate": 0.015, "format": "csv"}`)
	manifest("3", "interrupted", fraud)
	manifest("4", "running", `{"kind": "shipments", "rows": 20000000, "seed": 1, "fraud_rate": 0.015, "format": "csv"}`) // a crash: interrupted
	manifest("5", "failed", `{"kind": "unicorns", "rows": 10, "seed": 1, "format": "csv"}`)
	manifest("6", "interrupted", `{"kind": "customers", "rows": 30000000, "seed": 1, "fraud_rate": 0.015, "format": "csv"}`)
	manifest("7", "interrupted", `{"kind": "shipments", "rows": 10, "seed": 1, "fraud_rate": 0.015, "format": "parquet"}`)
	if err := os.WriteFile(filepath.Join(dir, "job-8-employees-1.csv"), []byte("id\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "job-8.json"), []byte(`{"version": 1, "id": "8", "state": "done", "rows": 1,
		"spec": {"kind": "employees", "rows": 1, "seed": 1, "format": "csv"}, "file": "job-8-employees-1.csv", "bytes": 5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The queue does not run: new jobs stay queued. Job 9 is one.
	srv, j := synthTestServerIn(t, dir, false)
	if _, err := j.Start(jobs.Spec{Kind: "employees", Rows: 10}); err != nil {
		t.Fatal(err)
	}
	rerun := func(id string) string { return "/api/synth/jobs/" + id + "/rerun" }
	tests := []struct {
		name, path string
		status     int
		want       []string
	}{
		{"no such job", rerun("99"), 404, []string{`"error": "No job 99."`}},
		{"not an id", rerun("abc"), 404, []string{`"error": "No job abc."`}},
		{"a queued job", rerun("9"), 409, []string{`"error": "Job 9 is still queued; it needs no second run."`}},
		{"a done job", rerun("8"), 409, []string{`"error": "Job 8 is done and its file is ready; the same settings would give the same data again."`}},
		{"a failed job", rerun("1"), 202, []string{`"id": "10"`, `"rerun_of": "1"`, `"state": "queued"`, `"rows": 30000`, `"seed": 77`, `"fraud_rate": 0.03`, `"format": "jsonl"`}},
		{"a cancelled job", rerun("2"), 202, []string{`"id": "11"`, `"rerun_of": "2"`, `"kind": "employees"`, `"seed": 2`}},
		{"an interrupted job", rerun("3"), 202, []string{`"id": "12"`, `"rerun_of": "3"`, `"seed": 77`}},
		{"the same job again", rerun("3"), 202, []string{`"id": "13"`, `"rerun_of": "3"`}},
		{"a job cut off by a crash", rerun("4"), 202, []string{`"id": "14"`, `"rerun_of": "4"`, `"rows": 20000000`}},
		{"the rerun, still queued", rerun("10"), 409, []string{`"error": "Job 10 is still queued; it needs no second run."`}},
		{"an unknown kind", rerun("5"), 400, []string{`"error": "Job 5 cannot run again: unknown kind \"unicorns\"."`}},
		{"too many rows", rerun("6"), 400, []string{`"error": "Job 6 cannot run again: rows must be between 1 and 20,000,000, not 30,000,000; serve --max-rows raises the cap (up to 100,000,000)."`}},
		{"parquet for shipments", rerun("7"), 400, []string{`"error": "Job 7 cannot run again: parquet is written for transactions only."`}},
		{"GET is not a rerun", rerun("3"), 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.status == 405 {
				method = "GET"
			}
			status, body := synthDo(t, srv, method, tt.path, "")
			if status != tt.status {
				t.Errorf("%s %s: %d %s; want %d", method, tt.path, status, body, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s %s: %d %s; want %q in it", method, tt.path, status, body, w)
				}
			}
		})
	}
	if n := len(j.Jobs()); n != 14 {
		t.Errorf("%d jobs, want 14: 9 and the 5 reruns accepted", n)
	}
	if st, err := j.Job("10"); err != nil || st.Spec != (jobs.Spec{Kind: "transactions", Rows: 30000, Seed: 77, FraudRate: 0.03, Format: "jsonl"}) {
		t.Errorf("the rerun of job 1: %+v, %v", st, err)
	}
}

// TestSynthFraudJobKeepsItsName: a job started as "fraud" is a
// transactions job (with the labels, detector and report) that keeps the
// name the person chose, so the page lists it as "fraud", not
// "transactions".
func TestSynthFraudJobKeepsItsName(t *testing.T) {
	srv, _ := synthTestServer(t, false)
	for _, tc := range []struct{ kind, label string }{{"fraud", "fraud"}, {"transactions", ""}} {
		t.Run(tc.kind, func(t *testing.T) {
			status, body := synthDo(t, srv, "POST", "/api/synth/jobs", `{"kind":"`+tc.kind+`","rows":500,"seed":2}`)
			var st jobs.Status
			if err := json.Unmarshal([]byte(body), &st); status != 202 || err != nil {
				t.Fatalf("start: %d %s", status, body)
			}
			if st.Spec.Kind != "transactions" || st.Spec.Label != tc.label {
				t.Errorf("spec %+v, want kind transactions, label %q", st.Spec, tc.label)
			}
			_, body = synthDo(t, srv, "GET", "/api/synth/jobs/"+st.ID, "")
			if tc.label != "" && !strings.Contains(body, `"label": "fraud"`) && !strings.Contains(body, `"label":"fraud"`) {
				t.Errorf("the job lost its name: %s", body)
			}
		})
	}
}

// TestSynthCancelQueuedJobAtThePruneLimit: cancelling a queued job answers
// with the cancelled job even when that cancel pushes it past the kept
// finished jobs and the prune forgets it at once (it answered 404: the
// handler read the job again after the prune had deleted it).
func TestSynthCancelQueuedJobAtThePruneLimit(t *testing.T) {
	srv, j := synthTestServer(t, false) // no worker: every job stays queued
	j.SetLimits(jobs.Limits{MaxQueued: jobs.MaxKept + 1})
	var ids []string
	for i := range jobs.MaxKept + 1 {
		status, body := synthDo(t, srv, "POST", "/api/synth/jobs", fmt.Sprintf(`{"kind":"employees","rows":10,"seed":%d}`, i+1))
		if status != http.StatusAccepted && status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("start job %d: %d %s", i+1, status, body)
		}
		var st jobs.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	// Newest first, so the oldest is cancelled last, with MaxKept newer
	// finished jobs ahead of it.
	for i := len(ids) - 1; i >= 0; i-- {
		status, body := synthDo(t, srv, "DELETE", "/api/synth/jobs/"+ids[i], "")
		var st jobs.Status
		json.Unmarshal([]byte(body), &st)
		if status != http.StatusAccepted || st.ID != ids[i] || st.State != jobs.Cancelled {
			t.Fatalf("cancel of queued job %s (%d of %d): %d %s, want 202 and the cancelled job", ids[i], len(ids)-i, len(ids), status, body)
		}
	}
}
