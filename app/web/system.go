package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/store"
)

// health answers GET /healthz: 200 while every service runs or restarts,
// 503 once one has failed for good.
func health(state func() app.Health) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := state()
		status := http.StatusOK
		if h.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, h)
	}
}

// systemState answers GET /api/system with the current vital signs.
func systemState(snapshot func() app.SystemState) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, snapshot())
	}
}

// EventRow is one recorded event, as GET /api/events returns it.
type EventRow struct {
	Seq     int64           `json:"seq"`
	TimeMs  int64           `json:"ts_ms"`
	Topic   string          `json:"topic"`
	From    string          `json:"from"`
	Kind    string          `json:"kind"`
	Payload json.RawMessage `json:"payload"`
}

// events answers GET /api/events with the 50 newest recorded events.
func events(db *store.DB, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.R.QueryContext(r.Context(),
			`SELECT seq, ts_ms, topic, sender, kind, payload FROM events ORDER BY ts_ms DESC, seq DESC LIMIT 50`)
		if err != nil {
			log.Error("read events", "err", err)
			writeError(w, r, http.StatusInternalServerError, "The event log could not be read.")
			return
		}
		defer rows.Close()
		out := []EventRow{}
		for rows.Next() {
			var e EventRow
			var payload string
			if err := rows.Scan(&e.Seq, &e.TimeMs, &e.Topic, &e.From, &e.Kind, &payload); err != nil {
				log.Error("scan events", "err", err)
				writeError(w, r, http.StatusInternalServerError, "The event log could not be read.")
				return
			}
			e.Payload = json.RawMessage(payload)
			out = append(out, e)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// Sample is one stored system sample, as GET /api/system/history returns it.
type Sample struct {
	TimeMs       int64 `json:"ts_ms"`
	Goroutines   int   `json:"goroutines"`
	HeapBytes    int64 `json:"heap_bytes"`
	BusPublished int64 `json:"bus_published"`
	HubClients   int   `json:"hub_clients"`
}

// handleHistory returns the stored samples of the last ?seconds= (default
// 120, at most one day), oldest first, so a page can draw its charts at once.
func history(db *store.DB, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		seconds := 120
		if v := r.URL.Query().Get("seconds"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 86400 {
				writeError(w, r, http.StatusBadRequest, "seconds must be a whole number from 1 to 86400.")
				return
			}
			seconds = n
		}
		since := time.Now().Add(-time.Duration(seconds) * time.Second).UnixMilli()
		rows, err := db.R.QueryContext(r.Context(), `SELECT ts_ms, goroutines, heap_bytes, bus_published, hub_clients
		FROM system_samples WHERE ts_ms >= ? ORDER BY ts_ms LIMIT 100000`, since)
		if err != nil {
			log.Error("read samples", "err", err)
			writeError(w, r, http.StatusInternalServerError, "The system history could not be read.")
			return
		}
		defer rows.Close()
		out := []Sample{}
		for rows.Next() {
			var x Sample
			if err := rows.Scan(&x.TimeMs, &x.Goroutines, &x.HeapBytes, &x.BusPublished, &x.HubClients); err != nil {
				log.Error("scan samples", "err", err)
				writeError(w, r, http.StatusInternalServerError, "The system history could not be read.")
				return
			}
			out = append(out, x)
		}
		writeJSON(w, http.StatusOK, out)
	}
}
