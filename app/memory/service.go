package memory

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
)

// The memory's topics on the bus.
var (
	TopicState         = bus.NewTopic[Stats]("memory.state")          // snapshot, every StateEvery
	TopicConsolidation = bus.NewTopic[Report]("memory.consolidation") // one per pass
	TopicMemories      = bus.NewTopic[[]Memory]("memory.memories")    // what was just written, as stored
)

// Source turns one subsystem's bus messages into memories (package feeds
// holds them). The Service calls Handle from one goroutine, in bus order.
type Source interface {
	Name() string
	Topics() []string
	Handle(e bus.Envelope) ([]Memory, error)
}

// ServiceConfig tunes the Service. Zero fields take the defaults.
type ServiceConfig struct {
	ConsolidateEvery time.Duration // default 30s
	StateEvery       time.Duration // default 2s
}

// Service is the memory as the application runs it: it writes what its
// sources (the tournament's notable decisions and outcomes, ...) publish into
// the store, and consolidates in the background. Consolidation runs on its
// own goroutine, so a long pass never holds up the bus reader (and the bus
// never waits for either: a full buffer drops, counted).
type Service struct {
	cfg ServiceConfig
	st  *Store
	bus *bus.Bus
	log *slog.Logger
	src []Source

	trigger chan struct{} // a pass asked for now (ConsolidateNow)
	mu      sync.Mutex
	cs      ConsolidationStatus
}

// ConsolidationStatus is where background consolidation is.
type ConsolidationStatus struct {
	Running   bool      `json:"running"`   // a pass is under way
	Requested bool      `json:"requested"` // a pass was asked for and has not started
	Passes    int       `json:"passes"`    // since the service started
	Next      time.Time `json:"next"`      // when the next scheduled pass starts (wall clock)
	Every     float64   `json:"every_s"`
	Last      *Report   `json:"last,omitempty"`
	LastError string    `json:"last_error,omitempty"`
}

// NewService builds the service around st.
func NewService(cfg ServiceConfig, st *Store, b *bus.Bus, log *slog.Logger, sources ...Source) (*Service, error) {
	if st == nil || b == nil {
		return nil, errors.New("memory service: a store and a bus are required")
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.ConsolidateEvery <= 0 {
		cfg.ConsolidateEvery = 30 * time.Second
	}
	if cfg.StateEvery <= 0 {
		cfg.StateEvery = 2 * time.Second
	}
	return &Service{cfg: cfg, st: st, bus: b, log: log, src: sources, trigger: make(chan struct{}, 1),
		cs: ConsolidationStatus{Every: cfg.ConsolidateEvery.Seconds()}}, nil
}

// Write writes memories from outside the feeds (a user's note, a document)
// and publishes them on memory.memories, as the feeds' are.
func (s *Service) Write(ctx context.Context, ms []Memory) ([]Memory, error) {
	out, err := s.st.WriteBatch(ctx, ms)
	if err != nil {
		return nil, err
	}
	TopicMemories.Publish(s.bus, "memory", "", "written", out)
	return out, nil
}

// ConsolidateNow asks for a pass at once. The pass runs in the background,
// as scheduled ones do; its report comes on memory.consolidation. Asking
// while one is asked for or running is a conflict.
func (s *Service) ConsolidateNow() (ConsolidationStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cs.Running || s.cs.Requested {
		return s.cs, errs.Errorf(errs.Conflict, "a consolidation pass is running already; its report comes when it ends")
	}
	select {
	case s.trigger <- struct{}{}:
		s.cs.Requested = true
	default:
		return s.cs, errs.Errorf(errs.Conflict, "a consolidation pass is asked for already")
	}
	return s.cs, nil
}

// Consolidation returns where background consolidation is.
func (s *Service) Consolidation() ConsolidationStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.cs
	if cs.Last != nil {
		r := *cs.Last
		cs.Last = &r
	}
	return cs
}

// Store is the store the service writes to.
func (s *Service) Store() *Store { return s.st }

// Run feeds the sources' messages into the store and consolidates until ctx
// ends.
func (s *Service) Run(ctx context.Context) error {
	var topics []string
	byTopic := map[string]Source{}
	for _, src := range s.src {
		for _, t := range src.Topics() {
			topics = append(topics, t)
			byTopic[t] = src
		}
	}
	sub := s.bus.Subscribe(4096, topics...)
	defer sub.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.consolidateLoop(ctx)
	}()
	defer func() { <-done }()

	state := time.NewTicker(s.cfg.StateEvery)
	defer state.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-state.C:
			TopicState.Publish(s.bus, "memory", "", "state", s.st.Stats())
		case e := <-sub.C():
			src := byTopic[e.Topic]
			if src == nil {
				continue
			}
			mems, err := src.Handle(e)
			if err != nil {
				s.log.Warn("memory: message not understood", "source", src.Name(), "topic", e.Topic, "err", err)
				continue
			}
			if len(mems) == 0 {
				continue
			}
			if _, err := s.Write(ctx, mems); err != nil && ctx.Err() == nil {
				s.log.Warn("memory: memories not written", "source", src.Name(), "memories", len(mems), "err", err)
			}
		}
	}
}

// consolidateLoop runs a pass every ConsolidateEvery and whenever one is
// asked for, one at a time.
func (s *Service) consolidateLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ConsolidateEvery)
	defer t.Stop()
	s.setNext(time.Now().Add(s.cfg.ConsolidateEvery))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.setNext(time.Now().Add(s.cfg.ConsolidateEvery))
		case <-s.trigger:
		}
		s.consolidateOnce(ctx)
	}
}

func (s *Service) setNext(at time.Time) {
	s.mu.Lock()
	s.cs.Next = at.UTC()
	s.mu.Unlock()
}

func (s *Service) consolidateOnce(ctx context.Context) {
	s.mu.Lock()
	s.cs.Running, s.cs.Requested = true, false
	s.mu.Unlock()
	rep, err := s.st.Consolidate(ctx)
	s.mu.Lock()
	s.cs.Running = false
	if err != nil {
		if ctx.Err() == nil {
			s.cs.LastError = err.Error()
		}
	} else {
		s.cs.Passes++
		s.cs.Last, s.cs.LastError = &rep, ""
	}
	s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("memory: consolidation", "err", err)
		}
		return
	}
	TopicConsolidation.Publish(s.bus, "memory", "", "pass", rep)
}

// MaxLinkRef is the largest numeric ref of the links of kind on memories
// written by source: where a feed resumes after a restart (the newest round
// whose results are stored, say).
func (s *Store) MaxLinkRef(source, kind string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var last int64
	for i := range s.x.mems.len() {
		m := s.x.mems.at(i)
		if m.Source != source {
			continue
		}
		for _, l := range m.Links {
			if n, err := strconv.ParseInt(l.Ref, 10, 64); err == nil && l.Kind == kind {
				last = max(last, n)
			}
		}
	}
	return last
}
