package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// client is one browser connection. Its handler goroutine writes; a second
// goroutine reads its commands.
type client struct {
	conn  *websocket.Conn
	queue chan []byte

	group *group // guarded by Hub.mu

	writing atomic.Bool // a write to the socket is under way

	kickOnce sync.Once
	kicked   chan struct{}
	reason   string
}

// kick asks the client's writer to close with reason; true the first time.
// If the writer is stuck in a write to a client that reads nothing, the
// watchdog drops the connection after grace.
func (c *client) kick(reason string, grace time.Duration) bool {
	first := false
	c.kickOnce.Do(func() {
		c.reason = reason
		close(c.kicked)
		// Never close here: CloseNow waits for the writer, and kick is
		// called from the fan-out, which must not wait for anyone.
		time.AfterFunc(grace, func() { c.conn.CloseNow() })
		first = true
	})
	return first
}

// connKey holds the request's network connection in its context.
type connKey struct{}

// ConnContext is for http.Server.ConnContext: it hands each connection to
// the hub, which sizes the send buffer of the ones that become web sockets
// (Options.SendBuffer).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// clientMessage is what a browser may send.
type clientMessage struct {
	Type   string   `json:"type"`
	Topics []string `json:"topics,omitempty"`
	ID     int64    `json:"id,omitempty"`
}

// ServeHTTP upgrades the request to a web socket and serves the client until
// it leaves, falls behind, or the hub shuts down.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.closing.Load() {
		http.Error(w, "The server is shutting down.", http.StatusServiceUnavailable)
		return
	}
	if h.shedding(time.Now()) {
		h.stats.shed.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "The server is running late for the live connections it already has; try again in a second.", http.StatusServiceUnavailable)
		return
	}
	if !h.admit.Allow() {
		h.stats.refused.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, fmt.Sprintf("Too many new live connections (more than %.0f a second); try again in a second.", h.opts.AcceptRate), http.StatusServiceUnavailable)
		return
	}
	// Origin checking stays on: only the page's own origin (and configured
	// patterns) may open a socket, so another site cannot read the feed.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.opts.OriginPatterns})
	if err != nil {
		return // Accept has already written the error response
	}
	if tc, ok := r.Context().Value(connKey{}).(interface{ SetWriteBuffer(int) error }); ok && h.opts.SendBuffer > 0 {
		tc.SetWriteBuffer(h.opts.SendBuffer) // best effort: the default sizing only makes kicks slower
	}
	conn.SetReadLimit(h.opts.ReadLimit)
	c := &client{conn: conn, queue: make(chan []byte, h.opts.ClientQueue), kicked: make(chan struct{})}
	h.add(c)
	defer h.remove(c)

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go h.readLoop(ctx, c)
	h.writeLoop(ctx, c)
}

func (h *Hub) writeLoop(ctx context.Context, c *client) {
	hello := fmt.Appendf(nil, `{"type":"hello","server_time":%d,"tick_ms":%d}`,
		time.Now().UnixMilli(), h.opts.Tick.Milliseconds())
	if err := h.write(ctx, c, hello); err != nil {
		c.conn.CloseNow()
		return
	}
	for {
		select {
		case frame := <-c.queue:
			if err := h.write(ctx, c, frame); err != nil {
				c.conn.CloseNow()
				return
			}
		case <-c.kicked:
			c.conn.Close(closeCode(c.reason), c.reason)
			return
		case <-ctx.Done():
			c.conn.CloseNow()
			return
		}
	}
}

func closeCode(reason string) websocket.StatusCode {
	switch {
	case strings.HasPrefix(reason, "too slow"):
		return websocket.StatusPolicyViolation
	case strings.HasPrefix(reason, "bad message"):
		return websocket.StatusUnsupportedData
	default:
		return websocket.StatusGoingAway
	}
}

