package hub

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/metastation/metastation/app/bus"
)

type frame struct {
	Type  string         `json:"type"`
	Error string         `json:"error"`
	Msgs  []bus.Envelope `json:"msgs"`
}

// start runs a hub behind a real HTTP server and returns its ws:// URL.
func start(t *testing.T, opts Options) (*Hub, *bus.Bus, string) {
	t.Helper()
	b := bus.New()
	h := New(b, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	ctx, cancel := context.WithCancel(context.Background())
	go h.Run(ctx)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnContext = ConnContext // as app.Start does: the hub sizes send buffers
	srv.Start()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		h.Shutdown(sctx)
		cancel()
		srv.Close()
	})
	return h, b, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string, topics ...string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 24)
	t.Cleanup(func() { c.CloseNow() })
	if f := read(t, c); f.Type != "hello" {
		t.Fatalf("first frame %q, want hello", f.Type)
	}
	if topics != nil {
		send(t, c, map[string]any{"type": "subscribe", "topics": topics})
		if f := read(t, c); f.Type != "subscribed" {
			t.Fatalf("answer to subscribe: %+v, want subscribed", f)
		}
	}
	return c
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return f
}

func TestStreamsEverythingAndCoalescesSnapshots(t *testing.T) {
	_, b, url := start(t, Options{Tick: 100 * time.Millisecond})
	c := dial(t, url, "market.*", "system.state")
	for i := 0; i < 5; i++ {
		b.Publish(bus.Envelope{Topic: "market.trades", Payload: i})
		b.Publish(bus.Envelope{Topic: "system.state", Payload: i})
		b.Publish(bus.Envelope{Topic: "other.topic", Payload: i})
	}
	var trades, states []float64
	for len(trades) < 5 || len(states) < 1 {
		for _, m := range read(t, c).Msgs {
			switch m.Topic {
			case "market.trades":
				trades = append(trades, m.Payload.(float64))
			case "system.state":
				states = append(states, m.Payload.(float64))
			case "other.topic":
				t.Fatal("received a topic it did not subscribe to")
			}
		}
	}
	if len(trades) != 5 || trades[4] != 4 {
		t.Errorf("stream topic: got %v, want all of 0..4 in order", trades)
	}
	if len(states) != 1 || states[0] != 4 {
		t.Errorf("snapshot topic: got %v, want only the latest (4)", states)
	}
}

func TestNewSubscriberGetsLatestSnapshotAtOnce(t *testing.T) {
	_, b, url := start(t, Options{Tick: 20 * time.Millisecond})
	first := dial(t, url, "system.state")
	b.Publish(bus.Envelope{Topic: "system.state", Payload: "v1"})
	if f := read(t, first); len(f.Msgs) != 1 || f.Msgs[0].Payload != "v1" {
		t.Fatalf("first client got %+v", f)
	}
	late := dial(t, url, "system.*")
	f := read(t, late)
	if len(f.Msgs) != 1 || f.Msgs[0].Payload != "v1" {
		t.Fatalf("late subscriber got %+v, want the latest snapshot at once", f)
	}
}

func TestMalformedMessagesGetErrorFrames(t *testing.T) {
	h, _, url := start(t, Options{ReadLimit: 512})
	c := dial(t, url)
	tests := []struct {
		name string
		typ  websocket.MessageType
		msg  string
		want string
	}{
		{"not json", websocket.MessageText, "hello?", "not valid JSON"},
		{"binary", websocket.MessageBinary, "\x00\x01", "JSON text"},
		{"unknown type", websocket.MessageText, `{"type":"launch"}`, "unknown message type"},
		{"bad topic", websocket.MessageText, `{"type":"subscribe","topics":["../etc"]}`, "not a valid topic"},
		{"too many topics", websocket.MessageText, `{"type":"subscribe","topics":[` + strings.Repeat(`"a",`, 64) + `"a"]}`, "at most 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Write(context.Background(), tt.typ, []byte(tt.msg)); err != nil {
				t.Fatal(err)
			}
			f := read(t, c)
			if f.Type != "error" || !strings.Contains(f.Error, tt.want) {
				t.Errorf("%s: got %+v, want an error containing %q", tt.name, f, tt.want)
			}
		})
	}
	// The connection survives all of that.
	send(t, c, map[string]any{"type": "ping", "id": 7})
	if f := read(t, c); f.Type != "pong" {
		t.Fatalf("after bad input, ping got %+v", f)
	}
	if got := h.Stats().BadMessages; got != uint64(len(tests)) {
		t.Errorf("bad messages counted %d, want %d", got, len(tests))
	}

	// An oversized message closes the connection with 1009.
	c.Write(context.Background(), websocket.MessageText, []byte(strings.Repeat("x", 4096)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
				t.Fatalf("oversized message: close %v (%v), want 1009", got, err)
			}
			break
		}
	}
}

