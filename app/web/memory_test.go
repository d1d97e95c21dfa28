package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/tournament"
)

var memoryTestEmbedder = sync.OnceValues(memory.NewEmbedder)

// memoryTestServer serves the memory API over a fresh store whose service
// does not run (so a requested consolidation stays requested), with one
// tournament strategy ("quiet") that has no memories.
func memoryTestServer(t *testing.T) (*httptest.Server, *memory.Service, *store.DB) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{Interval: 10 * time.Millisecond}, log)
	t.Cleanup(func() { w.Close(); db.Close() })
	emb, err := memoryTestEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	st, err := memory.Open(ctx, memory.Config{}, db, w, emb, log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := memory.NewService(memory.ServiceConfig{}, st, bus.New(), log)
	if err != nil {
		t.Fatal(err)
	}
	strats := strategies(func() []tournament.Profile { return []tournament.Profile{{ID: "quiet", Name: "Quiet One"}} })
	r := chi.NewRouter()
	r.Use(limitBody(maxBodyBytes, map[string]int64{"/api/memory": maxNoteBytes}))
	r.Get("/api/memory/search", memorySearch(svc, strats))
	r.Get("/api/memory/stats", memoryStats(svc))
	r.Get("/api/memory/agents", memoryAgents(svc, strats))
	r.Get("/api/memory/agents/{id}", memoryTimeline(svc, strats))
	r.Get("/api/memory/consolidation", memoryConsolidation(svc))
	r.Post("/api/memory/consolidation", memoryConsolidate(svc))
	r.Post("/api/memory", memoryNote(svc, strats))
	r.Get("/api/memory/{id}", memoryGet(svc))
	r.Post("/api/memory/{id}/pin", memoryPin(svc))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, svc, db
}