// write sends one frame. It deliberately passes a context without a deadline:
// a per-write timer costs more than the write itself at 40,000 frames a
// second, and a client that stops reading is caught instead by its queue
// filling up (kick) and the kick's watchdog.
func (h *Hub) write(_ context.Context, c *client, frame []byte) error {
	c.writing.Store(true)
	err := c.conn.Write(context.Background(), websocket.MessageText, frame)
	c.writing.Store(false)
	if err != nil {
		return err
	}
	h.stats.bytes.Add(uint64(len(frame)))
	return nil
}

// readLoop handles the client's commands. A malformed command gets an error
// frame; too many of them, or an oversized one, close the connection.
func (h *Hub) readLoop(ctx context.Context, c *client) {
	defer c.kick("going away", h.opts.WriteTimeout)
	bad := 0
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				h.stats.badMessages.Add(1)
			}
			return
		}
		replies, err := h.handle(c, typ, data)
		if err != nil {
			h.stats.badMessages.Add(1)
			bad++
			if bad > 10 {
				c.kick("bad message: too many malformed messages", h.opts.WriteTimeout)
				return
			}
			replies = [][]byte{errorFrame(err)}
		}
		for _, reply := range replies {
			select {
			case c.queue <- reply:
			default:
				h.kickSlow(c)
				return
			}
		}
	}
}

func errorFrame(err error) []byte {
	b, _ := json.Marshal(map[string]string{"type": "error", "error": err.Error()})
	return b
}

// handle applies one client command and returns the frames to answer with.
func (h *Hub) handle(c *client, typ websocket.MessageType, data []byte) ([][]byte, error) {
	if typ != websocket.MessageText {
		return nil, errors.New("messages must be JSON text")
	}
	var m clientMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, errors.New("message is not valid JSON")
	}
	switch m.Type {
	case "subscribe":
		if len(m.Topics) > h.opts.MaxTopics {
			return nil, fmt.Errorf("at most %d topics per connection", h.opts.MaxTopics)
		}
		for _, t := range m.Topics {
			if err := validPattern(t); err != nil {
				return nil, err
			}
			if err := h.knownTopic(t); err != nil {
				return nil, err
			}
		}
		topics := dedupe(m.Topics)
		snapshot := h.setSubscriptions(c, topics)
		// The acknowledgement comes first: from it on, every message on these
		// topics reaches the client; the latest snapshots follow at once.
		ack, _ := json.Marshal(map[string]any{"type": "subscribed", "topics": topics})
		if snapshot == nil {
			return [][]byte{ack}, nil
		}
		return [][]byte{ack, snapshot}, nil
	case "ping":
		return [][]byte{fmt.Appendf(nil, `{"type":"pong","id":%d,"server_time":%d}`, m.ID, time.Now().UnixMilli())}, nil
	default:
		return nil, fmt.Errorf("unknown message type %q (expected subscribe or ping)", m.Type)
	}
}

// knownTopic refuses a pattern whose subsystem this server does not have,
// when the hub was told its subsystems. "*" is always known.
func (h *Hub) knownTopic(p string) error {
	if len(h.opts.Subsystems) == 0 || p == "*" {
		return nil
	}
	first, _, _ := strings.Cut(strings.TrimSuffix(p, ".*"), ".")
	if slices.Contains(h.opts.Subsystems, first) {
		return nil
	}
	return fmt.Errorf("unknown topic %q: topics begin with one of %s", p, strings.Join(h.opts.Subsystems, ", "))
}

// validPattern accepts "*", dotted names of [a-z0-9_-], and such a name
// followed by ".*".
func validPattern(p string) error {
	if p == "*" {
		return nil
	}
	name := strings.TrimSuffix(p, ".*")
	if name == "" || len(p) > 100 {
		return fmt.Errorf("topic %q is not a valid topic name", p)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic %q is not a valid topic name", p)
		}
	}
	return nil
}

func dedupe(ts []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Shutdown refuses new clients and closes every connection with "going away"
// so browsers know to reconnect. It returns when they are gone or ctx ends.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.closing.Store(true)
	h.mu.Lock()
	for c := range h.clients {
		c.kick("going away: the server is shutting down", h.opts.WriteTimeout)
	}
	h.mu.Unlock()
	for h.stats.connected.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("hub shutdown: %d clients still connected: %w", h.stats.connected.Load(), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
