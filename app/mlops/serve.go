package mlops

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// ServeConfig tunes the server. Zero values take the defaults.
type ServeConfig struct {
	MaxBatch int           // rows per forward pass; default 64
	MaxWait  time.Duration // how long a batch waits for more rows; default 0 (it takes what is queued)
	MaxRows  int           // rows per request; default 1024
	Window   int           // latencies kept per model for the percentiles; default 4096
}

func (c ServeConfig) withDefaults() ServeConfig {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.MaxRows <= 0 {
		c.MaxRows = 1024
	}
	if c.Window <= 0 {
		c.Window = 4096
	}
	return c
}

// worker owns one loaded version: requests queue on jobs and are answered
// in batches by one goroutine, as predictors are not safe for concurrent use.
type worker struct {
	v    Version
	p    Predictor
	jobs chan *job
}

type job struct {
	rows [][]float64
	out  []Prediction
	done chan struct{}
}

// pool keeps the loaded versions.
type pool struct {
	reg  *Registry
	cfg  ServeConfig
	log  *slog.Logger
	quit chan struct{}

	mu      sync.Mutex
	workers map[string]*worker // "model@version"
	loading map[string]chan struct{}
}

func newPool(reg *Registry, cfg ServeConfig, log *slog.Logger) *pool {
	return &pool{reg: reg, cfg: cfg, log: log, quit: make(chan struct{}), workers: map[string]*worker{}, loading: map[string]chan struct{}{}}
}

// get returns the worker of a version, loading it (from its verified
// artifact) on first use. Concurrent first uses load it once.
func (p *pool) get(ctx context.Context, model string, version int) (*worker, error) {
	key := fmt.Sprintf("%s@%d", model, version)
	for {
		p.mu.Lock()
		if w, ok := p.workers[key]; ok {
			p.mu.Unlock()
			return w, nil
		}
		if ch, ok := p.loading[key]; ok {
			p.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		p.loading[key] = ch
		p.mu.Unlock()

		v, pred, err := p.reg.Open(ctx, model, version)
		p.mu.Lock()
		delete(p.loading, key)
		close(ch)
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
		w := &worker{v: v, p: pred, jobs: make(chan *job, 4096)}
		p.workers[key] = w
		p.mu.Unlock()
		go p.serve(w)
		p.log.Info("mlops: model loaded", "model", model, "version", version, "sha256", v.SHA256[:12])
		return w, nil
	}
}

// serve answers w's jobs in batches of up to MaxBatch rows.
func (p *pool) serve(w *worker) {
	var batch []*job
	var rows [][]float64
	for {
		var first *job
		select {
		case first = <-w.jobs:
		case <-p.quit:
			return
		}
		batch, rows = append(batch[:0], first), append(rows[:0], first.rows...)
		var timeout <-chan time.Time
		if p.cfg.MaxWait > 0 {
			timeout = time.After(p.cfg.MaxWait)
		}
	fill:
		for len(rows) < p.cfg.MaxBatch {
			var j *job
			if timeout == nil { // take only what is already queued
				select {
				case j = <-w.jobs:
				default:
					break fill
				}
			} else {
				select {
				case j = <-w.jobs:
				case <-timeout:
					break fill
				case <-p.quit:
					return
				}
			}
			batch, rows = append(batch, j), append(rows, j.rows...)
		}
		out := w.p.Predict(rows)
		k := 0
		for _, j := range batch {
			j.out = out[k : k+len(j.rows)]
			k += len(j.rows)
			close(j.done)
		}
	}
}

// predict queues rows on w and waits for the answer.
func (p *pool) predict(ctx context.Context, w *worker, rows [][]float64) ([]Prediction, error) {
	j := &job{rows: rows, done: make(chan struct{})}
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.quit:
		return nil, errs.Errorf(errs.Unavailable, "the model server is shutting down")
	}
	select {
	case <-j.done:
		return j.out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.quit:
		return nil, errs.Errorf(errs.Unavailable, "the model server is shutting down")
	}
}

func (p *pool) close() { close(p.quit) }

// checkRows validates a request's inputs against the model's input width.
func checkRows(rows [][]float64, dim, maxRows int) error {
	if len(rows) == 0 {
		return errs.Errorf(errs.Invalid, "send at least one input row")
	}
	if len(rows) > maxRows {
		return errs.Errorf(errs.Invalid, "%d input rows in one request; at most %d", len(rows), maxRows)
	}
	for i, r := range rows {
		if len(r) != dim {
			return errs.Errorf(errs.Invalid, "input row %d has %d values; the model takes %d", i, len(r), dim)
		}
		if slices.ContainsFunc(r, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }) {
			return errs.Errorf(errs.Invalid, "input row %d holds a value that is not a finite number", i)
		}
	}
	return nil
}

// latencies is a ring of recent request latencies.
type latencies struct {
	mu   sync.Mutex
	ring []time.Duration
	next int
	n    int64
}

func newLatencies(size int) *latencies { return &latencies{ring: make([]time.Duration, 0, size)} }

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	if len(l.ring) < cap(l.ring) {
		l.ring = append(l.ring, d)
	} else {
		l.ring[l.next] = d
		l.next = (l.next + 1) % len(l.ring)
	}
	l.n++
	l.mu.Unlock()
}

// LatencyStats are percentiles of the recent requests' latencies.
type LatencyStats struct {
	Requests int64   `json:"requests"` // since the start
	Window   int     `json:"window"`   // the latencies the percentiles cover
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
}

func (l *latencies) stats() LatencyStats {
	l.mu.Lock()
	ds := slices.Clone(l.ring)
	n := l.n
	l.mu.Unlock()
	st := LatencyStats{Requests: n, Window: len(ds)}
	if len(ds) > 0 { // no requests yet: zeros, as JSON has no NaN (Window 0 says there are none)
		st.P50us, st.P99us = Percentile(ds, 0.50), Percentile(ds, 0.99)
	}
	return st
}

// Percentile returns the q-quantile of ds in microseconds (nearest rank),
// NaN for none. It sorts ds.
func Percentile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	slices.Sort(ds)
	k := int(math.Ceil(q*float64(len(ds)))) - 1
	return float64(ds[max(0, min(len(ds)-1, k))]) / 1e3
}
