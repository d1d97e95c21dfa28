package memory

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/metastation/metastation/app/bus"
)

// The memory's topics on the bus.
var (
	TopicState         = bus.NewTopic[Stats]("memory.state")          // snapshot, every StateEvery
	TopicConsolidation = bus.NewTopic[Report]("memory.consolidation") // one per pass
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
	return &Service{cfg: cfg, st: st, bus: b, log: log, src: sources}, nil
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
			if _, err := s.st.WriteBatch(ctx, mems); err != nil && ctx.Err() == nil {
				s.log.Warn("memory: memories not written", "source", src.Name(), "memories", len(mems), "err", err)
			}
		}
	}
}

func (s *Service) consolidateLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ConsolidateEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rep, err := s.st.Consolidate(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("memory: consolidation", "err", err)
				}
				continue
			}
			TopicConsolidation.Publish(s.bus, "memory", "", "pass", rep)
		}
	}
}

// MaxLinkRef is the largest numeric ref of the links of kind on memories
// written by source: where a feed resumes after a restart (the newest round
// whose results are stored, say).
func (s *Store) MaxLinkRef(source, kind string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var last int64
	for i := range s.x.mems {
		m := &s.x.mems[i]
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
