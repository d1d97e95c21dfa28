package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/store"
)

// The multi-agent trainer's HTTP API, used by the Training page's
// "Multi-agent" section (static/js/train_marl.js). Wired in routes.go:
//
//	r.Get("/api/marl/runs", marlRuns(s.marl))                  // every run, newest first
//	r.Post("/api/marl/runs", marlStart(s.marl))                // {"env","algo","episodes","seed","curriculum"}
//	r.Post("/api/marl/runs/{id}/stop", marlStop(s.marl))       // checkpoints, then stops
//	r.Post("/api/marl/runs/{id}/resume", marlResume(s.marl))   // continues from the checkpoint
//	r.Get("/api/marl/runs/{id}/metrics", marlMetrics(s.marl))  // the curve so far and the promotions

// newMARLService builds the multi-agent trainer with its checkpoints under
// cfg.DataDir/marl and loads the runs of earlier sessions.
func newMARLService(ctx context.Context, cfg Config, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*marl.Service, error) {
	svc, err := marl.NewService(marl.ServiceConfig{Dir: filepath.Join(cfg.DataDir, "marl")}, b, w, db, log.With("service", "marl"))
	if err != nil {
		return nil, fmt.Errorf("multi-agent trainer: %w", err)
	}
	if err := svc.Load(ctx); err != nil {
		return nil, fmt.Errorf("multi-agent trainer: %w", err)
	}
	return svc, nil
}

const marlExample = `{"env": "trading-ma", "algo": "vdn", "episodes": 200, "seed": 1, "curriculum": true}`

// marlRuns lists every multi-agent run, newest first.
func marlRuns(svc *marl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, svc.Runs())
	}
}

// marlStart queues a run. Episodes 0 keeps the algorithm's default budget.
func marlStart(svc *marl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Env        string `json:"env"`
			Algo       string `json:"algo"`
			Episodes   int    `json:"episodes"`
			Seed       uint64 `json:"seed"`
			Curriculum bool   `json:"curriculum"`
		}
		if !decodeJSON(w, r, &req, marlExample) {
			return
		}
		req.Env, req.Algo = strings.ToLower(strings.TrimSpace(req.Env)), strings.ToLower(strings.TrimSpace(req.Algo))
		if req.Env == "" || req.Algo == "" {
			writeError(w, r, http.StatusBadRequest, "A multi-agent run needs a world (spread, matrix2, trading-ma, supply or allocation) and an algorithm (qmix, vdn or maddpg).")
			return
		}
		info, err := svc.Start(r.Context(), marl.RunSpec{Env: req.Env, Algo: req.Algo, Episodes: req.Episodes, Seed: req.Seed, Curriculum: req.Curriculum})
		if err != nil {
			marlError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, info)
	}
}

// marlStop asks a queued or running run to stop; a running one checkpoints first.
func marlStop(svc *marl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := rlID(w, r)
		if !ok {
			return
		}
		info, err := svc.Stop(id)
		if err != nil {
			marlError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, info)
	}
}

// marlResume queues a stopped or failed run to continue from its checkpoint.
func marlResume(svc *marl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := rlID(w, r)
		if !ok {
			return
		}
		info, err := svc.Resume(id)
		if err != nil {
			marlError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, info)
	}
}

// marlMetrics returns a run with its learning curve so far (the points
// marl.metrics sends live) and its curriculum promotions.
func marlMetrics(svc *marl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := rlID(w, r)
		if !ok {
			return
		}
		h, err := svc.History(id)
		if err != nil {
			marlError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, h)
	}
}

// marlError answers the multi-agent trainer's errors with their code's
// status and sentence.
func marlError(w http.ResponseWriter, r *http.Request, err error) {
	trainerError(w, r, err, "The multi-agent trainer")
}