// seedMemories writes a small stream for "momentum": six SPY purchases
// (one topic, enough for a reflection) and a few unrelated memories.
func seedMemories(t *testing.T, svc *memory.Service) {
	t.Helper()
	at := tournament.OpenTime
	var ms []memory.Memory
	for i := range 6 {
		ms = append(ms, memory.Memory{Agent: "momentum", Kind: memory.Action, Topic: "SPY", Stance: "buy", Source: "test",
			Text:    fmt.Sprintf("Momentum Chaser bought %d SPY in %d fills at an average %.2f.", 100*(i+1), i+2, 500+float64(i)),
			SimTime: at.Add(time.Duration(i) * 2 * time.Hour), Value: float64(10 * (i + 1))})
	}
	ms = append(ms,
		memory.Memory{Agent: "momentum", Kind: memory.Observation, Text: "The volatility regime turned calm after lunch.", SimTime: at.Add(3 * time.Hour), Source: "test"},
		memory.Memory{Agent: "meanrev", Kind: memory.Outcome, Text: "Mean Reverter finished round 1 ranked 2 of 5 with P&L +120.00.", SimTime: at.Add(7 * time.Hour), Source: "test"},
	)
	if _, err := svc.Write(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if err := svc.Store().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func memoryRows(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM memories`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMemoryRoutesErrors checks every refusal of the memory API: its status,
// a sentence saying what is wrong, and that nothing was written.
func TestMemoryRoutesErrors(t *testing.T) {
	srv, svc, db := memoryTestServer(t)
	seedMemories(t, svc)
	rows, written := memoryRows(t, db), svc.Store().Stats().Written
	huge := strings.Repeat("a", 1_000_000) // 1 MB
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"empty query", "GET", "/api/memory/search?q=", "", 400, "A search needs some words."},
		{"blank query", "GET", "/api/memory/search?q=%20%20", "", 400, "A search needs some words."},
		{"1 MB query", "GET", "/api/memory/search?q=" + huge, "", 400, "A search is at most 1024 bytes; this one is 1000000."},
		{"unknown agent", "GET", "/api/memory/search?q=spy&agent=nobody", "", 400, `No agent "nobody" has memories.`},
		{"malformed from", "GET", "/api/memory/search?q=spy&from=yesterday", "", 400, `From must be a time like 2026-01-05T10:30 or 2026-01-05, not "yesterday".`},
		{"malformed to", "GET", "/api/memory/search?q=spy&to=2026-13-01", "", 400, "To must be a time like"},
		{"inverted range", "GET", "/api/memory/search?q=spy&from=2026-01-06&to=2026-01-05T10:00", "", 400, "The time range ends before it starts."},
		{"bad kind", "GET", "/api/memory/search?q=spy&kind=action,dream", "", 400, `Kind "dream" is not one of observation, action, outcome, reflection, document.`},
		{"bad mode", "GET", "/api/memory/search?q=spy&mode=psychic", "", 400, `Mode "psychic" is not one of hybrid, lexical, vector.`},
		{"limit zero", "GET", "/api/memory/search?q=spy&limit=0", "", 400, "Limit is a whole number from 1 to 100"},
		{"limit too big", "GET", "/api/memory/search?q=spy&limit=1000", "", 400, "Limit is a whole number from 1 to 100"},
		{"strategy's bad query still checked", "GET", "/api/memory/search?q=&agent=quiet", "", 400, "A search needs some words."},
		{"id not a number", "GET", "/api/memory/abc", "", 400, `A memory id is a whole number from 1, not "abc".`},
		{"no such memory", "GET", "/api/memory/999", "", 404, "There is no memory 999."},
		{"timeline of nobody", "GET", "/api/memory/agents/nobody", "", 404, `No agent "nobody" has memories.`},
		{"timeline bad before", "GET", "/api/memory/agents/momentum?before=x", "", 400, "Before is a memory id"},
		{"timeline unknown before", "GET", "/api/memory/agents/momentum?before=999", "", 404, `Agent "momentum" has no memory 999.`},
		{"timeline bad limit", "GET", "/api/memory/agents/momentum?limit=-1", "", 400, "Limit is a whole number from 1 to 100"},
		{"note empty body", "POST", "/api/memory", "", 400, "The request body is empty"},
		{"note not JSON", "POST", "/api/memory", "{agent:", 400, "The request body is not valid JSON"},
		{"note unknown field", "POST", "/api/memory", `{"agent":"momentum","text":"x","mood":"good"}`, 400, `unknown field "mood"`},
		{"note without text", "POST", "/api/memory", `{"agent":"momentum","text":"   "}`, 400, "A memory needs some text."},
		{"note text too long", "POST", "/api/memory", `{"agent":"momentum","text":"` + strings.Repeat("b", memory.MaxText+1) + `"}`, 400, "A memory's text is at most 8192 bytes of UTF-8."},
		{"note body too large", "POST", "/api/memory", `{"agent":"momentum","text":"` + strings.Repeat("b", 40_000) + `"}`, 413, "The request body is larger than the 16384 bytes (16 KB) POST /api/memory accepts; a note's text holds at most 8 KB; shorten it."},
		{"note for nobody", "POST", "/api/memory", `{"agent":"nobody","text":"hello"}`, 400, `There is no agent "nobody"`},
		{"note as a reflection", "POST", "/api/memory", `{"agent":"momentum","text":"hello","kind":"reflection"}`, 400, "Reflections are written by consolidation"},
		{"note of a bad kind", "POST", "/api/memory", `{"agent":"momentum","text":"hello","kind":"dream"}`, 400, `Kind "dream" is not one of`},
		{"note with too many tags", "POST", "/api/memory", `{"agent":"momentum","text":"hello","tags":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p"]}`, 400, "A memory has at most 16 tags."},
		{"note with an empty tag", "POST", "/api/memory", `{"agent":"momentum","text":"hello","tags":[""]}`, 400, "A tag is 1 to 64 bytes."},
		{"note text as a number", "POST", "/api/memory", `{"agent":"momentum","text":5}`, 400, `The field "text" must be a string.`},
		{"pin without pinned", "POST", "/api/memory/1/pin", `{}`, 400, "Say whether to pin"},
		{"pin nothing", "POST", "/api/memory/999/pin", `{"pinned":true}`, 404, "There is no memory 999."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := httpDo(t, tc.method, srv.URL+tc.path, tc.body)
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%d: not JSON: %.200s", code, body)
			}
			if code != tc.status || !strings.Contains(e.Error, tc.want) {
				t.Errorf("%s %s: %d %q; want %d containing %q", tc.method, truncate(tc.path, 60), code, e.Error, tc.status, tc.want)
			}
		})
	}
	if err := svc.Store().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, w := memoryRows(t, db), svc.Store().Stats().Written; got != rows || w != written {
		t.Errorf("rejected requests wrote: %d rows then %d, %d written then %d", rows, got, written, w)
	}

	// A consolidation asked for while one is asked for is a conflict (the
	// service does not run here, so the first stays requested).
	if code, body := httpDo(t, "POST", srv.URL+"/api/memory/consolidation", ""); code != 202 || !strings.Contains(string(body), `"requested": true`) {
		t.Fatalf("first consolidation: %d %s", code, body)
	}
	if code, body := httpDo(t, "POST", srv.URL+"/api/memory/consolidation", ""); code != 409 || !strings.Contains(string(body), "A consolidation pass is") {
		t.Errorf("second consolidation: %d %s", code, body)
	}
}

