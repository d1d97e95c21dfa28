package web

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/store"
)

func rlTestServer(t *testing.T) (*rl.Service, *httptest.Server) {
	t.Helper()
	tr, err := newTestRL(t, t.TempDir(), bus.New(), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Get("/api/rl/runs", rlRuns(tr))
	r.Post("/api/rl/runs", rlStart(tr, &memOptOuts{}))
	r.Post("/api/rl/runs/{id}/stop", runAction(tr.Stop))
	r.Post("/api/rl/runs/{id}/resume", runAction(tr.Resume))
	r.Get("/api/rl/runs/{id}/metrics", rlMetrics(tr))
	r.Get("/api/rl/runs/{id}/checkpoint", rlCheckpoint(tr))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return tr, srv
}

type rlCase struct {
	method, path, body string
	status             int
	want               string
}

func rlDo(t *testing.T, srv *httptest.Server, tc rlCase) []byte {
	t.Helper()
	code, body := httpDo(t, tc.method, srv.URL+tc.path, tc.body)
	if code != tc.status || !bytes.Contains(body, []byte(tc.want)) {
		t.Errorf("%s %s %s: got %d %s; want %d containing %q", tc.method, tc.path, tc.body, code, body, tc.status, tc.want)
	}
	return body
}

// TestRLRoutes checks the trainer API's answers, its errors above all: each
// is a sentence with the status the error deserves.
func TestRLRoutes(t *testing.T) {
	tr, srv := rlTestServer(t)
	for _, tc := range []rlCase{
		{"GET", "/api/rl/runs", "", 200, `[]`},
		{"POST", "/api/rl/runs", `{"algo":`, 400, "The request body is not valid JSON"},
		{"POST", "/api/rl/runs", `{"algo":"ppo","env":"cartpole","lr":3}`, 400, `unknown field \"lr\"`},
		{"POST", "/api/rl/runs", `{"algo":"ppo","env":"cartpole","seed":-1}`, 400, `The field \"seed\" must be a whole number from 0 up.`},
		{"POST", "/api/rl/runs", `{}`, 400, "A run needs an algorithm (ppo or sac) and an environment"},
		{"POST", "/api/rl/runs", `{"algo":"dqn","env":"cartpole"}`, 400, `Unknown algorithm \"dqn\" (known: ppo, sac).`},
		{"POST", "/api/rl/runs", `{"algo":"ppo","env":"mountaincar"}`, 400, `Unknown environment \"mountaincar\" (known: cartpole, pendulum, trading).`},
		{"POST", "/api/rl/runs", `{"algo":"sac","env":"cartpole"}`, 400, "SAC needs continuous actions and cartpole has discrete ones; use pendulum."},
		{"POST", "/api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":-5}`, 400, "Steps must be between 0 (the default) and 100,000,000, not -5."},
		{"POST", "/api/rl/runs", `{"algo":"PPO","env":"CartPole","steps":2048,"seed":3}`, 201, `"status": "queued"`},
		{"GET", "/api/rl/runs", "", 200, `"algo": "ppo"`},
		{"POST", "/api/rl/runs/1/resume", "", 409, "Run 1 is queued; only a stopped or failed run resumes."},
		{"POST", "/api/rl/runs/abc/stop", "", 400, `A run id is a whole number from 1, not \"abc\".`},
		{"POST", "/api/rl/runs/0/resume", "", 400, "A run id is a whole number from 1"},
		{"POST", "/api/rl/runs/99/stop", "", 404, "There is no run 99."},
		{"POST", "/api/rl/runs/99/resume", "", 404, "There is no run 99."},
		{"GET", "/api/rl/runs/99/metrics", "", 404, "There is no run 99."},
		{"GET", "/api/rl/runs/1/metrics", "", 200, "[]"},
		{"GET", "/api/rl/runs/99/checkpoint", "", 404, "There is no run 99."},
		{"GET", "/api/rl/runs/1/checkpoint", "", 404, "Run 1 has no checkpoint yet."},
		{"POST", "/api/rl/runs/1/stop", "", 202, `"id": 1`},
	} {
		rlDo(t, srv, tc)
	}

	// Now let the trainer run: run 1 was stopped before it started, so it
	// trained nothing and resumes afresh (it used to answer 409 "no
	// checkpoint to resume from"); run 2 trains to its end.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("trainer: %v", err)
		}
	}()
	rlWaitFor(t, "run 1 stopped", func() bool { r, _ := tr.Get(1); return r.Status == "stopped" })
	rlDo(t, srv, rlCase{"GET", "/api/rl/runs", "", 200, `"resumable": true`})
	rlDo(t, srv, rlCase{"POST", "/api/rl/runs/1/resume", "", 202, `"status": "queued"`})
	rlWaitFor(t, "run 1 done", func() bool { r, _ := tr.Get(1); return r.Status == "done" })
	if r, _ := tr.Get(1); r.Steps != 2048 || len(tr.Metrics(1)) != 4 {
		t.Errorf("run 1, resumed afresh, ended at %d steps with %d points; want 2048 and 4", r.Steps, len(tr.Metrics(1)))
	}
	rlDo(t, srv, rlCase{"POST", "/api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":2048,"seed":1}`, 201, `"id": 2`})
	rlWaitFor(t, "run 2 done", func() bool { r, _ := tr.Get(2); return r.Status == "done" })
	rlDo(t, srv, rlCase{"POST", "/api/rl/runs/2/stop", "", 409, "Run 2 is already done."})
	rlDo(t, srv, rlCase{"POST", "/api/rl/runs/2/resume", "", 409, "Run 2 is done; only a stopped or failed run resumes."})

	var pts []rl.RunMetric
	if err := json.Unmarshal(rlDo(t, srv, rlCase{"GET", "/api/rl/runs/2/metrics", "", 200, `"approx_kl"`}), &pts); err != nil {
		t.Fatal(err)
	}
	if len(pts) != 4 || pts[3].Steps != 2048 || len(pts[0].Episodes) == 0 {
		t.Errorf("run 2 has %d points (want 4, one per PPO update of 512 steps): %+v", len(pts), pts)
	}
	resp, err := http.Get(srv.URL + "/api/rl/runs/2/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	ck, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(ck) < 10_000 || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="ppo-cartpole-run-2.ckpt"`) {
		t.Errorf("checkpoint: %d, %d bytes, %q", resp.StatusCode, len(ck), resp.Header.Get("Content-Disposition"))
	}
	path := filepath.Join(t.TempDir(), "download.ckpt")
	if err := os.WriteFile(path, ck, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, spec, err := rl.LoadPolicy(path); err != nil || spec.Algo != "ppo" || spec.Env != "cartpole" {
		t.Errorf("the downloaded checkpoint does not load as a PPO CartPole policy: %+v, %v", spec, err)
	}
}

func rlWaitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRLLoadBounded checks that the curve of a run from an earlier session
// is recorded as live points are: thinned to at most
// rl.DefaultCurvePoints, its last point kept. Its points, stored before
// migration 0032, carry no episode returns.
func TestRLLoadBounded(t *testing.T) {
	ctx := t.Context()
	cfg := app.Config{DataDir: t.TempDir()}
	db, err := store.Open(ctx, filepath.Join(cfg.DataDir, store.FileName), testAssets().Migrations)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 3 * rl.DefaultCurvePoints
	if _, err := tx.ExecContext(ctx, `INSERT INTO rl_runs (id, algo, env, seed, total_steps, status, steps, mean_return, created_at, updated_at)
		VALUES (1, 'ppo', 'cartpole', 1, ?, 'stopped', ?, 50, '2026-11-26T00:00:00Z', '2026-11-26T00:00:00Z')`, n*512*2, n*512); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rl_metrics (run_id, steps, mean_return, episodes, approx_kl) VALUES (1, ?, ?, 4, 0.01)`, i*512, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tr, err := newTestRL(t, cfg.DataDir, bus.New(), nil, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	pts := tr.Metrics(1)
	if len(pts) > rl.DefaultCurvePoints || len(pts) < rl.DefaultCurvePoints/2 || pts[len(pts)-1].Steps != n*512 || pts[len(pts)-1].ApproxKL != 0.01 || pts[0].Episodes != nil {
		t.Errorf("loaded curve: %d points (cap %d), first %+v, last %+v", len(pts), rl.DefaultCurvePoints, pts[0], pts[len(pts)-1])
	}
	if r, err := tr.Get(1); err != nil || r.Status != "stopped" || r.Steps != n*512 || r.Resumable {
		t.Errorf("loaded run: %+v (err %v); want stopped at %d steps, not resumable (no checkpoint)", r, err, n*512)
	}
}
