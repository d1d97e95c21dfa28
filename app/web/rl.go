package web

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/metastation/metastation/app/rl"
)

// rlRuns lists every run, of this session and earlier ones, newest first.
func rlRuns(t *rl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, t.Runs())
	}
}

// rlStart queues a run: {"algo":"ppo","env":"cartpole","steps":100000,"seed":1}.
// Steps 0 keeps the algorithm's default budget.
// "register": false keeps its policy out of the model registry.
func rlStart(t *rl.Service, o optOuts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Algo     string `json:"algo"`
			Env      string `json:"env"`
			Steps    int    `json:"steps"`
			Seed     uint64 `json:"seed"`
			Register *bool  `json:"register"`
			Cluster  bool   `json:"cluster"` // spread the rollouts over the cluster's nodes (PPO)
		}
		if !decodeJSON(w, r, &req, `{"algo": "ppo", "env": "cartpole", "steps": 100000, "seed": 1}`) {
			return
		}
		req.Algo, req.Env = strings.ToLower(strings.TrimSpace(req.Algo)), strings.ToLower(strings.TrimSpace(req.Env))
		if req.Algo == "" || req.Env == "" {
			writeError(w, r, http.StatusBadRequest, "A run needs an algorithm (ppo or sac) and an environment (cartpole, pendulum or trading).")
			return
		}
		info, err := t.Start(r.Context(), rl.RunSpec{Algo: req.Algo, Env: req.Env, Steps: req.Steps, Seed: req.Seed, Cluster: req.Cluster})
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if !optOutAfterStart(w, r, o, "rl", strconv.FormatInt(info.ID, 10), req.Register) {
			return
		}
		writeJSON(w, http.StatusCreated, info)
	}
}

// rlMetrics returns a run's learning curve so far, the same points as
// rl.metrics sends live (each with the returns of the episodes it finished).
func rlMetrics(t *rl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := runID(w, r)
		if !ok {
			return
		}
		if _, err := t.Get(id); err != nil {
			writeAppError(w, r, err)
			return
		}
		pts := t.Metrics(id)
		if pts == nil {
			pts = []rl.RunMetric{}
		}
		writeJSON(w, http.StatusOK, pts)
	}
}

// rlCheckpoint sends a run's latest checkpoint file as a download.
func rlCheckpoint(t *rl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := runID(w, r)
		if !ok {
			return
		}
		path, err := t.CheckpointPath(id)
		if err != nil {
			writeAppError(w, r, err)
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
		if info, err := t.Get(id); err == nil {
			name = fmt.Sprintf("%s-%s-run-%d", info.Spec.Algo, info.Spec.Env, id)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.ckpt"`)
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, name+".ckpt", st.ModTime(), f)
	}
}
