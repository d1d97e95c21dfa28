package memory

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/memory/wordvec"
	"github.com/metastation/metastation/app/store"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var sharedEmbedder = sync.OnceValues(NewEmbedder)

func embedder(t testing.TB) *wordvec.Embedder {
	t.Helper()
	e, err := sharedEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// fixedClock is a wall clock that ticks one millisecond per call.
func fixedClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

type env struct {
	db *store.DB
	w  *store.Writer
	st *Store
}

func openAt(t testing.TB, path string, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{Interval: 10 * time.Millisecond}, quiet())
	if cfg.Now == nil {
		cfg.Now = fixedClock()
	}
	st, err := Open(ctx, cfg, db, w, embedder(t), quiet())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, w: w, st: st}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.w.Close()
	e.db.Close()
}

func openTest(t testing.TB) *env {
	return openAt(t, filepath.Join(t.TempDir(), store.FileName), Config{})
}

var day = simDay0().Add(10 * time.Hour)

func write(t testing.TB, st *Store, m Memory) Memory {
	t.Helper()
	if m.Kind == "" {
		m.Kind = Observation
	}
	if m.SimTime.IsZero() {
		m.SimTime = day
	}
	got, err := st.Write(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriteThenGetAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), store.FileName)
	e := openAt(t, path, Config{})
	exp := 100.0
	m := write(t, e.st, Memory{Agent: "momentum", Kind: Outcome, Text: "Closed SPY with a gain", Topic: "SPY",
		Tags: []string{"SPY"}, Links: []Link{{Kind: "trade", Ref: "42"}}, Value: 800, Expected: &exp})
	if m.ID != 1 || m.Status != Active || m.Count != 1 || m.VecVersion == "" {
		t.Fatalf("written memory %+v", m)
	}
	if m.Importance <= importanceBase || m.Importance > 1 {
		t.Fatalf("importance %v: a large, surprising, novel outcome should rate high", m.Importance)
	}
	if err := e.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.close()

	e2 := openAt(t, path, Config{})
	got, err := e2.st.Get(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Expected == nil || *got.Expected != exp {
		t.Fatalf("expected value after reopen: %v", got.Expected)
	}
	got.Expected, m.Expected = nil, nil
	if fmt.Sprint(got) != fmt.Sprint(m) {
		t.Fatalf("after reopen\n got %+v\nwant %+v", got, m)
	}
	if n := write(t, e2.st, Memory{Agent: "momentum", Text: "next"}); n.ID != 2 {
		t.Fatalf("the id after a reopen is %d, want 2", n.ID)
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	e := openTest(t)
	long := strings.Repeat("x", MaxText+1)
	tests := map[string]Memory{
		"no agent":        {Kind: Observation, Text: "a", SimTime: day},
		"bad kind":        {Agent: "a", Kind: "dream", Text: "a", SimTime: day},
		"no text":         {Agent: "a", Kind: Observation, Text: "   ", SimTime: day},
		"long text":       {Agent: "a", Kind: Observation, Text: long, SimTime: day},
		"no time":         {Agent: "a", Kind: Observation, Text: "a"},
		"importance":      {Agent: "a", Kind: Observation, Text: "a", SimTime: day, Importance: 2},
		"empty tag":       {Agent: "a", Kind: Observation, Text: "a", SimTime: day, Tags: []string{""}},
		"half link":       {Agent: "a", Kind: Observation, Text: "a", SimTime: day, Links: []Link{{Kind: "trade"}}},
		"invalid utf8":    {Agent: "a", Kind: Observation, Text: "\xff\xfe", SimTime: day},
		"long agent name": {Agent: strings.Repeat("a", MaxAgentID+1), Kind: Observation, Text: "a", SimTime: day},
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.st.Write(context.Background(), m)
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("error %v (code %q), want invalid", err, errs.CodeOf(err))
			}
		})
	}
	e.st.Flush(context.Background())
	var n int
	e.db.R.QueryRow(`SELECT count(*) FROM memories`).Scan(&n)
	if n != 0 || e.st.Stats().Memories != 0 {
		t.Fatalf("rejected writes left %d rows and %d in memory", n, e.st.Stats().Memories)
	}
}

func TestSearchRejectsBadQueries(t *testing.T) {
	e := openTest(t)
	write(t, e.st, Memory{Agent: "momentum", Text: "bought SPY"})
	tests := map[string]Query{
		"empty":         {Text: "  "},
		"one megabyte":  {Text: strings.Repeat("word ", 1<<18)},
		"unknown agent": {Text: "spy", Agent: "nobody"},
		"reversed time": {Text: "spy", From: day, To: day.Add(-time.Hour)},
		"bad kind":      {Text: "spy", Kinds: []Kind{"dream"}},
		"bad mode":      {Text: "spy", Mode: "psychic"},
		"limit":         {Text: "spy", Limit: MaxLimit + 1},
	}
	for name, q := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := e.st.Search(context.Background(), q); errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("error %v, want invalid", err)
			}
		})
	}
}

