// Package hub fans bus topics out to browsers over one web socket endpoint.
//
// A client subscribes to topics by name. The hub drains the bus every tick
// (about 50 ms), encodes each message once, builds one frame per distinct
// subscription set, and hands the same bytes to every client in that set.
// Snapshot topics (bus.IsSnapshotTopic) coalesce to their latest value within
// a tick, and a new subscriber gets the latest value at once. Each client has
// a bounded queue; a client whose queue is full is too slow to keep up and is
// disconnected with a close reason, so it never slows the others or the
// simulation.
package hub

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/metastation/metastation/app/bus"
)

// Options tune the hub. Zero values take the defaults.
type Options struct {
	Tick         time.Duration // batching period; default 50ms
	ClientQueue  int           // frames queued per client; default 16
	MaxTopics    int           // subscriptions per client; default 64
	MaxPerTopic  int           // stream messages per topic per tick; default 256
	ReadLimit    int64         // largest client message in bytes; default 4096
	WriteTimeout time.Duration // grace for a kicked client to close cleanly; default 5s
	// OriginPatterns are extra allowed origins besides the request's own host
	// (coder/websocket's OriginPatterns). Origin checking always stays on.
	OriginPatterns []string
	// Subsystems, when set, are the first elements of every topic this
	// server publishes ("market", "tournament", …). A subscription to a
	// topic outside them is refused with an error frame that lists them:
	// a misspelt topic used to be acknowledged and then stay silent forever.
	Subsystems []string
	// AcceptRate and AcceptBurst bound new sockets a second across all
	// clients (a token bucket); past them the upgrade is refused with 503
	// and Retry-After before any web socket work is done. A reconnect storm
	// otherwise takes the CPU the connected clients need (bench hostile:
	// 630 connects/s raised their p99 14x). Defaults 300/s and 1,000: the
	// page reconnects with backoff and jitter, so 5,000 tabs come back
	// within about 15 s of a restart.
	AcceptRate  float64
	AcceptBurst float64
	// SendBuffer is the kernel send buffer (SO_SNDBUF) of each web socket's
	// TCP connection, set when the server hands the connection over through
	// ConnContext; negative leaves the kernel's own sizing. Default 256 KiB
	// (the kernel doubles it): plenty for a live feed and its bursts, while
	// the kernel's autotuning grows it to
	// 4 MiB, which a client that never reads fills only after many seconds
	// (bench hostile: none of 200 never-readers was dropped within 10 s),
	// and which the server holds in memory for it meanwhile.
	SendBuffer int
	// ShedLag and ShedMinClients: while the fan-out runs late (a tick
	// came more than ShedLag after the one before it plus Tick, within the
	// last second) and at least ShedMinClients are connected, new sockets
	// are refused with 503 and Retry-After, as past the accept rate. The
	// clients already in come first: each socket let in costs an upgrade, a
	// subscription and two goroutines, taken from their fan-out (bench
	// hostile: the reconnect storm's upgrades were the largest server cost
	// of the attack). With fewer clients there is little to protect, and a
	// server that is merely starting up never refuses. Defaults 500 ms and
	// 500; a negative ShedLag turns this off.
	ShedLag        time.Duration
	ShedMinClients int
}

