// Package supervisor runs Metastation's subsystems as goroutines and keeps
// them running: a service that panics or returns an error is logged with its
// stack and restarted with exponential backoff, and its status is kept for
// /healthz and the page's status bar. A failing service never takes down the
// process.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"
)

// State is where a service is in its life.
type State string

const (
	Starting   State = "starting"
	Running    State = "running"
	Restarting State = "restarting" // waiting out its backoff after a failure
	Failed     State = "failed"     // gave up: too many restarts in a row
	Stopped    State = "stopped"    // returned nil, or the supervisor stopped
)

// Service is a subsystem that runs until ctx ends.
type Service struct {
	Name string
	Run  func(ctx context.Context) error
}

// Status is what the outside world sees of a service.
type Status struct {
	Name      string    `json:"name"`
	State     State     `json:"state"`
	Restarts  int       `json:"restarts"`
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since"`
}

// Options tune the backoff. Zero values take the defaults.
type Options struct {
	MinBackoff  time.Duration // first wait after a failure; default 100ms
	MaxBackoff  time.Duration // longest wait; default 30s
	MaxFailures int           // consecutive failures before Failed; default 0 = never give up
	// Healthy is how long a run must last for the failure count to reset;
	// default 10s.
	Healthy time.Duration
	// OnRestart, when set, is called after each failure (for metrics).
	OnRestart func(name string)
	// OnChange, when set, is called with the new status after every state
	// change, so that watchers hear of a restart the moment it happens.
	OnChange func(Status)
}

func (o *Options) defaults() {
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Healthy <= 0 {
		o.Healthy = 10 * time.Second
	}
}

// Supervisor runs services.
type Supervisor struct {
	log  *slog.Logger
	opts Options

	mu       sync.Mutex
	statuses map[string]*Status
	wg       sync.WaitGroup
}

// New returns a supervisor that logs to log.
func New(log *slog.Logger, opts Options) *Supervisor {
	opts.defaults()
	return &Supervisor{log: log, opts: opts, statuses: map[string]*Status{}}
}

// Start runs svc in its own goroutine until ctx ends. Names must be unique.
func (s *Supervisor) Start(ctx context.Context, svc Service) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.statuses[svc.Name]; dup {
		return fmt.Errorf("supervisor: service %q already started", svc.Name)
	}
	s.statuses[svc.Name] = &Status{Name: svc.Name, State: Starting, Since: time.Now()}
	s.wg.Add(1)
	go s.keep(ctx, svc)
	return nil
}

// Wait blocks until every service has returned (after ctx ends).
func (s *Supervisor) Wait() { s.wg.Wait() }

// Statuses returns a copy of every service's status, sorted by name.
func (s *Supervisor) Statuses() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.statuses))
	for _, st := range s.statuses {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Healthy reports whether no service has failed for good.
func (s *Supervisor) Healthy() bool {
	for _, st := range s.Statuses() {
		if st.State == Failed {
			return false
		}
	}
	return true
}

func (s *Supervisor) set(name string, f func(*Status)) {
	s.mu.Lock()
	st := s.statuses[name]
	f(st)
	snapshot := *st
	s.mu.Unlock()
	if s.opts.OnChange != nil {
		s.opts.OnChange(snapshot)
	}
}

func (s *Supervisor) keep(ctx context.Context, svc Service) {
	defer s.wg.Done()
	failures := 0
	for {
		s.set(svc.Name, func(st *Status) { st.State, st.Since = Running, time.Now() })
		started := time.Now()
		err := runSafely(ctx, svc)
		if ctx.Err() != nil {
			s.set(svc.Name, func(st *Status) { st.State, st.Since = Stopped, time.Now() })
			return
		}
		if err == nil {
			s.log.Info("service finished", "service", svc.Name)
			s.set(svc.Name, func(st *Status) { st.State, st.Since = Stopped, time.Now() })
			return
		}
		if time.Since(started) >= s.opts.Healthy {
			failures = 0
		}
		failures++
		if s.opts.OnRestart != nil {
			s.opts.OnRestart(svc.Name)
		}
		var p *panicError
		if errors.As(err, &p) {
			s.log.Error("service panicked", "service", svc.Name, "panic", p.value, "stack", string(p.stack))
		} else {
			s.log.Error("service failed", "service", svc.Name, "err", err)
		}
		if s.opts.MaxFailures > 0 && failures >= s.opts.MaxFailures {
			s.set(svc.Name, func(st *Status) {
				st.State, st.LastError, st.Since = Failed, err.Error(), time.Now()
			})
			s.log.Error("service gave up", "service", svc.Name, "failures", failures)
			return
		}
		wait := backoff(s.opts.MinBackoff, s.opts.MaxBackoff, failures)
		s.set(svc.Name, func(st *Status) {
			st.State, st.LastError, st.Since = Restarting, err.Error(), time.Now()
			st.Restarts++
		})
		select {
		case <-ctx.Done():
			s.set(svc.Name, func(st *Status) { st.State, st.Since = Stopped, time.Now() })
			return
		case <-time.After(wait):
		}
	}
}

// backoff doubles from min with each consecutive failure, up to max.
func backoff(min, max time.Duration, failures int) time.Duration {
	d := min
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return minDur(d, max)
}

func minDur(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// runSafely turns a panic in svc into an error carrying the stack.
func runSafely(ctx context.Context, svc Service) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return svc.Run(ctx)
}
