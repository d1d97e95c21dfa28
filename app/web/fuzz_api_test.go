package web

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// apiRoute is one route of the router: its method and chi pattern.
type apiRoute struct{ method, pattern string }

// fuzzableRoutes walks the real router and returns every route a fuzzed
// request may hit, sorted so an input names the same route on every run.
// Left out: the Quit control (it stops the server under test), the live
// socket and the event stream (they hold the connection open).
func fuzzableRoutes(t testing.TB, h http.Handler) []apiRoute {
	t.Helper()
	mux, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("the handler is a %T, not a chi router", h)
	}
	skip := map[string]bool{"/api/quit": true, "/ws": true, "/api/events": true}
	var out []apiRoute
	err := chi.Walk(mux, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !skip[pattern] && method != http.MethodHead && method != http.MethodOptions {
			out = append(out, apiRoute{method, pattern})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b apiRoute) int { return strings.Compare(a.method+" "+a.pattern, b.method+" "+b.pattern) })
	return out
}

// pick returns the route named "METHOD pattern", or, for any other name (a
// mutated one), the route its hash falls on, so every input reaches a route.
func pickRoute(routes []apiRoute, name string) apiRoute {
	for _, r := range routes {
		if r.method+" "+r.pattern == name {
			return r
		}
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return routes[int(h.Sum32()%uint32(len(routes)))]
}

// fillParams puts param in place of every {name} (and the /* tail) of a
// chi pattern, escaped as one path segment.
func fillParams(pattern, param string) string {
	seg := url.PathEscape(param)
	var b strings.Builder
	for len(pattern) > 0 {
		i := strings.IndexAny(pattern, "{*")
		if i < 0 {
			b.WriteString(pattern)
			break
		}
		b.WriteString(pattern[:i])
		if pattern[i] == '*' {
			b.WriteString(seg)
			pattern = pattern[i+1:]
			continue
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			b.WriteString(pattern[i:])
			break
		}
		b.WriteString(seg)
		pattern = pattern[i+j+1:]
	}
	return b.String()
}

// FuzzAPI sends fuzzed path parameters, query strings and bodies to every
// route of the real server (real HTTP, real SQLite, services running). Any
// answer is fine but a server error: nothing may answer 500 (the recoverer's
// answer to a panic) or another 5xx than 503 (busy, cluster only) and 507
// (disk full); an /api/ refusal is a JSON object with an error sentence; and
// the server stays healthy after every request.
func FuzzAPI(f *testing.F) {
	srv, base := startServer(f)
	h, err := New(srv)
	if err != nil {
		f.Fatal(err)
	}
	routes := fuzzableRoutes(f, h)
	if len(routes) < 50 {
		f.Fatalf("walked only %d routes", len(routes))
	}
	seeds := []struct{ route, param, query, body string }{
		{"GET /api/analytics/series/{name}", "market.SPX.price", "from=2026-01-01T00:00:00Z&to=10000-01-01T00:00:00Z", ""},
		{"GET /api/analytics/series", "", "subsystem=market&limit=-1", ""},
		{"GET /api/market/bars/{symbol}", "SPX", "interval=1m&from=x", ""},
		{"GET /api/market/book/{symbol}", "../../etc/passwd", "depth=1e9", ""},
		{"GET /api/memory/search", "", "q=crash&mode=hybrid&k=100000", ""},
		{"GET /api/memory/agents/{id}", "momentum", "before=-9223372036854775808&limit=0", ""},
		{"GET /api/synth/jobs/{id}/preview", "1", "rows=1000000000", ""},
		{"GET /api/research/runs/{id}/memos/{exp}", "\x00", "", ""},
		{"GET /api/media/{id}/assets/{name}", "..", "", ""},
		{"GET /api/cluster/read", "", "consistent=1&key=%zz", ""},
		{"GET /api/system/history", "", "since=NaN", ""},
		{"GET /static/*", "js/../../main.go", "", ""},
		{"POST /api/market/orders", "", "", `{"symbol":"SPX","side":"buy","type":"limit","price":1,"qty":1e19}`},
		{"POST /api/market/speed", "", "", `{"speed":1e308}`},
		{"POST /api/market/script", "", "", `null`},
		{"POST /api/synth/jobs", "", "", `{"kind":"transactions","rows":1000,"fraud_rate":2,"format":"parquet"}`},
		{"POST /api/rl/runs", "", "", `{"algo":"ppo","env":"cartpole","steps":-5}`},
		{"POST /api/marl/runs", "", "", `{"algo":"qmix","env":"matrix2","episodes":1e12}`},
		{"POST /api/tournament/votes", "", "", `{"round":-1,"strategy":""}`},
		{"POST /api/tournament/entrants", "", "", `{"run":"x"}`},
		{"POST /api/memory", "", "", `{"agent":"","text":"` + strings.Repeat("a", 3000) + `"}`},
		{"POST /api/memory/{id}/pin", "9223372036854775807", "", `{"pinned":null}`},
		{"POST /api/models/{name}/predict", "fraud", "", `{"rows":[[1e308,-1e308]]}`},
		{"PUT /api/models/{name}/aliases/{alias}", "fraud", "", `{"version":0}`},
		{"POST /api/supply/crises", "", "", `{"kind":"port-strike","severity":-1}`},
		{"POST /api/research/runs", "", "", `{"seed":"x"}`},
		{"POST /api/cluster/join", "", "", `{"id":"n2","addr":"127.0.0.1:1"}`},
		{"DELETE /api/synth/jobs/{id}", "-1", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.route, s.param, s.query, []byte(s.body))
	}
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, route, param, query string, body []byte) {
		rt := pickRoute(routes, route)
		target := base + strings.TrimPrefix(fillParams(rt.pattern, param), "/")
		if query != "" {
			if !requestLineSafe(query) {
				t.Skip("a query no client can put on a request line")
			}
			target += "?" + query
		}
		req, err := http.NewRequest(rt.method, target, bytes.NewReader(body))
		if err != nil {
			t.Skip("not a request a client can send:", err)
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		status, answer, ctype := fuzzDo(t, client, req)
		switch {
		case status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusInsufficientStorage:
			t.Fatalf("%s %s answered %d: %.300s", rt.method, target, status, answer)
		case status >= 400 && strings.HasPrefix(req.URL.Path, "/api/"):
			var e struct {
				Error string `json:"error"`
			}
			if !strings.HasPrefix(ctype, "application/json") || json.Unmarshal(answer, &e) != nil || strings.TrimSpace(e.Error) == "" {
				t.Fatalf("%s %s refused with %d but not as a JSON error sentence (%s): %.300s", rt.method, target, status, ctype, answer)
			}
		}
		health, _, _ := fuzzDo(t, client, mustRequest(t, http.MethodGet, base+"healthz"))
		if health != http.StatusOK {
			t.Fatalf("after %s %s the server's health answers %d", rt.method, target, health)
		}
	})
}

// requestLineSafe reports whether s can stand in a request line as it is:
// printable ASCII without spaces (net/http itself answers 400 in plain text
// to anything else, before the router sees it).
func requestLineSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func mustRequest(t *testing.T, method, target string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// fuzzDo sends req and returns the status, up to 64 KiB of the answer and
// its content type.
func fuzzDo(t *testing.T, client *http.Client, req *http.Request) (int, []byte, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, b, resp.Header.Get("Content-Type")
}
