package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metastation/metastation/app/supervisor"
)

// testAssets are the repository's own static files and migrations, as the
// binary embeds them.
func testAssets() Assets {
	return Assets{Static: os.DirFS("../static"), Migrations: os.DirFS("../migrations")}
}

// testConfig is a server configuration for tests: any free loopback port, a
// temporary data directory, a fixed seed.
func testConfig(t *testing.T) Config {
	return Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Seed: 7, NoBrowser: true, Showcase: true}
}

// startServer runs the real server on a free loopback port with a temporary
// data directory, waits for /healthz, and returns it with its URL.
func startServer(t *testing.T, extra ...supervisor.Service) (*Server, string) {
	t.Helper()
	return startServerWith(t, testConfig(t), nil, extra...)
}

// startServerWith is startServer with a given configuration and a setup
// function that may replace parts of the server before it starts (a faster
// tournament, say).
func startServerWith(t *testing.T, cfg Config, setup func(*Server) error, extra ...supervisor.Service) (*Server, string) {
	t.Helper()
	srv, url, _ := startServerToStop(t, cfg, setup, extra...)
	return srv, url
}

// startServerToStop is startServerWith for a test that stops the server
// itself, to start another on the same data directory: stop shuts it down
// (once; the test's cleanup calls it too).
func startServerToStop(t *testing.T, cfg Config, setup func(*Server) error, extra ...supervisor.Service) (*Server, string, func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := NewServer(context.Background(), cfg, log, testAssets())
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		if err := setup(srv); err != nil {
			t.Fatal(err)
		}
	}
	for _, svc := range extra {
		srv.AddService(svc)
	}
	url, err := srv.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return srv, url, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s never became healthy: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpDo sends one request to url, with body as JSON when there is one,
