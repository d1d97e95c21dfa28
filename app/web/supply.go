package web

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/supply"
)

// The crisis room's API. Crises and rooms are validated by the domain:
// an impossible crisis is a 400 with a sentence and changes nothing.
const (
	supplyRoomExample    = `{"preset": "global", "seed": 1, "coordinated": true, "policies": {"retailer": "sterman"}, "random": 0}`
	supplyCrisisExample  = `{"kind": "port_closure", "lane": "pacific", "delay": 0, "duration": 10, "lead": 3, "capacity": 0}`
	supplyPauseExample   = `{"paused": true}`
	supplyCompareExample = `{"scenario": "port-closure", "seeds": 30}`
)

// supplyState is the room's snapshot: what supply.state sends every period.
func supplyState(svc *supply.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, svc.State())
	}
}

// supplyRoom starts a new room with a preset, a seed, the ordering roles'
// policies, the coordinator on or off and the random-crisis rate.
func supplyRoom(svc *supply.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req supply.RoomConfig
		if !decodeJSON(w, r, &req, supplyRoomExample) {
			return
		}
		st, err := svc.Reset(r.Context(), req)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, st)
	}
}

// supplyInject adds a crisis to the live room (never to its twin).
func supplyInject(svc *supply.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req supply.Injection
		if !decodeJSON(w, r, &req, supplyCrisisExample) {
			return
		}
		c, err := svc.Inject(req, "user")
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, c)
	}
}

// supplyPause pauses or resumes the room.
func supplyPause(svc *supply.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Paused *bool `json:"paused"`
		}
		if !decodeJSON(w, r, &req, supplyPauseExample) {
			return
		}
		if req.Paused == nil {
			writeError(w, r, http.StatusBadRequest, "Say whether the room is paused: send JSON like "+supplyPauseExample+".")
			return
		}
		writeJSON(w, http.StatusOK, svc.SetPaused(*req.Paused))
	}
}

// supplyCompare queues the many-seed comparison of a scenario; its
// progress goes out on supply.progress and its result on supply.state.
func supplyCompare(svc *supply.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Scenario string `json:"scenario"`
			Seeds    int    `json:"seeds"`
		}
		if !decodeJSON(w, r, &req, supplyCompareExample) {
			return
		}
		p, err := svc.StartCompare(req.Scenario, req.Seeds)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, p)
	}
}

// supplyComparisons returns the latest comparison of each scenario.
func supplyComparisons(svc *supply.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := svc.Comparisons()
		if out == nil {
			out = []supply.Comparison{}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// supplyDisruptions returns the recorded disruptions of a room, newest
// first, with their start, end and scope.
func supplyDisruptions(svc *supply.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw := chi.URLParam(r, "id")
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id < 1 {
			writeAppError(w, r, errs.Errorf(errs.Invalid, "a room id is a whole number from 1, not %q", raw))
			return
		}
		out, err := svc.Disruptions(r.Context(), id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if out == nil {
			out = []supply.Crisis{}
		}
		writeJSON(w, http.StatusOK, out)
	}
}
