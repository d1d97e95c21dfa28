package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/supervisor"
	"github.com/metastation/metastation/app/system"
)

// The foundation's topics and their payloads (app/system, so that the
// analytics can read them typed).
var (
	topicSystemState  = system.TopicState
	topicSystemEvents = system.TopicEvents
)

type (
	SystemState  = system.State
	ServiceEvent = system.ServiceEvent
)

// snapshot reads the current vital signs.
func (s *Server) snapshot() SystemState {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return SystemState{
		Time:       time.Now().UTC(),
		Version:    version(),
		Seed:       s.cfg.Seed,
		UptimeS:    time.Since(s.start).Seconds(),
		Goroutines: runtime.NumGoroutine(),
		HeapBytes:  ms.HeapAlloc,
		SysBytes:   ms.Sys,
		NumGC:      ms.NumGC,
		Bus:        s.bus.Stats(),
		Hub:        s.hub.Stats(),
		Writer:     s.writer.Stats(),
		Healthy:    s.sup.Healthy(),
		Services:   s.sup.Statuses(),
	}
}

// runSystem publishes system.state each second.
func (s *Server) runSystem(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev := s.snapshot()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cur := s.snapshot()
		if dt := cur.Time.Sub(prev.Time).Seconds(); dt > 0 {
			cur.BusPerS = float64(cur.Bus.Published-prev.Bus.Published) / dt
			cur.FramesPerS = float64(cur.Hub.Frames-prev.Hub.Frames) / dt
			cur.WritesPerS = float64(cur.Writer.Committed-prev.Writer.Committed) / dt
		}
		topicSystemState.Publish(s.bus, "system", "", "state", cur)
		prev = cur
	}
}

// serviceChanged publishes a service's new state on system.events the
// moment the supervisor reports it.
func (s *Server) serviceChanged(st supervisor.Status) {
	topicSystemEvents.Publish(s.bus, "supervisor", "", "service",
		ServiceEvent{Service: st.Name, State: st.State, Restarts: st.Restarts, LastError: st.LastError})
}

// runRecorder persists the system's samples and events through the batching
// writer. Losing a sample under overload is acceptable; it never blocks.
// Its subscription is made in NewServer, so that the services' first
// "running" events, published as they start, are recorded too.
func (s *Server) runRecorder(ctx context.Context) error {
	sub := s.recorderSub
	for {
		var e bus.Envelope
		select {
		case <-ctx.Done():
			return nil
		case e = <-sub.C():
		}
		switch p := e.Payload.(type) {
		case SystemState:
			s.writer.TryEnqueue(`INSERT INTO system_samples
				(ts_ms, goroutines, heap_bytes, bus_published, hub_clients, writer_commits)
				VALUES (?, ?, ?, ?, ?, ?)`,
				e.Time.UnixMilli(), p.Goroutines, int64(p.HeapBytes), int64(p.Bus.Published), p.Hub.Clients, int64(p.Writer.Committed))
		default:
			payload, err := json.Marshal(e.Payload)
			if err != nil {
				return fmt.Errorf("recorder: encode %s payload: %w", e.Topic, err)
			}
			s.writer.TryEnqueue(`INSERT INTO events (seq, ts_ms, topic, sender, receiver, kind, payload)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				int64(e.Seq), e.Time.UnixMilli(), e.Topic, e.From, e.To, e.Kind, string(payload))
		}
	}
}

// Health is the body of GET /healthz.
type Health struct {
	Status   string              `json:"status"` // ok, or degraded when a service failed for good
	UptimeS  float64             `json:"uptime_s"`
	Services []supervisor.Status `json:"services"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "ok", UptimeS: time.Since(s.start).Seconds(), Services: s.sup.Statuses()}
	status := http.StatusOK
	if !s.sup.Healthy() {
		h.Status, status = "degraded", http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

func (s *Server) handleSystem(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.snapshot())
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

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	rows, err := s.db.R.QueryContext(r.Context(),
		`SELECT seq, ts_ms, topic, sender, kind, payload FROM events ORDER BY ts_ms DESC, seq DESC LIMIT 50`)
	if err != nil {
		s.log.Error("read events", "err", err)
		writeError(w, r, http.StatusInternalServerError, "The event log could not be read.")
		return
	}
	defer rows.Close()
	out := []EventRow{}
	for rows.Next() {
		var e EventRow
		var payload string
		if err := rows.Scan(&e.Seq, &e.TimeMs, &e.Topic, &e.From, &e.Kind, &payload); err != nil {
			s.log.Error("scan events", "err", err)
			writeError(w, r, http.StatusInternalServerError, "The event log could not be read.")
			return
		}
		e.Payload = json.RawMessage(payload)
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, out)
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
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
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
	rows, err := s.db.R.QueryContext(r.Context(), `SELECT ts_ms, goroutines, heap_bytes, bus_published, hub_clients
		FROM system_samples WHERE ts_ms >= ? ORDER BY ts_ms LIMIT 100000`, since)
	if err != nil {
		s.log.Error("read samples", "err", err)
		writeError(w, r, http.StatusInternalServerError, "The system history could not be read.")
		return
	}
	defer rows.Close()
	out := []Sample{}
	for rows.Next() {
		var x Sample
		if err := rows.Scan(&x.TimeMs, &x.Goroutines, &x.HeapBytes, &x.BusPublished, &x.HubClients); err != nil {
			s.log.Error("scan samples", "err", err)
			writeError(w, r, http.StatusInternalServerError, "The system history could not be read.")
			return
		}
		out = append(out, x)
	}
	writeJSON(w, http.StatusOK, out)
}
