package app

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/cluster"
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

// Snapshot reads the current vital signs.
func (a *App) Snapshot() SystemState {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return SystemState{
		Time:       time.Now().UTC(),
		Version:    Version(),
		Seed:       a.Config.Seed,
		UptimeS:    time.Since(a.Started).Seconds(),
		Goroutines: runtime.NumGoroutine(),
		HeapBytes:  ms.HeapAlloc,
		SysBytes:   ms.Sys,
		NumGC:      ms.NumGC,
		Bus:        a.Bus.Stats(),
		Hub:        a.Hub.Stats(),
		Writer:     a.Writer.Stats(),
		Healthy:    a.sup.Healthy(),
		Services:   a.sup.Statuses(),
	}
}

// runSystem publishes system.state each second.
func (a *App) runSystem(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev := a.Snapshot()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cur := a.Snapshot()
		if dt := cur.Time.Sub(prev.Time).Seconds(); dt > 0 {
			cur.BusPerS = float64(cur.Bus.Published-prev.Bus.Published) / dt
			cur.FramesPerS = float64(cur.Hub.Frames-prev.Hub.Frames) / dt
			cur.WritesPerS = float64(cur.Writer.Committed-prev.Writer.Committed) / dt
		}
		topicSystemState.Publish(a.Bus, "system", "", "state", cur)
		prev = cur
	}
}

// serviceChanged publishes a service's new state on system.events the
// moment the supervisor reports it.
func (a *App) serviceChanged(st supervisor.Status) {
	topicSystemEvents.Publish(a.Bus, "supervisor", "", "service",
		ServiceEvent{Service: st.Name, State: st.State, Restarts: st.Restarts, LastError: st.LastError})
}

// runRecorder persists the system's samples and events through the batching
// writer. Losing a sample under overload is acceptable; it never blocks.
// Its subscription is made in New, so that the services' first
// "running" events, published as they start, are recorded too.
func (a *App) runRecorder(ctx context.Context) error {
	sub := a.recorderSub
	for {
		var e bus.Envelope
		select {
		case <-ctx.Done():
			return nil
		case e = <-sub.C():
		}
		switch p := e.Payload.(type) {
		case SystemState:
			a.Writer.TryEnqueue(`INSERT INTO system_samples
				(ts_ms, goroutines, heap_bytes, bus_published, hub_clients, writer_commits)
				VALUES (?, ?, ?, ?, ?, ?)`,
				e.Time.UnixMilli(), p.Goroutines, int64(p.HeapBytes), int64(p.Bus.Published), p.Hub.Clients, int64(p.Writer.Committed))
		default:
			payload, err := json.Marshal(e.Payload)
			if err != nil {
				return fmt.Errorf("recorder: encode %s payload: %w", e.Topic, err)
			}
			a.Writer.TryEnqueue(`INSERT INTO events (seq, ts_ms, topic, sender, receiver, kind, payload)
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
	Cluster  *cluster.Health     `json:"cluster,omitempty"` // cluster mode: leader, term, commit and applied index, last contact
}

// Health reports every service's state; Status is "degraded" when one has
// failed for good.
func (a *App) Health() Health {
	h := Health{Status: "ok", UptimeS: time.Since(a.Started).Seconds(), Services: a.sup.Statuses()}
	if !a.sup.Healthy() {
		h.Status = "degraded"
	}
	if a.Cluster != nil {
		ch := a.Cluster.Health()
		h.Cluster = &ch
	}
	return h
}
