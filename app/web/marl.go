package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/metastation/metastation/app/marl"
)

const marlExample = `{"env": "trading-ma", "algo": "vdn", "episodes": 200, "seed": 1, "curriculum": true}`

// marlRuns lists every multi-agent run, newest first.
func marlRuns(svc *marl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, svc.Runs())
	}
}

// marlStart queues a run. Episodes 0 keeps the algorithm's default budget.
// "register": false keeps a trading-world learner out of the model registry.
func marlStart(svc *marl.Service, o optOuts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Env        string `json:"env"`
			Algo       string `json:"algo"`
			Episodes   int    `json:"episodes"`
			Seed       uint64 `json:"seed"`
			Curriculum bool   `json:"curriculum"`
			Register   *bool  `json:"register"`
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
			writeAppError(w, r, err)
			return
		}
		if !optOutAfterStart(w, r, o, "marl", strconv.FormatInt(info.ID, 10), req.Register) {
			return
		}
		writeJSON(w, http.StatusCreated, info)
	}
}

// marlMetrics returns a run with its learning curve so far (the points
// marl.metrics sends live) and its curriculum promotions.
func marlMetrics(svc *marl.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := runID(w, r)
		if !ok {
			return
		}
		h, err := svc.History(id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, h)
	}
}
