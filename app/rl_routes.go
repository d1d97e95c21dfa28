package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/ui"
)

// The trainer's HTTP API and the Training page. Wire them in routes.go:
//
//	r.Get("/train", s.handleTrain)
//	r.Get("/api/rl/runs", rlRuns(t))                          // every run, newest first
//	r.Post("/api/rl/runs", rlStart(t))                        // {"algo","env","steps","seed"}
//	r.Post("/api/rl/runs/{id}/stop", rlStop(t))               // checkpoints, then stops
//	r.Post("/api/rl/runs/{id}/resume", rlResume(t))           // continues from the checkpoint
//	r.Get("/api/rl/runs/{id}/metrics", rlMetrics(t))          // the learning curve so far
//	r.Get("/api/rl/runs/{id}/checkpoint", rlCheckpoint(t))    // the latest checkpoint file

// rlTrainer is the trainer service of app/rl, whose record of each run's
// learning curve (bounded, with the returns of the episodes each point
// finished) lets a page opened in the middle of a run, or after a restart,
// draw it from its start. The curves of earlier sessions come back from
// the database through rl.Service.Load, episode returns included (migration
// 0032; points stored before it have none).
type rlTrainer struct {
	svc *rl.Service
}

// newRLTrainer builds the trainer with its checkpoints under
// cfg.DataDir/rl and loads the runs of earlier sessions and their curves.
func newRLTrainer(ctx context.Context, cfg Config, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*rlTrainer, error) {
	svc, err := rl.NewService(rl.ServiceConfig{Dir: filepath.Join(cfg.DataDir, "rl")}, b, w, db, log.With("service", "rl"))
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	if err := svc.Load(ctx, nil); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	return &rlTrainer{svc: svc}, nil
}

// Run trains queued runs until ctx ends.
func (t *rlTrainer) Run(ctx context.Context) error {
	return t.svc.Run(ctx)
}

// metrics returns a copy of a run's learning curve so far.
func (t *rlTrainer) metrics(id int64) []rl.RunMetric {
	if pts := t.svc.Metrics(id); pts != nil {
		return pts
	}
	return []rl.RunMetric{}
}

func (t *rlTrainer) find(id int64) (rl.RunInfo, bool) {
	for _, r := range t.svc.Runs() {
		if r.ID == id {
			return r, true
		}
	}
	return rl.RunInfo{}, false
}

func (s *Server) handleTrain(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, ui.Train(s.page("Learning", "/train")))
}

// rlRuns lists every run, of this session and earlier ones, newest first.
func rlRuns(t *rlTrainer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, t.svc.Runs())
	}
}

// rlStart queues a run: {"algo":"ppo","env":"cartpole","steps":100000,"seed":1}.
// Steps 0 keeps the algorithm's default budget.
func rlStart(t *rlTrainer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Algo  string `json:"algo"`
			Env   string `json:"env"`
			Steps int    `json:"steps"`
			Seed  uint64 `json:"seed"`
		}
		if !decodeJSON(w, r, &req, `{"algo": "ppo", "env": "cartpole", "steps": 100000, "seed": 1}`) {
			return
		}
		req.Algo, req.Env = strings.ToLower(strings.TrimSpace(req.Algo)), strings.ToLower(strings.TrimSpace(req.Env))
		if req.Algo == "" || req.Env == "" {
			writeError(w, r, http.StatusBadRequest, "A run needs an algorithm (ppo or sac) and an environment (cartpole, pendulum or trading).")
			return
		}
		info, err := t.svc.Start(r.Context(), rl.RunSpec{Algo: req.Algo, Env: req.Env, Steps: req.Steps, Seed: req.Seed})
		if err != nil {
			rlError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, info)
	}
}

// rlStop asks a queued or running run to stop; a running one checkpoints first.
func rlStop(t *rlTrainer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := rlID(w, r)
		if !ok {
			return
		}
		if err := t.svc.Stop(id); err != nil {
			rlError(w, r, err)
			return
		}
		info, _ := t.find(id)
		writeJSON(w, http.StatusAccepted, info)
	}
}

// rlResume queues a stopped or failed run to continue from its checkpoint
// (or afresh when it trained nothing).
func rlResume(t *rlTrainer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := rlID(w, r)
		if !ok {
			return
		}
		info, err := t.svc.Resume(id)
		if err != nil {
			rlError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, info)
	}
}

// rlMetrics returns a run's learning curve so far, the same points as
// rl.metrics sends live (each with the returns of the episodes it finished).
func rlMetrics(t *rlTrainer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := rlID(w, r)
		if !ok {
			return
		}
		if _, ok := t.find(id); !ok {
			writeError(w, r, http.StatusNotFound, fmt.Sprintf("There is no run %d.", id))
			return
		}
		writeJSON(w, http.StatusOK, t.metrics(id))
	}
}

// rlCheckpoint sends a run's latest checkpoint file as a download.
func rlCheckpoint(t *rlTrainer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := rlID(w, r)
		if !ok {
			return
		}
		path, err := t.svc.CheckpointPath(id)
		if err != nil {
			rlError(w, r, err)
			return
		}
		f, err := os.Open(path)
		if err != nil {
			writeError(w, r, http.StatusNotFound, fmt.Sprintf("The checkpoint of run %d cannot be read.", id))
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			writeError(w, r, http.StatusInternalServerError, fmt.Sprintf("The checkpoint of run %d cannot be read.", id))
			return
		}
		name := "run-" + strconv.FormatInt(id, 10)
		if info, ok := t.find(id); ok {
			name = fmt.Sprintf("%s-%s-run-%d", info.Spec.Algo, info.Spec.Env, id)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.ckpt"`)
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, name+".ckpt", st.ModTime(), f)
	}
}

// rlID reads the run id from the path, answering 400 when it is not one.
func rlID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	s := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("A run id is a whole number from 1, not %q.", s))
		return 0, false
	}
	return id, true
}

// rlError answers the trainer's errors with their code's status and
// sentence.
func rlError(w http.ResponseWriter, r *http.Request, err error) {
	trainerError(w, r, err, "The trainer")
}

// trainerError answers an error of a training service (app/rl, app/marl)
// with its code's status and sentence; what names the service in the
// answer to an internal error.
func trainerError(w http.ResponseWriter, r *http.Request, err error, what string) {
	status := map[errs.Code]int{errs.Invalid: http.StatusBadRequest, errs.NotFound: http.StatusNotFound,
		errs.Conflict: http.StatusConflict, errs.Unavailable: http.StatusUnprocessableEntity}[errs.CodeOf(err)]
	if status == 0 {
		writeError(w, r, http.StatusInternalServerError, what+" could not answer: "+err.Error()+".")
		return
	}
	writeError(w, r, status, errs.MessageOf(err))
}