// and returns the status and the answer's body.
func httpDo(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func getHealth(t *testing.T, url string) Health {
	t.Helper()
	resp, err := http.Get(url + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func serviceState(h Health, name string) supervisor.Status {
	for _, s := range h.Services {
		if s.Name == name {
			return s
		}
	}
	return supervisor.Status{}
}

// panicky is a service that panics once each time trigger is closed and
// replaced; it stands in for any subsystem with a bug.
type panicky struct{ trigger atomic.Pointer[chan struct{}] }

func newPanicky() *panicky {
	p := &panicky{}
	ch := make(chan struct{})
	p.trigger.Store(&ch)
	return p
}

func newPanickyService(p *panicky) supervisor.Service {
	return supervisor.Service{Name: "flaky", Run: p.Run}
}

func (p *panicky) fire() {
	next := make(chan struct{})
	old := p.trigger.Swap(&next)
	close(*old)
}

func (p *panicky) Run(ctx context.Context) error {
	ch := *p.trigger.Load()
	select {
	case <-ctx.Done():
		return nil
	case <-ch:
		panic("injected failure")
	}
}

func TestPanicShowsRestartingInHealthThenRunning(t *testing.T) {
	p := newPanicky()
	_, url := startServer(t, newPanickyService(p))
	if st := serviceState(getHealth(t, url), "flaky"); st.State != supervisor.Running {
		t.Fatalf("before: %+v", st)
	}
	p.fire()
	sawRestarting := false
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := getHealth(t, url)
		st := serviceState(h, "flaky")
		if st.State == supervisor.Restarting {
			sawRestarting = true
			if st.LastError != "panic: injected failure" {
				t.Fatalf("restarting with last error %q", st.LastError)
			}
		}
		if st.State == supervisor.Running && st.Restarts == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flaky never came back: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !sawRestarting {
		t.Log("restart was faster than the polling; the restart count shows it happened")
	}
	// The rest of the server never noticed.
	if h := getHealth(t, url); h.Status != "ok" || serviceState(h, "hub").State != supervisor.Running {
		t.Fatalf("health after the panic: %+v", h)
	}
}

func TestSecurityAndErrors(t *testing.T) {
	_, url := startServer(t)
	tests := []struct {
		name     string
		method   string
		path     string
		header   map[string]string
		body     string
		want     int
		contains string
	}{
		{"home", "GET", "/", nil, "", 200, "Agents at work"},
		{"rebinding host", "GET", "/", map[string]string{"Host": "evil.example:8080"}, "", 403, "only answers requests addressed to localhost"},
		{"localhost host", "GET", "/healthz", map[string]string{"Host": "localhost"}, "", 200, `"status": "ok"`},
		{"cross-site post", "POST", "/api/system", map[string]string{"Sec-Fetch-Site": "cross-site"}, "{}", 403, ""},
		{"unknown page", "GET", "/nope", nil, "", 404, "There is no page at /nope."},
		{"unknown api", "GET", "/api/nope", nil, "", 404, `"error"`},
		{"wrong method", "DELETE", "/healthz", nil, "", 405, "not allowed"},
		{"huge body", "POST", "/api/system", nil, strings.Repeat("x", maxBodyBytes+1), 413, "too large"},
		{"metrics", "GET", "/metrics", nil, "", 200, "metastation_bus_published_total"},
		{"go metrics", "GET", "/metrics", nil, "", 200, "go_goroutines"},
		{"system", "GET", "/api/system", nil, "", 200, `"services"`},
		{"events", "GET", "/api/events", nil, "", 200, "["},
		{"history", "GET", "/api/system/history?seconds=60", nil, "", 200, "["},
		{"bad history", "GET", "/api/system/history?seconds=lots", nil, "", 400, "whole number"},
		{"missing static", "GET", "/static/nope.js", nil, "", 404, "no static file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, url+strings.TrimPrefix(tt.path, "/"), strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.want, body)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Fatalf("body %q does not contain %q", body, tt.contains)
			}
		})
	}
}

func TestStaticCaching(t *testing.T) {
	srv, url := startServer(t)
	versioned := srv.static.URL("js/live.js")
	if !strings.Contains(versioned, "?v=") {
		t.Fatalf("URL %q carries no content hash", versioned)
	}
	resp, err := http.Get(strings.TrimSuffix(url, "/") + versioned)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned URL Cache-Control %q", cc)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", url+"static/js/live.js", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("revalidation: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

func TestEventsArePersisted(t *testing.T) {
	p := newPanicky()
	srv, url := startServer(t, newPanickyService(p))
	p.fire()
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.writer.Flush(context.Background())
		resp, err := http.Get(url + "api/events")
		if err != nil {
			t.Fatal(err)
		}
		var rows []EventRow
		json.NewDecoder(resp.Body).Decode(&rows)
		resp.Body.Close()
		for _, r := range rows {
			if strings.Contains(string(r.Payload), `"restarting"`) && strings.Contains(string(r.Payload), `"flaky"`) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no persisted restart event in %d rows", len(rows))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestListenTakesNextFreePort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	ln, err := listen(busy.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := ln.Addr().(*net.TCPAddr).Port; got <= port || got > port+20 {
		t.Fatalf("busy port %d, listened on %d", port, got)
	}
}

func TestServeConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(Config) bool
	}{
		{"defaults", nil, nil, "", func(c Config) bool { return c.Addr == "127.0.0.1:8080" && c.Seed == 1 && !c.NoBrowser }},
		{"env twins", nil, map[string]string{"METASTATION_SEED": "42", "METASTATION_NO_BROWSER": "1", "METASTATION_DATA": "/tmp/x"}, "",
			func(c Config) bool { return c.Seed == 42 && c.NoBrowser && c.DataDir == "/tmp/x" }},
		{"flag beats env", []string{"--seed", "5"}, map[string]string{"METASTATION_SEED": "42"}, "", func(c Config) bool { return c.Seed == 5 }},
		{"log level", []string{"--log-level", "debug"}, nil, "", func(c Config) bool { return c.LogLevel.String() == "DEBUG" }},
		{"showcase on by default", nil, nil, "", func(c Config) bool { return c.Showcase }},
		{"showcase off", nil, map[string]string{"METASTATION_SHOWCASE": "false"}, "", func(c Config) bool { return !c.Showcase }},
		{"bad level", []string{"--log-level", "loud"}, nil, "use debug, info", nil},
		{"bad env", nil, map[string]string{"METASTATION_SEED": "many"}, "METASTATION_SEED", nil},
		{"public addr", []string{"--addr", "0.0.0.0:80"}, nil, "not a loopback address", nil},
		{"junk addr", []string{"--addr", "nonsense"}, nil, "not host:port", nil},
		{"stray arg", []string{"extra"}, nil, "unexpected argument", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeConfig(tt.args, env(tt.env), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ExitCode(err) != 2 {
					t.Fatalf("err %v, want usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(cfg) {
				t.Fatalf("cfg %+v, err %v", cfg, err)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	var out strings.Builder
	run := func(args ...string) error {
		out.Reset()
		return Main(context.Background(), args, func(string) string { return "" }, &out, io.Discard, testAssets())
	}
	if err := run("version"); err != nil || !strings.HasPrefix(out.String(), "metastation ") {
		t.Fatalf("version: %q, %v", out.String(), err)
	}
	if err := run("help"); err != nil || !strings.Contains(out.String(), "bench hub") {
		t.Fatalf("help: %q, %v", out.String(), err)
	}
	if err := run("frobnicate"); err == nil || ExitCode(err) != 2 {
		t.Fatalf("unknown command: %v", err)
	}
	if err := run("bench"); err == nil || !strings.Contains(err.Error(), "hub") {
		t.Fatalf("bench without a name: %v", err)
	}
	// --help prints usage and succeeds, for every command and benchmark:
	// Main turns flag.ErrHelp into success in one place.
	helps := [][]string{{"--help"}, {"bench", "--help"}}
	for _, c := range commands() {
		if c.Name != "help" && c.Name != "version" {
			helps = append(helps, []string{c.Name, "--help"})
		}
	}
	for name := range benches() {
		helps = append(helps, []string{"bench", name, "--help"})
	}
	for _, args := range helps {
		if err := run(args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// TestBenchHubSmall runs the hub benchmark end to end at a small scale, with
// the clients in this process, and checks its figures add up.
func TestBenchHubSmall(t *testing.T) {
	env := Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }, Assets: testAssets()}
	res, err := benchHub(context.Background(), env, 50, 2, 4, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Clients != 50 || res.ConnectFailed != 0 || res.Disconnected != 0 {
		t.Fatalf("clients %+v", res)
	}
	if res.Expected != 50*8 || res.Delivered != res.Expected {
		t.Fatalf("delivered %d of %d", res.Delivered, res.Expected)
	}
	if res.P50ms <= 0 || res.P99ms < res.P50ms || res.MaxMs < res.P99ms {
		t.Fatalf("latencies out of order: %+v", res)
	}
}