func TestSlowClientIsDisconnectedAndOthersKeepUp(t *testing.T) {
	h, b, url := start(t, Options{Tick: 10 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	dial(t, url, "load.data") // the slow client: subscribed, it never reads again
	fast := dial(t, url, "load.data")
	// From here on, slow reads nothing.

	// Enough data to fill the slow client's socket buffers and queue many
	// times over.
	payload := strings.Repeat("p", 64<<10)
	const n, window = 400, 8
	var count atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for count.Load() < n {
			_, data, err := fast.Read(ctx)
			if err != nil {
				return
			}
			count.Add(int64(strings.Count(string(data), `"kind":"load"`)))
		}
	}()
	// The publisher stays at most window messages (512 KB, under 16 frames)
	// ahead of the fast reader, so a busy machine that pauses the reader
	// cannot make it look slow; the slow one falls behind without bound.
	// Publishing at full speed, the fast reader sometimes fell behind
	// itself and was dropped.
	deadline := time.Now().Add(60 * time.Second)
	for i := int64(0); i < n; i++ {
		for count.Load() < i-window {
			select {
			case <-done:
				t.Fatalf("the fast client was dropped after %d of %d messages: %+v", count.Load(), n, h.Stats())
			case <-time.After(time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("the fast client got %d of %d messages in 60 s", count.Load(), n)
			}
		}
		b.Publish(bus.Envelope{Topic: "load.data", Kind: "load", Payload: payload})
	}
	<-done
	if c := count.Load(); c != n {
		t.Fatalf("the fast client got %d of %d messages: %+v", c, n, h.Stats())
	}
	for deadline := time.Now().Add(10 * time.Second); h.Stats().SlowKicked != 1 || h.Stats().Clients != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("slow client not disconnected: %+v", h.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNeverReaderIsDroppedReaderStays: with the default options, a client
// that subscribes and then reads nothing is dropped once its (small) socket
// buffers and its queue are full, well within the deadline, while a client
// that reads gets every message and stays. At 160 KB/s the kernel's own
// send buffer sizing (up to 4 MiB) took over 25 s to fill.
func TestNeverReaderIsDroppedReaderStays(t *testing.T) {
	h, b, url := start(t, Options{})
	never := dial(t, url, "load.data")
	reader := dial(t, url, "load.data")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int64
	go func() {
		for {
			_, data, err := reader.Read(ctx)
			if err != nil {
				return
			}
			got.Add(int64(strings.Count(string(data), `"kind":"load"`)))
		}
	}()
	payload := strings.Repeat("p", 8<<10)
	published := int64(0)
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for h.Stats().SlowKicked == 0 || h.Stats().Clients != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("never-reader not dropped within 20 s (%d messages of 8 KiB published): %+v", published, h.Stats())
		}
		b.Publish(bus.Envelope{Topic: "load.data", Kind: "load", Payload: payload})
		published++
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("never-reader dropped after %v and %d messages of 8 KiB", time.Since(start).Round(time.Millisecond), published)

	// The reader is still served: it gets every message, this one too.
	b.Publish(bus.Envelope{Topic: "load.data", Kind: "load", Payload: payload})
	published++
	for deadline := time.Now().Add(20 * time.Second); got.Load() < published; {
		if time.Now().After(deadline) {
			t.Fatalf("the reader got %d of %d messages", got.Load(), published)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := h.Stats(); s.SlowKicked != 1 || s.Clients != 1 {
		t.Fatalf("after the drop: %+v, want one slow kick and the reader still in", s)
	}
	// The never-reader's side sees its connection end once it drains.
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	for {
		if _, _, err := never.Read(rctx); err != nil {
			if rctx.Err() != nil {
				t.Fatal("the dropped never-reader's connection is still open")
			}
			break
		}
	}
}

func TestForeignOriginRefused(t *testing.T) {
	_, _, url := start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil {
		t.Fatal("a cross-origin socket was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin dial: %v, response %v", err, resp)
	}
}

func TestShutdownSaysGoingAway(t *testing.T) {
	h, _, url := start(t, Options{})
	c := dial(t, url, "x.y")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go h.Shutdown(ctx)
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Fatalf("close %v, want going away", err)
			}
			return
		}
	}
}

// TestUnknownTopicsAreRefused: with its subsystems given, the hub answers a
// subscription outside them with an error frame naming the topic (it used to
// acknowledge it and stay silent); known topics, their wildcards and "*" are
// acknowledged.
func TestUnknownTopicsAreRefused(t *testing.T) {
	_, _, url := start(t, Options{Subsystems: []string{"market", "tournament"}})
	c := dial(t, url)
	tests := []struct {
		name   string
		topics []string
		want   string // "" means subscribed
	}{
		{"exact", []string{"market.state"}, ""},
		{"wildcard", []string{"tournament.*"}, ""},
		{"everything", []string{"*"}, ""},
		{"misspelt", []string{"markte.state"}, `unknown topic "markte.state"`},
		{"one bad of two", []string{"market.state", "weather.state"}, `unknown topic "weather.state"`},
		{"bare unknown wildcard", []string{"weather.*"}, "topics begin with one of market, tournament"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send(t, c, map[string]any{"type": "subscribe", "topics": tt.topics})
			f := read(t, c)
			for f.Type == "snapshot" || f.Type == "batch" { // a subscription's snapshots may follow its ack
				f = read(t, c)
			}
			switch {
			case tt.want == "" && f.Type != "subscribed":
				t.Fatalf("subscribe %v: %+v, want subscribed", tt.topics, f)
			case tt.want != "" && (f.Type != "error" || !strings.Contains(f.Error, tt.want)):
				t.Fatalf("subscribe %v: %+v, want an error containing %q", tt.topics, f, tt.want)
			}
		})
	}
}

// TestAcceptRateRefusesAStorm: past the burst, a new socket is refused with
// 503 and Retry-After before any web socket work, and the sockets already
// in keep working.
func TestAcceptRateRefusesAStorm(t *testing.T) {
	h, b, url := start(t, Options{AcceptRate: 0.001, AcceptBurst: 2})
	first := dial(t, url, "t.x")
	dial(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, nil)
	if err == nil {
		t.Fatal("third socket let in past a burst of 2")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("refusal: %v, response %+v", err, resp)
	}
	if got := h.Stats().Refused; got != 1 {
		t.Fatalf("refused counter %d, want 1", got)
	}
	b.Publish(bus.Envelope{Topic: "t.x", Kind: "k", Payload: 1})
	if f := read(t, first); f.Type != "batch" || len(f.Msgs) != 1 {
		t.Fatalf("connected client after the refusal got %+v", f)
	}
}

// TestLateFanOutShedsNewSockets: after a tick that came late, new sockets
// are refused with 503 and Retry-After for a second, the client already in
// keeps getting its messages, and then sockets are let in again.
func TestLateFanOutShedsNewSockets(t *testing.T) {
	h, b, url := start(t, Options{ShedMinClients: 1})
	in := dial(t, url, "t.x")
	now := time.Now()
	h.noteTick(now.Add(-2*time.Second), now) // a tick 2 s late
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("socket during shedding: %v, response %+v", err, resp)
	}
	if got := h.Stats().Shed; got != 1 {
		t.Fatalf("shed counter %d, want 1", got)
	}
	b.Publish(bus.Envelope{Topic: "t.x", Kind: "k", Payload: 1})
	if f := read(t, in); f.Type != "batch" || len(f.Msgs) != 1 {
		t.Fatalf("connected client while shedding got %+v", f)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, _, err := websocket.Dial(dctx, url, nil)
		dcancel()
		if err == nil {
			c.CloseNow()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused long after the shedding second: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOnTimeTicksDoNotShed: ticks at their period never refuse anyone.
func TestOnTimeTicksDoNotShed(t *testing.T) {
	// No Run: only the ticks given here count.
	h := New(bus.New(), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{ShedMinClients: 1})
	now := time.Now()
	h.noteTick(now.Add(-h.opts.Tick-100*time.Millisecond), now)
	if h.shedUntil.Load() != 0 {
		t.Fatal("a tick 100 ms late started shedding (ShedLag is 500 ms)")
	}
	h.noteTick(now, now.Add(h.opts.Tick+600*time.Millisecond))
	if h.shedUntil.Load() == 0 {
		t.Fatal("a tick 600 ms late did not start shedding")
	}
}
