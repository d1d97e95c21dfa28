package app

import (
	"github.com/metastation/metastation/app/cluster"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the application's Prometheus registry: the Go runtime and the
// process, plus Metastation's own counters. Counters already kept by the bus,
// hub and writer are read through CounterFuncs, so there is one count only.
type Metrics struct {
	registry *prometheus.Registry
	restarts *prometheus.CounterVec
	requests *prometheus.CounterVec
}

func newMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		registry: reg,
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastation_service_restarts_total", Help: "Service failures followed by a restart.",
		}, []string{"service"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastation_http_requests_total", Help: "HTTP requests by status code.",
		}, []string{"code"}),
	}
	reg.MustRegister(m.restarts, m.requests)
	return m
}

func (m *Metrics) serviceRestarted(name string) { m.restarts.WithLabelValues(name).Inc() }

// Request counts one answered HTTP request by its status code.
func (m *Metrics) Request(code int) { m.requests.WithLabelValues(strconv.Itoa(code)).Inc() }

// Registry is what /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// register exposes the server's live counters.
func (m *Metrics) register(a *App) {
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.registry.MustRegister(
		counter("metastation_bus_published_total", "Messages published on the bus.", func() float64 { return float64(a.Bus.Stats().Published) }),
		counter("metastation_bus_dropped_total", "Bus messages dropped at a full subscriber.", func() float64 { return float64(a.Bus.Stats().Dropped) }),
		gauge("metastation_hub_clients", "Connected web socket clients.", func() float64 { return float64(a.Hub.Stats().Clients) }),
		counter("metastation_hub_frames_total", "Frames queued to web socket clients.", func() float64 { return float64(a.Hub.Stats().Frames) }),
		counter("metastation_hub_bytes_total", "Bytes written to web socket clients.", func() float64 { return float64(a.Hub.Stats().Bytes) }),
		counter("metastation_hub_slow_disconnects_total", "Clients disconnected for falling behind.", func() float64 { return float64(a.Hub.Stats().SlowKicked) }),
		counter("metastation_hub_bad_messages_total", "Malformed client messages.", func() float64 { return float64(a.Hub.Stats().BadMessages) }),
		counter("metastation_writer_rows_committed_total", "Rows committed by the batching writer.", func() float64 { return float64(a.Writer.Stats().Committed) }),
		counter("metastation_writer_rows_failed_total", "Rows the batching writer could not write.", func() float64 { return float64(a.Writer.Stats().Failed) }),
		counter("metastation_writer_batches_total", "Transactions committed by the batching writer.", func() float64 { return float64(a.Writer.Stats().Batches) }),
		counter("metastation_writer_busy_retries_total", "Batches the batching writer tried again because another process held the write lock.", func() float64 { return float64(a.Writer.Stats().Retries) }),
		gauge("metastation_writer_queued_rows", "Rows waiting in the batching writer.", func() float64 { return float64(a.Writer.Stats().Queued) }),
	)
	if a.Cluster != nil {
		h := func(f func(cluster.Health) float64) func() float64 {
			return func() float64 { return f(a.Cluster.Health()) }
		}
		b := func(v bool) float64 {
			if v {
				return 1
			}
			return 0
		}
		m.registry.MustRegister(
			gauge("metastation_raft_leader", "1 while this node is the raft leader.", h(func(c cluster.Health) float64 { return b(c.Leader) })),
			gauge("metastation_raft_term", "The raft term this node is in.", h(func(c cluster.Health) float64 { return float64(c.Term) })),
			gauge("metastation_raft_commit_index", "The highest log index known committed.", h(func(c cluster.Health) float64 { return float64(c.CommitIndex) })),
			gauge("metastation_raft_applied_index", "The highest log index applied to the state machine.", h(func(c cluster.Health) float64 { return float64(c.AppliedIndex) })),
			gauge("metastation_raft_last_index", "The last index in this node's log.", h(func(c cluster.Health) float64 { return float64(c.LastIndex) })),
			gauge("metastation_raft_last_contact_ms", "Milliseconds since the leader was last heard (0 on the leader, -1 never).", h(func(c cluster.Health) float64 { return c.LastContactMs })),
			gauge("metastation_raft_peers", "Members of the cluster's configuration.", h(func(c cluster.Health) float64 { return float64(len(c.Peers)) })),
			counter("metastation_raft_refused_connections_total", "Node connections refused at the cluster handshake.", h(func(c cluster.Health) float64 { return float64(c.RefusedConns) })),
		)
	}
}
