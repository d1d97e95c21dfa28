// Package system holds what the foundation publishes about itself on the
// bus: its vital signs each second (system.state) and the services' changes
// of state (system.events). The app fills them in; the hub, the recorder and
// the analytics read them.
package system

import (
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/hub"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/supervisor"
)

// The foundation's topics.
var (
	TopicState  = bus.NewTopic[State]("system.state")
	TopicEvents = bus.NewTopic[ServiceEvent]("system.events")
)

// State is the system's vital signs, published each second on system.state
// and shown on the home page and in the status bar.
type State struct {
	Time       time.Time           `json:"time"`
	Version    string              `json:"version"`
	Seed       int64               `json:"seed"`
	UptimeS    float64             `json:"uptime_s"`
	Goroutines int                 `json:"goroutines"`
	HeapBytes  uint64              `json:"heap_bytes"`
	SysBytes   uint64              `json:"sys_bytes"`
	NumGC      uint32              `json:"num_gc"`
	Bus        bus.Stats           `json:"bus"`
	BusPerS    float64             `json:"bus_per_s"`
	Hub        hub.Stats           `json:"hub"`
	FramesPerS float64             `json:"frames_per_s"`
	Writer     store.WriterStats   `json:"writer"`
	WritesPerS float64             `json:"writes_per_s"`
	Healthy    bool                `json:"healthy"`
	Services   []supervisor.Status `json:"services"`
}

// ServiceEvent reports a service changing state, on system.events.
type ServiceEvent struct {
	Service   string           `json:"service"`
	State     supervisor.State `json:"state"`
	Restarts  int              `json:"restarts"`
	LastError string           `json:"last_error,omitempty"`
}
