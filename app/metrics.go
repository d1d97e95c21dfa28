package app

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics is the application's Prometheus registry: the Go runtime and the
// process, plus Metastation's own counters. Counters already kept by the bus,
// hub and writer are read through CounterFuncs, so there is one count only.
type metrics struct {
	registry *prometheus.Registry
	restarts *prometheus.CounterVec
	requests *prometheus.CounterVec
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{
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

func (m *metrics) serviceRestarted(name string) { m.restarts.WithLabelValues(name).Inc() }
func (m *metrics) request(code int)             { m.requests.WithLabelValues(strconv.Itoa(code)).Inc() }

// register exposes the server's live counters.
func (m *metrics) register(s *Server) {
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.registry.MustRegister(
		counter("metastation_bus_published_total", "Messages published on the bus.", func() float64 { return float64(s.bus.Stats().Published) }),
		counter("metastation_bus_dropped_total", "Bus messages dropped at a full subscriber.", func() float64 { return float64(s.bus.Stats().Dropped) }),
		gauge("metastation_hub_clients", "Connected web socket clients.", func() float64 { return float64(s.hub.Stats().Clients) }),
		counter("metastation_hub_frames_total", "Frames queued to web socket clients.", func() float64 { return float64(s.hub.Stats().Frames) }),
		counter("metastation_hub_bytes_total", "Bytes written to web socket clients.", func() float64 { return float64(s.hub.Stats().Bytes) }),
		counter("metastation_hub_slow_disconnects_total", "Clients disconnected for falling behind.", func() float64 { return float64(s.hub.Stats().SlowKicked) }),
		counter("metastation_hub_bad_messages_total", "Malformed client messages.", func() float64 { return float64(s.hub.Stats().BadMessages) }),
		counter("metastation_writer_rows_committed_total", "Rows committed by the batching writer.", func() float64 { return float64(s.writer.Stats().Committed) }),
		counter("metastation_writer_rows_failed_total", "Rows the batching writer could not write.", func() float64 { return float64(s.writer.Stats().Failed) }),
		counter("metastation_writer_batches_total", "Transactions committed by the batching writer.", func() float64 { return float64(s.writer.Stats().Batches) }),
		gauge("metastation_writer_queued_rows", "Rows waiting in the batching writer.", func() float64 { return float64(s.writer.Stats().Queued) }),
	)
}