// TestMemoryRoutes follows what the page does: agents, a search with the
// scores of each retriever, a timeline, a note found by meaning, a
// reflection whose evidence resolves to the memories it summarises.
func TestMemoryRoutes(t *testing.T) {
	srv, svc, _ := memoryTestServer(t)
	seedMemories(t, svc)
	get := func(path string, v any) {
		t.Helper()
		code, body := httpDo(t, "GET", srv.URL+path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}

	var agents memoryAgentsResponse
	get("/api/memory/agents", &agents)
	var names []string
	for _, a := range agents.Agents {
		names = append(names, fmt.Sprintf("%s:%d", a.Agent, a.Memories))
	}
	if got := strings.Join(names, " "); got != "meanrev:1 momentum:7 quiet:0" {
		t.Errorf("agents: %s", got)
	}

	var sr memorySearchResponse
	get("/api/memory/search?q=bought+SPY&agent=momentum&kind=action", &sr)
	if len(sr.Results) != 6 || sr.Mode != memory.Hybrid {
		t.Fatalf("search: %d results in mode %s", len(sr.Results), sr.Mode)
	}
	for _, r := range sr.Results {
		if r.Memory.Agent != "momentum" || r.Memory.Kind != memory.Action || r.Why.LexicalRank == 0 || r.Why.VectorRank == 0 || r.Why.Cosine <= 0 {
			t.Errorf("result %+v", r)
		}
	}
	// The time range keeps the purchases of the first four hours.
	get("/api/memory/search?q=bought+SPY&agent=momentum&kind=action&from=2026-01-05&to="+tournament.OpenTime.Add(4*time.Hour).Format("2006-01-02T15:04"), &sr)
	if len(sr.Results) != 3 {
		t.Errorf("time range: %d results, want 3 (at +0h, +2h, +4h)", len(sr.Results))
	}
	for _, mode := range []string{"lexical", "vector"} {
		get("/api/memory/search?q=bought+SPY&mode="+mode, &sr)
		if string(sr.Mode) != mode || len(sr.Results) == 0 {
			t.Errorf("%s: %d results in mode %s", mode, len(sr.Results), sr.Mode)
		}
	}
	get("/api/memory/search?q=anything&agent=quiet", &sr)
	if len(sr.Results) != 0 || sr.Agent != "quiet" {
		t.Errorf("a strategy without memories: %+v", sr)
	}

	var tl memoryTimelineResponse
	get("/api/memory/agents/momentum?limit=4", &tl)
	if len(tl.Memories) != 4 || tl.NextBefore != tl.Memories[3].ID || !tl.Memories[0].SimTime.After(tl.Memories[3].SimTime) {
		t.Fatalf("timeline page 1: %+v", tl)
	}
	before := tl.NextBefore
	tl = memoryTimelineResponse{}
	get(fmt.Sprintf("/api/memory/agents/momentum?limit=4&before=%d", before), &tl)
	if len(tl.Memories) != 3 || tl.NextBefore != 0 {
		t.Errorf("timeline page 2: %d memories, next %d", len(tl.Memories), tl.NextBefore)
	}
	get("/api/memory/agents/quiet", &tl)
	if len(tl.Memories) != 0 {
		t.Errorf("quiet's timeline: %+v", tl)
	}

	// A note, found by a query that shares none of its content words.
	code, body := httpDo(t, "POST", srv.URL+"/api/memory", `{"agent":"momentum","text":"The central bank raised interest rates by half a point.","tags":["macro"]}`)
	if code != 201 {
		t.Fatalf("note: %d %s", code, body)
	}
	var note memory.Memory
	if err := json.Unmarshal(body, &note); err != nil {
		t.Fatal(err)
	}
	if note.Source != "user" || note.Kind != memory.Observation || note.Agent != "momentum" || note.ID == 0 {
		t.Errorf("note stored as %+v", note)
	}
	get("/api/memory/search?q=monetary+policy+tightening&agent=momentum", &sr)
	if len(sr.Results) == 0 || sr.Results[0].Memory.ID != note.ID || sr.Results[0].Why.LexicalRank != 0 {
		t.Errorf("the note is not first by meaning: %+v", sr.Results)
	}
	code, body = httpDo(t, "POST", srv.URL+"/api/memory", `{"text":"Remember to check the floor after lunch."}`)
	if code != 201 || !strings.Contains(string(body), `"agent": "user"`) {
		t.Errorf("a note without an agent: %d %s", code, body)
	}

	// Consolidation reflects on the six SPY purchases; the reflection's
	// evidence resolves to them.
	rep, err := svc.Store().Consolidate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reflections != 1 {
		t.Fatalf("consolidation: %+v", rep)
	}
	get("/api/memory/search?q=reflection+SPY&agent=momentum&kind=reflection", &sr)
	if len(sr.Results) != 1 {
		t.Fatalf("reflections: %+v", sr.Results)
	}
	var d memoryDetail
	get(fmt.Sprintf("/api/memory/%d", sr.Results[0].Memory.ID), &d)
	if len(d.Evidence) != 6 {
		t.Fatalf("reflection evidence: %+v", d.Evidence)
	}
	for _, e := range d.Evidence {
		if e.Kind != "memory" || e.Memory == nil || e.Memory.Topic != "SPY" || e.Memory.Kind != memory.Action {
			t.Errorf("evidence %+v", e)
		}
	}

	code, body = httpDo(t, "POST", srv.URL+fmt.Sprintf("/api/memory/%d/pin", note.ID), `{"pinned":true}`)
	if code != 200 || !strings.Contains(string(body), `"pinned": true`) {
		t.Errorf("pin: %d %s", code, body)
	}
}
