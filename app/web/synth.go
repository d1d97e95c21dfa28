package web

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/jobs"
	"github.com/metastation/metastation/ui"
)

// The synthetic data API and the Data page. Each function takes the jobs
// service and returns a thin handler: decode and validate, call jobs,
// encode. Wired in routes.go:
//
//	GET    /data                            the Data page
//	GET    /api/synth/jobs                  every job, newest first
//	POST   /api/synth/jobs                  {"kind","rows","seed","fraud_rate","format"} -> 202 and the job
//	GET    /api/synth/jobs/{id}             one job (as on synth.progress)
//	DELETE /api/synth/jobs/{id}             cancel a queued or running job
//	POST   /api/synth/jobs/{id}/rerun       a new job with the settings of a failed, cancelled or interrupted one -> 202
//	GET    /api/synth/jobs/{id}/preview     ?n=20: the first rows of a finished job
//	GET    /api/synth/jobs/{id}/file        download a finished job's file
//
// Jobs outlive a restart of the server (app/synth/jobs keeps a manifest
// beside each file): finished ones come back as they were, and ones that
// were queued or running come back "interrupted", with a sentence in error.
//
// The kind "fraud" is the page's name for a transactions job: every
// transactions job carries the fraud labels, the detector's report and the
// quality report, so the API maps it to "transactions".

// synthKinds are the kinds the page offers, in order.
func synthKinds() []string { return append([]string{"fraud"}, synth.Kinds...) }

// synthDefaultPreview is the number of preview rows without ?n=.
const synthDefaultPreview = 20

// dataPage draws the Data page with its form's limits.
func dataPage(p *pages, j *jobs.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, ui.Data(p.page("Data", "/data"), ui.DataForm{
			Kinds:            synthKinds(),
			MaxRows:          j.Limits().MaxRows,
			DefaultRows:      50_000,
			DefaultFraudRate: synth.DefaultFraudRate * 100,
			MinFraudRate:     synth.MinFraudRate * 100,
			MaxFraudRate:     synth.MaxFraudRate * 100,
		}))
	}
}

// synthList lists every job, newest first.
func synthList(j *jobs.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, j.Jobs())
	}
}

// synthStart validates a job's definition and queues it.
func synthStart(j *jobs.Service, o optOuts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Kind      string   `json:"kind"`
			Rows      *int     `json:"rows"`
			Seed      *uint64  `json:"seed"`
			FraudRate *float64 `json:"fraud_rate"` // a fraction: 0.015 is 1.5 %
			Format    string   `json:"format"`
			Register  *bool    `json:"register"` // false: its fraud detector stays out of the model registry
		}
		if !decodeJSON(w, r, &req, `{"kind": "fraud", "rows": 50000, "seed": 1}`) {
			return
		}
		spec := jobs.Spec{Kind: strings.ToLower(strings.TrimSpace(req.Kind)), Format: strings.ToLower(strings.TrimSpace(req.Format))}
		if spec.Kind == "" {
			writeError(w, r, http.StatusBadRequest, "The request needs a kind: one of "+strings.Join(synthKinds(), ", ")+".")
			return
		}
		if !slices.Contains(synthKinds(), spec.Kind) {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("There is no kind %q; choose one of %s.", req.Kind, strings.Join(synthKinds(), ", ")))
			return
		}
		if spec.Kind == "fraud" {
			spec.Kind, spec.Label = "transactions", "fraud"
		}
		if req.Rows == nil {
			writeError(w, r, http.StatusBadRequest, "The request needs a number of rows, for example {\"rows\": 50000}.")
			return
		}
		if spec.Rows = *req.Rows; jobs.CheckRows(spec.Rows, j.Limits().MaxRows) != nil {
			writeAppError(w, r, jobs.CheckRows(spec.Rows, j.Limits().MaxRows))
			return
		}
		if req.Seed != nil {
			spec.Seed = *req.Seed
		}
		if req.FraudRate != nil {
			rate := *req.FraudRate
			if spec.Kind != "transactions" {
				writeError(w, r, http.StatusBadRequest, fmt.Sprintf("A fraud rate applies to transactions and fraud jobs only, not to %s.", spec.Kind))
				return
			}
			if rate < synth.MinFraudRate || rate > synth.MaxFraudRate {
				writeError(w, r, http.StatusBadRequest, fmt.Sprintf("The fraud rate must be between %g and %g (%.1f %% to %.0f %%), not %g.",
					synth.MinFraudRate, synth.MaxFraudRate, synth.MinFraudRate*100, synth.MaxFraudRate*100, rate))
				return
			}
			spec.FraudRate = rate
		}
		if spec.Format != "" && !slices.Contains([]string{"csv", "jsonl", "parquet"}, spec.Format) {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("There is no format %q; choose csv, jsonl or parquet.", req.Format))
			return
		}
		if spec.Format == "parquet" && spec.Kind != "transactions" {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("Parquet is written for transactions and fraud jobs only; choose csv or jsonl for %s.", spec.Kind))
			return
		}
		st, err := j.Start(spec)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if !optOutAfterStart(w, r, o, "synth", st.ID, req.Register) {
			return
		}
		w.Header().Set("Location", "/api/synth/jobs/"+st.ID)
		writeJSON(w, http.StatusAccepted, st)
	}
}

