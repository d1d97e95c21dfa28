package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/marl"
)

func marlTestServer(t *testing.T, run bool) (*marl.Service, *httptest.Server) {
	t.Helper()
	svc, err := newTestMARL(t, t.TempDir(), bus.New(), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			svc.Run(ctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
	}
	r := chi.NewRouter()
	r.Get("/api/marl/runs", marlRuns(svc))
	r.Post("/api/marl/runs", marlStart(svc, &memOptOuts{}))
	r.Post("/api/marl/runs/{id}/stop", runAction(svc.Stop))
	r.Post("/api/marl/runs/{id}/resume", runAction(svc.Resume))
	r.Get("/api/marl/runs/{id}/metrics", marlMetrics(svc))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return svc, srv
}

// TestMARLRoutes checks the multi-agent API's answers, its errors above
// all: each is a sentence with the status the error deserves. The service
// does not run, so the started runs stay queued.
func TestMARLRoutes(t *testing.T) {
	_, srv := marlTestServer(t, false)
	for _, tc := range []rlCase{
		{"GET", "/api/marl/runs", "", 200, `[]`},
		{"POST", "/api/marl/runs", `{"env":`, 400, "The request body is not valid JSON; send JSON like {"},
		{"POST", "/api/marl/runs", ``, 400, "The request body is empty"},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"qmix","lr":3}`, 400, `unknown field \"lr\"`},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"qmix","seed":-1}`, 400, `The field \"seed\" must be a whole number from 0 up.`},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"qmix","episodes":"many"}`, 400, `The field \"episodes\" must be a whole number.`},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"qmix","curriculum":"yes"}`, 400, `The field \"curriculum\" must be true or false.`},
		{"POST", "/api/marl/runs", `{}`, 400, "A multi-agent run needs a world (spread, matrix2, trading-ma, supply or allocation) and an algorithm (qmix, vdn or maddpg)."},
		{"POST", "/api/marl/runs", `{"env":"mars","algo":"qmix"}`, 400, `Unknown world \"mars\"; choose spread, matrix2, trading-ma, supply or allocation.`},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"ppo"}`, 400, `Unknown algorithm \"ppo\"; choose qmix, vdn or maddpg.`},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"qmix","episodes":-3}`, 400, "Episodes must not be negative (0 takes the algorithm's default)."},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"qmix","episodes":1000000}`, 400, "A run from the page trains at most 20000 episodes, not 1000000; use metastation train for longer runs."},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"vdn","curriculum":true}`, 400, "The curriculum (calm → volatile → crisis → black_swan) runs on the trading world only: choose trading-ma."},
		{"POST", "/api/marl/runs", `{"env":"trading-ma","algo":"maddpg","curriculum":true}`, 400, "The curriculum trains qmix or vdn, not maddpg."},
		{"POST", "/api/marl/runs", `{"env":"Trading-MA","algo":"VDN","episodes":40,"seed":2,"curriculum":true}`, 201, `"status": "queued"`},
		{"POST", "/api/marl/runs", `{"env":"spread","algo":"maddpg"}`, 201, `"episodes": 4000`},
		{"GET", "/api/marl/runs", "", 200, `"curriculum": true`},
		{"GET", "/api/marl/runs", "", 200, `"names": [`},
		{"POST", "/api/marl/runs/1/resume", "", 409, "Run 1 is queued; only a stopped or failed run resumes."},
		{"POST", "/api/marl/runs/abc/stop", "", 400, `A run id is a whole number from 1, not \"abc\".`},
		{"POST", "/api/marl/runs/0/stop", "", 400, "A run id is a whole number from 1"},
		{"POST", "/api/marl/runs/9/stop", "", 404, "There is no run 9."},
		{"POST", "/api/marl/runs/9/resume", "", 404, "There is no run 9."},
		{"GET", "/api/marl/runs/9/metrics", "", 404, "There is no run 9."},
		{"GET", "/api/marl/runs/1/metrics", "", 200, `"points": []`},
		{"POST", "/api/marl/runs/2/stop", "", 202, `"status": "stopped"`}, // queued: it leaves the queue at once
		{"POST", "/api/marl/runs/2/stop", "", 409, "Run 2 is already stopped."},
		{"POST", "/api/marl/runs/2/resume", "", 202, `"status": "queued"`}, // nothing trained: it starts afresh
	} {
		rlDo(t, srv, tc)
	}
}

// A run started through the API trains, stops with a checkpoint, resumes
// and finishes; its metrics hold one value per agent at every point.
func TestMARLRoutesRunStopResume(t *testing.T) {
	svc, srv := marlTestServer(t, true)
	rlDo(t, srv, rlCase{"POST", "/api/marl/runs", `{"env":"spread","algo":"qmix","episodes":100,"seed":1}`, 201, `"agents": 3`})
	wait := func(what string, ok func(marl.RunInfo) bool) marl.RunInfo {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			r, err := svc.Get(1)
			if err != nil {
				t.Fatal(err)
			}
			if ok(r) {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, r)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("episodes", func(r marl.RunInfo) bool { return r.Episodes >= 5 })
	rlDo(t, srv, rlCase{"POST", "/api/marl/runs/1/stop", "", 202, `"id": 1`})
	stopped := wait("stopped", func(r marl.RunInfo) bool { return r.Status == "stopped" })
	rlDo(t, srv, rlCase{"POST", "/api/marl/runs/1/stop", "", 409, "Run 1 is already stopped."})
	rlDo(t, srv, rlCase{"GET", "/api/marl/runs", "", 200, `"resumable": true`})
	rlDo(t, srv, rlCase{"POST", "/api/marl/runs/1/resume", "", 202, `"status": "queued"`})
	wait("done", func(r marl.RunInfo) bool { return r.Status == "done" })
	body := rlDo(t, srv, rlCase{"GET", "/api/marl/runs/1/metrics", "", 200, `"eval": {`})
	var h marl.History
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Points) == 0 || h.Points[len(h.Points)-1].Episode != 100 {
		t.Fatalf("%d points after stopping at %d", len(h.Points), stopped.Episodes)
	}
	for _, p := range h.Points {
		if len(p.Agents) != 3 {
			t.Fatalf("point %+v has %d agents", p, len(p.Agents))
		}
	}
}
