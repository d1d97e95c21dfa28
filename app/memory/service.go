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

// ServiceConfig tunes the Service. Zero fields take the defaults.
type ServiceConfig struct {
	ConsolidateEvery time.Duration // default 30s
	StateEvery       time.Duration // default 2s
}

// Service is the memory as the application runs it: it writes the
// tournament's notable decisions and outcomes into the store as they are
// published, and consolidates in the background. Consolidation runs on its
// own goroutine, so a long pass never holds up the bus reader (and the bus
// never waits for either: a full buffer drops, counted).
type Service struct {
	cfg ServiceConfig
	st  *Store
	bus *bus.Bus
	log *slog.Logger
}

// NewService builds the service around st.
func NewService(cfg ServiceConfig, st *Store, b *bus.Bus, log *slog.Logger) (*Service, error) {
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
	return &Service{cfg: cfg, st: st, bus: b, log: log}, nil
}

// Store is the store the service writes to.
func (s *Service) Store() *Store { return s.st }

// Run reads the tournament's topics and consolidates until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	sub := s.bus.Subscribe(4096, TournamentTopics...)
	defer sub.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.consolidateLoop(ctx)
	}()
	defer func() { <-done }()

	w := NewTournamentWatcher(s.st.lastRound())
	state := time.NewTicker(s.cfg.StateEvery)
	defer state.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-state.C:
			TopicState.Publish(s.bus, "memory", "", "state", s.st.Stats())
		case e := <-sub.C():
			mems, err := w.Handle(e)
			if err != nil {
				s.log.Warn("memory: tournament message not understood", "topic", e.Topic, "err", err)
				continue
			}
			for _, m := range mems {
				if _, err := s.st.Write(ctx, m); err != nil && ctx.Err() == nil {
					s.log.Warn("memory: tournament memory not written", "agent", m.Agent, "err", err)
				}
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

// lastRound is the newest round whose results are in the store.
func (s *Store) lastRound() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var last int64
	for i := range s.x.mems {
		m := &s.x.mems[i]
		if m.Source != "tournament.result" {
			continue
		}
		for _, l := range m.Links {
			if n, err := strconv.ParseInt(l.Ref, 10, 64); err == nil && l.Kind == "round" {
				last = max(last, n)
			}
		}
	}
	return last
}