func TestSearchFiltersAndExplains(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	a := write(t, e.st, Memory{Agent: "momentum", Kind: Action, Text: "Bought Apple shares after the rally", Tags: []string{"AAPL"}, SimTime: day})
	b := write(t, e.st, Memory{Agent: "meanrev", Kind: Action, Text: "Bought Apple shares on the dip", Tags: []string{"AAPL"}, SimTime: day.Add(2 * time.Hour)})
	write(t, e.st, Memory{Agent: "momentum", Kind: Observation, Text: "The bakery ran out of flour", SimTime: day.Add(time.Hour)})
	e.st.Flush(ctx)

	tests := []struct {
		name string
		q    Query
		want []int64
	}{
		{"agent", Query{Text: "apple shares", Agent: "meanrev"}, []int64{b.ID}},
		{"kind", Query{Text: "apple shares", Kinds: []Kind{Observation}}, nil},
		{"time range", Query{Text: "apple shares", From: day.Add(-time.Minute), To: day.Add(time.Minute)}, []int64{a.ID}},
		{"tag", Query{Text: "apple", Tags: []string{"AAPL"}, Agent: "momentum"}, []int64{a.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.st.Search(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range res {
				if r.Why.Cosine > 0.3 {
					got = append(got, r.Memory.ID)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("ids %v, want %v (results %+v)", got, tt.want, res)
			}
		})
	}
	res, err := e.st.Search(ctx, Query{Text: "apple shares"})
	if err != nil || len(res) < 2 {
		t.Fatalf("%v, %v", res, err)
	}
	top := res[0]
	if top.Why.LexicalRank == 0 || top.Why.VectorRank == 0 || top.Why.Coord != 1 || top.Why.Cosine <= 0 {
		t.Fatalf("the top result does not say why it matched: %+v", top.Why)
	}
	// b is newer, the rest equal: recency lifts it above a.
	if top.Memory.ID != b.ID || top.Why.Recency != 1 {
		t.Fatalf("top %d (why %+v), want the newer %d", top.Memory.ID, top.Why, b.ID)
	}
}

func TestTimelineAndAgents(t *testing.T) {
	e := openTest(t)
	for i := range 7 {
		write(t, e.st, Memory{Agent: "momentum", Text: fmt.Sprintf("event %d", i), SimTime: day.Add(time.Duration(i) * time.Minute)})
	}
	write(t, e.st, Memory{Agent: "planner", Text: "order steel"})
	first, err := e.st.Timeline("momentum", Page{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	next, err := e.st.Timeline("momentum", Page{Limit: 4, Before: first[len(first)-1].ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range append(first, next...) {
		got = append(got, m.Text)
	}
	if want := "event 6|event 5|event 4|event 3|event 2|event 1|event 0"; strings.Join(got, "|") != want {
		t.Fatalf("timeline %q, want %q", strings.Join(got, "|"), want)
	}
	if _, err := e.st.Timeline("nobody", Page{}); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("unknown agent: %v", err)
	}
	ag := e.st.Agents()
	if len(ag) != 2 || ag[0].Agent != "momentum" || ag[0].Memories != 7 || ag[1].Memories != 1 {
		t.Fatalf("agents %+v", ag)
	}
}

// TestPlantedFacts is issue 13's evaluation (a): 100 hand-written facts among
// 10,000 seeded events, each looked for by a paraphrase with no content word
// in common, recall@10 for the three modes before and after consolidation.
func TestPlantedFacts(t *testing.T) {
	e := openTest(t)
	rep, err := EvaluatePlanted(context.Background(), e.st, 13, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recall@10 before consolidation: hybrid %.2f, lexical %.2f, vector %.2f", rep.Hybrid, rep.Lexical, rep.Vector)
	t.Logf("recall@10 after consolidation:  hybrid %.2f, lexical %.2f, vector %.2f (pass: %+v)", rep.HybridAfter, rep.LexicalAfter, rep.VectorAfter, rep.Consolidation)
	t.Logf("hybrid missed: %q", rep.MissedHybrid)
	if rep.Hybrid < 0.9 || rep.HybridAfter < 0.9 {
		t.Errorf("hybrid recall@10 %.2f before and %.2f after consolidation, want at least 0.9", rep.Hybrid, rep.HybridAfter)
	}
	if rep.Hybrid <= rep.Lexical || rep.HybridAfter <= rep.LexicalAfter {
		t.Errorf("hybrid (%.2f, %.2f) does not beat lexical (%.2f, %.2f)", rep.Hybrid, rep.HybridAfter, rep.Lexical, rep.LexicalAfter)
	}
	if rep.Consolidation.Merged == 0 || rep.Consolidation.Reflections == 0 {
		t.Errorf("consolidation of 10,000 seeded events merged %d and reflected %d: the pass did nothing", rep.Consolidation.Merged, rep.Consolidation.Reflections)
	}
}

// contentWords are a text's words a full-text search could match on: not
// function words, compared by their first five letters (so "investors" and
// "investment" count as one word, stricter than FTS5's porter stemmer).
func contentWords(e *wordvec.Embedder, text string) map[string]bool {
	out := map[string]bool{}
	for _, tok := range wordvec.Tokens(text) {
		if r, ok := e.Rank(tok); ok && r < stopRank {
			continue
		}
		out[tok[:min(len(tok), 5)]] = true
	}
	return out
}

func TestPlantedSetSharesNoContentWord(t *testing.T) {
	e := embedder(t)
	pairs, err := PlantedSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 100 {
		t.Fatalf("%d planted pairs, want 100", len(pairs))
	}
	for _, p := range pairs {
		fw := contentWords(e, p.Fact)
		for w := range contentWords(e, p.Query) {
			if fw[w] {
				t.Errorf("%q and %q share %q", p.Fact, p.Query, w)
			}
		}
	}
}
