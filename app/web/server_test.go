package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/supervisor"
)

// testAssets are the repository's own static files and migrations, as the
// binary embeds them.
func testAssets() app.Assets {
	return app.Assets{Static: os.DirFS("../../static"), Migrations: os.DirFS("../../migrations")}
}

// testConfig is a server configuration for tests: any free loopback port, a
// temporary data directory, a fixed seed.
func testConfig(t testing.TB) app.Config {
	return app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Seed: 7, NoBrowser: true, Showcase: true}
}

// startServer runs the real server on a free loopback port with a temporary
// data directory, waits for /healthz, and returns it with its URL.
func startServer(t testing.TB, extra ...supervisor.Service) (*app.App, string) {
	t.Helper()
	return startServerWith(t, testConfig(t), nil, extra...)
}

// startServerWith is startServer with a given configuration and a setup
// function that may replace parts of the server before it starts (a faster
// tournament, say).
func startServerWith(t testing.TB, cfg app.Config, setup func(*app.App) error, extra ...supervisor.Service) (*app.App, string) {
	t.Helper()
	srv, url, _ := startServerToStop(t, cfg, setup, extra...)
	return srv, url
}

// startServerToStop is startServerWith for a test that stops the server
// itself, to start another on the same data directory: stop shuts it down
// (once; the test's cleanup calls it too).
func startServerToStop(t testing.TB, cfg app.Config, setup func(*app.App) error, extra ...supervisor.Service) (*app.App, string, func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := app.New(context.Background(), cfg, log, testAssets())
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
	url, err := Start(context.Background(), srv)
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

func getHealth(t *testing.T, url string) app.Health {
	t.Helper()
	resp, err := http.Get(url + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h app.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func serviceState(h app.Health, name string) supervisor.Status {
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
		{"unknown page in a browser", "GET", "/nope", map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, "", 404, `There is no page at <code>/nope</code>`},
		{"a browser's page has the navigation", "GET", "/nope/deeper", map[string]string{"Accept": "text/html"}, "", 404, `href="/tournament"`},
		{"unknown api from a browser", "GET", "/api/nope", map[string]string{"Accept": "text/html"}, "", 404, `"error"`},
		{"wrong method", "DELETE", "/healthz", nil, "", 405, "not allowed"},
		{"huge body", "POST", "/api/system", nil, strings.Repeat("x", maxBodyBytes+1), 413, "larger than the 1048576 bytes (1 MB) POST /api/system accepts"},
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
	static, err := newStaticFiles(srv.Assets.Static)
	if err != nil {
		t.Fatal(err)
	}
	versioned := static.URL("js/live.js")
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
		srv.Writer.Flush(context.Background())
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

// testLog discards the log unless the test runs verbose.
func testLog() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestRL is the trainer as the app builds it, checkpoints under dir, with
// the runs of earlier sessions loaded.
func newTestRL(t *testing.T, dir string, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*rl.Service, error) {
	t.Helper()
	svc, err := rl.NewService(rl.ServiceConfig{Dir: filepath.Join(dir, "rl")}, b, w, db, log)
	if err != nil {
		return nil, err
	}
	return svc, svc.Load(t.Context(), nil)
}

// newTestMARL is the multi-agent trainer as the app builds it.
func newTestMARL(t *testing.T, dir string, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*marl.Service, error) {
	t.Helper()
	svc, err := marl.NewService(marl.ServiceConfig{Dir: filepath.Join(dir, "marl")}, b, w, db, log)
	if err != nil {
		return nil, err
	}
	return svc, svc.Load(t.Context())
}
