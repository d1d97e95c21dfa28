// Package bus is Metastation's in-process publish/subscribe: every subsystem
// publishes its events and agent messages here, and the hub, the store and the
// analytics read them from here.
//
// All messages share one envelope, the agent protocol: who sent it, to whom,
// what kind it is, its payload, the time and a sequence number. A cluster mode
// will later replicate exactly these envelopes.
//
// Topics are dotted names, "<subsystem>.<name>" (market.trades, synth.progress).
// Topics whose last element is "state" or "progress" are snapshot topics: a
// reader only needs the latest value, and the hub coalesces them.
//
// Publishing never blocks. Each subscriber has a bounded buffer; when it is
// full the message is dropped for that subscriber and the drop counted.
package bus

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Envelope is one message on the bus.
type Envelope struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Topic   string    `json:"topic"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Kind    string    `json:"kind,omitempty"`
	Payload any       `json:"payload,omitempty"`
}

// IsSnapshotTopic reports whether only the latest message of topic matters.
func IsSnapshotTopic(topic string) bool {
	return strings.HasSuffix(topic, ".state") || strings.HasSuffix(topic, ".progress")
}

// Bus fans envelopes out to subscribers.
type Bus struct {
	now func() time.Time

	seq       atomic.Uint64
	published atomic.Uint64
	dropped   atomic.Uint64

	mu   sync.Mutex
	subs atomic.Pointer[[]*Subscription] // copy-on-write: Publish never takes mu
}

// New returns an empty bus.
func New() *Bus {
	b := &Bus{now: time.Now}
	empty := []*Subscription{}
	b.subs.Store(&empty)
	return b
}

// Publish stamps e with the next sequence number (and the time, when zero) and
// delivers it to every matching subscriber without blocking. It returns the
// stamped envelope.
func (b *Bus) Publish(e Envelope) Envelope {
	e.Seq = b.seq.Add(1)
	if e.Time.IsZero() {
		e.Time = b.now()
	}
	b.published.Add(1)
	for _, s := range *b.subs.Load() {
		if !s.matches(e.Topic) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
			b.dropped.Add(1)
		}
	}
	return e
}

// Subscribe returns a subscription to the topics matching any of patterns: an
// exact topic name, a prefix ending in ".*" (market.*), or "*" for everything.
// buf is the subscriber's buffer; at least 1.
func (b *Bus) Subscribe(buf int, patterns ...string) *Subscription {
	if buf < 1 {
		buf = 1
	}
	s := &Subscription{bus: b, ch: make(chan Envelope, buf), patterns: patterns}
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.subs.Load()
	next := make([]*Subscription, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, s)
	b.subs.Store(&next)
	return s
}

func (b *Bus) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.subs.Load()
	next := make([]*Subscription, 0, len(old))
	for _, o := range old {
		if o != s {
			next = append(next, o)
		}
	}
	b.subs.Store(&next)
}

// Stats are the bus's counters since it was created.
type Stats struct {
	Published   uint64 `json:"published"`
	Dropped     uint64 `json:"dropped"`
	Subscribers int    `json:"subscribers"`
}

// Stats returns the current counters.
func (b *Bus) Stats() Stats {
	return Stats{
		Published:   b.published.Load(),
		Dropped:     b.dropped.Load(),
		Subscribers: len(*b.subs.Load()),
	}
}

// Subscription is one reader of the bus.
type Subscription struct {
	bus      *Bus
	ch       chan Envelope
	patterns []string
	dropped  atomic.Uint64
	once     sync.Once
}

// C is the channel the subscriber reads. It is never closed, so readers select
// on it together with their context.
func (s *Subscription) C() <-chan Envelope { return s.ch }

// Dropped is how many envelopes this subscriber lost to a full buffer.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close detaches the subscription from the bus. It is safe to call twice.
func (s *Subscription) Close() { s.once.Do(func() { s.bus.remove(s) }) }

func (s *Subscription) matches(topic string) bool {
	for _, p := range s.patterns {
		if Match(p, topic) {
			return true
		}
	}
	return false
}

// Match reports whether topic matches pattern: "*" matches all, "a.*" matches
// every topic under "a.", anything else must be equal.
func Match(pattern, topic string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, ".*"):
		return strings.HasPrefix(topic, pattern[:len(pattern)-1])
	default:
		return pattern == topic
	}
}