func (o *Options) defaults() {
	if o.Tick <= 0 {
		o.Tick = 50 * time.Millisecond
	}
	if o.ClientQueue <= 0 {
		o.ClientQueue = 16
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = 64
	}
	if o.MaxPerTopic <= 0 {
		o.MaxPerTopic = 256
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 4096
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.AcceptRate <= 0 {
		o.AcceptRate = 300
	}
	if o.AcceptBurst <= 0 {
		o.AcceptBurst = 1000
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = 256 << 10
	}
	if o.ShedLag == 0 {
		o.ShedLag = 500 * time.Millisecond
	}
	if o.ShedMinClients <= 0 {
		o.ShedMinClients = 500
	}
}

// Hub is the web socket fan-out. It is an http.Handler for /ws and a service
// (Run) that drains the bus.
type Hub struct {
	bus  *bus.Bus
	sub  *bus.Subscription // made in New, so nothing published before Run is lost
	log  *slog.Logger
	opts Options

	mu      sync.Mutex
	groups  map[string]*group // by subscription key
	clients map[*client]struct{}
	latest  map[string][]byte // last encoded message of each snapshot topic

	closing   atomic.Bool
	admit     *rate.Limiter // new sockets across all clients
	shedUntil atomic.Int64  // unix nanoseconds: refuse new sockets until then (the fan-out ran late)

	stats counters
}

type counters struct {
	connected    atomic.Int64
	accepted     atomic.Uint64
	frames       atomic.Uint64 // frames queued to clients
	bytes        atomic.Uint64 // bytes written to clients
	messages     atomic.Uint64 // bus messages sent on (after coalescing)
	coalesced    atomic.Uint64 // snapshot messages replaced within a tick
	capped       atomic.Uint64 // stream messages over MaxPerTopic in a tick
	slowKicked   atomic.Uint64 // clients disconnected for a full queue
	badMessages  atomic.Uint64 // malformed client messages
	refused      atomic.Uint64 // upgrades refused by the accept rate
	shed         atomic.Uint64 // upgrades refused because the fan-out ran late
	lastTickNano atomic.Int64
}

// group is the clients sharing one subscription set; they get the same frame.
type group struct {
	key      string
	patterns []string
	clients  map[*client]struct{}
}

// New returns a hub reading from b.
func New(b *bus.Bus, log *slog.Logger, opts Options) *Hub {
	opts.defaults()
	return &Hub{
		bus:     b,
		sub:     b.Subscribe(1<<15, "*"),
		log:     log,
		opts:    opts,
		groups:  map[string]*group{},
		clients: map[*client]struct{}{},
		latest:  map[string][]byte{},
		admit:   rate.NewLimiter(rate.Limit(opts.AcceptRate), int(opts.AcceptBurst)),
	}
}

// Stats are the hub's counters.
type Stats struct {
	Clients     int64  `json:"clients"`
	Accepted    uint64 `json:"accepted"`
	Frames      uint64 `json:"frames"`
	Bytes       uint64 `json:"bytes"`
	Messages    uint64 `json:"messages"`
	Coalesced   uint64 `json:"coalesced"`
	Capped      uint64 `json:"capped"`
	SlowKicked  uint64 `json:"slow_kicked"`
	BadMessages uint64 `json:"bad_messages"`
	Refused     uint64 `json:"refused"`
	Shed        uint64 `json:"shed"`
	BusDropped  uint64 `json:"bus_dropped"`
	TickMicros  int64  `json:"tick_us"` // how long the last fan-out took
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	s := &h.stats
	return Stats{
		Clients:     s.connected.Load(),
		Accepted:    s.accepted.Load(),
		Frames:      s.frames.Load(),
		Bytes:       s.bytes.Load(),
		Messages:    s.messages.Load(),
		Coalesced:   s.coalesced.Load(),
		Capped:      s.capped.Load(),
		SlowKicked:  s.slowKicked.Load(),
		BadMessages: s.badMessages.Load(),
		Refused:     s.refused.Load(),
		Shed:        s.shed.Load(),
		BusDropped:  h.sub.Dropped(),
		TickMicros:  s.lastTickNano.Load() / 1000,
	}
}

// Run drains the bus every tick and fans the messages out until ctx ends.
// A restarted Run carries on with the same subscription.
func (h *Hub) Run(ctx context.Context) error {
	sub := h.sub
	tick := time.NewTicker(h.opts.Tick)
	defer tick.Stop()
	var pending []bus.Envelope
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-sub.C():
			pending = append(pending, e)
		case <-tick.C:
			now := time.Now()
			h.noteTick(last, now)
			last = now
			// Take everything already waiting, then fan out once.
			for n := len(sub.C()); n > 0; n-- {
				pending = append(pending, <-sub.C())
			}
			if len(pending) > 0 {
				start := time.Now()
				h.fanOut(pending)
				h.stats.lastTickNano.Store(int64(time.Since(start)))
				clear(pending)
				pending = pending[:0]
			}
		}
	}
}

// noteTick starts a second of shedding new sockets when this tick came
// more than ShedLag late: the process is short of CPU for the fan-out.
func (h *Hub) noteTick(prev, now time.Time) {
	if h.opts.ShedLag > 0 && now.Sub(prev)-h.opts.Tick > h.opts.ShedLag {
		h.shedUntil.Store(now.Add(time.Second).UnixNano())
	}
}

// shedding reports whether a new socket is refused to protect the clients
// already in (Options.ShedLag).
func (h *Hub) shedding(now time.Time) bool {
	return now.UnixNano() < h.shedUntil.Load() && h.stats.connected.Load() >= int64(h.opts.ShedMinClients)
}

// encoded is one message ready to go, with the topic it came on.
type encoded struct {
	topic string
	json  []byte
}

