package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
)

// The training runs of app/rl and app/marl share one lifecycle (app/runs),
// so they share the handlers that act on a run.

// runAction answers POST .../runs/{id}/stop or .../resume: act on the run
// the path names (stop: a queued one leaves the queue, a running one
// checkpoints first; resume: a stopped or failed one continues from its
// checkpoint) and answer 202 with the run.
func runAction[I any](act func(id int64) (I, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := runID(w, r)
		if !ok {
			return
		}
		info, err := act(id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, info)
	}
}

// runID reads the run id from the path, answering 400 when it is not one.
func runID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	s := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("A run id is a whole number from 1, not %q.", s))
		return 0, false
	}
	return id, true
}