// synthJob returns one job's status.
func synthJob(j *jobs.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st, err := j.Job(chi.URLParam(r, "id"))
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	}
}

// synthCancel cancels a queued or running job. A finished job cannot be
// cancelled: 409.
func synthCancel(j *jobs.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		st, err := j.Job(id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if st.State != jobs.Queued && st.State != jobs.Running {
			writeError(w, r, http.StatusConflict, fmt.Sprintf("Job %s is already %s; there is nothing to cancel.", id, st.State))
			return
		}
		st, err = j.Cancel(id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, st)
	}
}

// synthRerun starts a new job with the settings of a failed, cancelled or
// interrupted job: the same data, from the start. It takes no body. An
// unknown job is 404; one still queued or running, or done, is 409; a job
// whose settings no longer pass the start's checks (limits, disk space) is
// 400, with the sentence saying why.
func synthRerun(j *jobs.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st, err := j.Rerun(chi.URLParam(r, "id"))
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/synth/jobs/"+st.ID)
		writeJSON(w, http.StatusAccepted, st)
	}
}

// synthPreview returns the first rows of a finished job's file.
func synthPreview(j *jobs.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := synthDefaultPreview
		if v := r.URL.Query().Get("n"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				writeError(w, r, http.StatusBadRequest, fmt.Sprintf("The number of preview rows (n) must be a whole number, not %q.", v))
				return
			}
		}
		if n < 1 || n > jobs.MaxPreview {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("A preview takes 1 to %d rows, not %d.", jobs.MaxPreview, n))
			return
		}
		p, err := j.Preview(chi.URLParam(r, "id"), n)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if p.Rows == nil {
			p.Rows = [][]string{}
		}
		writeJSON(w, http.StatusOK, p)
	}
}

// synthFile serves a finished job's file as a download (ranges supported).
func synthFile(j *jobs.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path, err := j.Path(chi.URLParam(r, "id"))
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			writeError(w, r, http.StatusNotFound, "The job's file is gone; it may have been removed with older jobs.")
			return
		}
		if err != nil {
			writeError(w, r, http.StatusInternalServerError, "The job's file could not be opened.")
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			writeError(w, r, http.StatusInternalServerError, "The job's file could not be read.")
			return
		}
		name := filepath.Base(path)
		w.Header().Set("Content-Type", synthContentType(name))
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, name, fi.ModTime(), f)
	}
}

func synthContentType(name string) string {
	switch filepath.Ext(name) {
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".jsonl":
		return "application/x-ndjson"
	case ".parquet":
		return "application/vnd.apache.parquet"
	}
	return "application/octet-stream"
}

// synthThousands writes n with thousands separators: 20,000,000.
func synthThousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