// fanOut encodes the tick's messages once and queues one frame per group.
func (h *Hub) fanOut(envs []bus.Envelope) {
	msgs := h.encode(envs)
	if len(msgs) == 0 {
		return
	}
	h.mu.Lock()
	for _, m := range msgs {
		if bus.IsSnapshotTopic(m.topic) {
			h.latest[m.topic] = m.json
		}
	}
	type delivery struct {
		frame   []byte
		clients []*client
	}
	var out []delivery
	for _, g := range h.groups {
		frame := buildFrame(msgs, g.patterns)
		if frame == nil {
			continue
		}
		cs := make([]*client, 0, len(g.clients))
		for c := range g.clients {
			cs = append(cs, c)
		}
		out = append(out, delivery{frame, cs})
	}
	h.mu.Unlock()
	for _, d := range out {
		for _, c := range d.clients {
			h.send(c, d.frame)
		}
	}
}

// encode coalesces snapshot topics to their latest message, caps each stream
// topic, and marshals every surviving envelope exactly once.
func (h *Hub) encode(envs []bus.Envelope) []encoded {
	lastSnap := map[string]int{}
	perTopic := map[string]int{}
	keep := make([]bool, len(envs))
	for i, e := range envs {
		if bus.IsSnapshotTopic(e.Topic) {
			if j, ok := lastSnap[e.Topic]; ok {
				keep[j] = false
				h.stats.coalesced.Add(1)
			}
			lastSnap[e.Topic] = i
			keep[i] = true
			continue
		}
		perTopic[e.Topic]++
		if perTopic[e.Topic] > h.opts.MaxPerTopic {
			h.stats.capped.Add(1)
			continue
		}
		keep[i] = true
	}
	out := make([]encoded, 0, len(envs))
	for i, e := range envs {
		if !keep[i] {
			continue
		}
		b, err := json.Marshal(e)
		if err != nil {
			h.log.Error("hub: cannot encode message", "topic", e.Topic, "err", err)
			continue
		}
		out = append(out, encoded{topic: e.Topic, json: b})
	}
	h.stats.messages.Add(uint64(len(out)))
	return out
}

// buildFrame joins the messages matching patterns into one batch frame, or
// returns nil when none match.
func buildFrame(msgs []encoded, patterns []string) []byte {
	var buf []byte
	for _, m := range msgs {
		if !matchAny(patterns, m.topic) {
			continue
		}
		if buf == nil {
			buf = append(buf, `{"type":"batch","msgs":[`...)
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, m.json...)
	}
	if buf == nil {
		return nil
	}
	return append(buf, "]}"...)
}

func matchAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if bus.Match(p, topic) {
			return true
		}
	}
	return false
}

// subscriptionKey is the canonical name of a set of patterns.
func subscriptionKey(patterns []string) string {
	s := append([]string(nil), patterns...)
	sort.Strings(s)
	return strings.Join(s, "\x00")
}

// setSubscriptions moves c to the group for patterns and returns the latest
// snapshot messages it should see at once.
func (h *Hub) setSubscriptions(c *client, patterns []string) []byte {
	key := subscriptionKey(patterns)
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.group != nil {
		delete(c.group.clients, c)
		if len(c.group.clients) == 0 {
			delete(h.groups, c.group.key)
		}
		c.group = nil
	}
	if len(patterns) == 0 {
		return nil
	}
	g := h.groups[key]
	if g == nil {
		g = &group{key: key, patterns: patterns, clients: map[*client]struct{}{}}
		h.groups[key] = g
	}
	g.clients[c] = struct{}{}
	c.group = g
	var snap []encoded
	for topic, b := range h.latest {
		if matchAny(patterns, topic) {
			snap = append(snap, encoded{topic, b})
		}
	}
	sort.Slice(snap, func(i, j int) bool { return snap[i].topic < snap[j].topic })
	return buildFrame(snap, patterns)
}

func (h *Hub) add(c *client) {
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.stats.connected.Add(1)
	h.stats.accepted.Add(1)
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	if c.group != nil {
		delete(c.group.clients, c)
		if len(c.group.clients) == 0 {
			delete(h.groups, c.group.key)
		}
		c.group = nil
	}
	h.mu.Unlock()
	h.stats.connected.Add(-1)
}

// send queues frame for c without waiting. A full queue means c cannot keep
// up: it is disconnected rather than allowed to hold anyone back.
func (h *Hub) send(c *client, frame []byte) {
	select {
	case c.queue <- frame:
		h.stats.frames.Add(1)
	default:
		h.kickSlow(c)
	}
}

// kickSlow disconnects a client whose queue is full. When its writer is in
// the middle of a write, the socket is full too and no close frame could
// get through: the connection is dropped at once instead of after the
// grace, so a client that never reads is gone about a second after its
// buffers fill.
func (h *Hub) kickSlow(c *client) {
	grace := h.opts.WriteTimeout
	if c.writing.Load() {
		grace = 0
	}
	if c.kick("too slow: the client fell behind the live feed", grace) {
		h.stats.slowKicked.Add(1)
	}
}
