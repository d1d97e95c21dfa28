package research

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/store"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fixedClock ticks one millisecond per call, so two runs store the same.
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

func newResearcher(t testing.TB) *Researcher {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{Interval: 5 * time.Millisecond}, quiet())
	t.Cleanup(func() { w.Close(); db.Close() })
	mem, err := memory.Open(ctx, memory.Config{Now: fixedClock()}, db, w, embedder(t), quiet())
	if err != nil {
		t.Fatal(err)
	}
	return &Researcher{Mem: mem, DB: db, W: w, Log: quiet(), Now: fixedClock()}
}

// TestRunFindsThePlantedHypothesis is the whole pipeline on the built-in
// corpus: the planted gap becomes the planted effect's hypothesis, which
// survives the statistics, and the noise around it does not get a
// recommendation it has not earned. Every number of every memo traces to
// the run's records, and the same seed writes the same memo (golden file).
func TestRunFindsThePlantedHypothesis(t *testing.T) {
	rs := newResearcher(t)
	var stages []string
	var msgs []Message
	res, err := rs.Run(context.Background(), RunConfig{Seed: 7}, Report{
		Progress: func(p Progress) { stages = append(stages, p.Stage) },
		Message:  func(m Message) { msgs = append(msgs, m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var planted *Experiment
	for i, e := range res.Experiments {
		h := e.Hypothesis
		t.Logf("E%d %-60s t %5.2f p_bh %.4f dsr %.3f pbo %.3f nov %.3f %s", e.ID, h.Key(), e.Perf.T, e.PBH, e.DSR, e.PBO, h.Novelty, e.Verdict)
		if h.Signal == PlantedEffect.Signal && h.Regime == PlantedEffect.Regime && h.Set == PlantedEffect.Set && h.Horizon == PlantedEffect.Horizon {
			planted = &res.Experiments[i]
		}
	}
	if planted == nil {
		t.Fatalf("no hypothesis matches the planted effect %+v", PlantedEffect)
	}
	if planted.PBH > FDRLevel {
		t.Errorf("the planted hypothesis has BH-adjusted p %.4f, want at most %.2f", planted.PBH, FDRLevel)
	}
	if len(msgs) != 5 {
		t.Errorf("%d agent messages, want one from each of the five agents: %+v", len(msgs), msgs)
	}
	for _, m := range res.Memos {
		var trials []Trial
		for _, tr := range res.Trials {
			if tr.Hypothesis == m.Experiment {
				tr.Curve = nil // the chart's points are no figures a memo may quote
				trials = append(trials, tr)
			}
		}
		e := res.Experiments[m.Experiment-1]
		if bad := Untraced(m.Markdown, e, trials, res.Gaps, res.Validation, Bars, res.ID, res.Seed, res.Plan, res.Memories); len(bad) > 0 {
			t.Errorf("memo %d shows numbers no record holds: %v", m.Experiment, bad)
		}
		if e.Verdict != Pursue && strings.Contains(m.Markdown, "Recommendation: pursue") {
			t.Errorf("memo %d recommends what its statistics do not carry", m.Experiment)
		}
	}
	memo := res.Memos[planted.ID-1]
	golden := filepath.Join("testdata", "memo_seed7.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(memo.Markdown), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if memo.Markdown != string(want) {
		t.Errorf("the memo of seed 7 differs from %s (run with -update if the change is meant)", golden)
	}
	// The same seed in a fresh store writes the same memo.
	again, err := newResearcher(t).Run(context.Background(), RunConfig{Seed: 7}, Report{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Memos[planted.ID-1].Markdown != memo.Markdown {
		t.Error("the same seed wrote a different memo")
	}
}

// TestConsolidationKeepsTheLibrary: a consolidation pass of app/memory
// forgets and merges nothing the research agents wrote, so novelty and
// citations hold after it.
func TestConsolidationKeepsTheLibrary(t *testing.T) {
	rs := newResearcher(t)
	res, err := rs.Run(context.Background(), RunConfig{Seed: 2, TopGaps: 3}, Report{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Mem.Consolidate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range res.Memories {
		m, err := rs.Mem.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != memory.Active {
			t.Fatalf("memory %d (%s, %s) is %s after consolidation", id, m.Agent, m.Kind, m.Status)
		}
	}
}

// TestRunOnAFolder runs the agents on a small folder of a user's notes, all
// of two years: too short a history for the time split, which says so
// rather than failing the run.
func TestRunOnAFolder(t *testing.T) {
	dir := t.TempDir()
	topics := []string{"time series momentum", "short term reversal", "market stress", "equity index", "investor overreaction", "bid ask spread", "carry trade"}
	for i := range 40 {
		a, b := topics[i%len(topics)], topics[(i*3+1)%len(topics)]
		body := fmt.Sprintf("---\ndate: %d-%02d-10\n---\nWe study the %s and the %s. The %s matters.\n", 2020+i%2, 1+i%12, a, b, a)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("note%02d.md", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs := newResearcher(t)
	res, err := rs.Run(context.Background(), RunConfig{Seed: 1, Dir: dir}, Report{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Papers != 40 || len(res.Concepts) < 5 {
		t.Fatalf("%d papers, %d concepts; want 40 and the folder's topics", res.Papers, len(res.Concepts))
	}
	t.Logf("concepts %d, gaps %d, hypotheses %d, validation %+v", len(res.Concepts), len(res.Gaps), len(res.Experiments), res.Validation)
	if _, err := rs.Summary(context.Background(), res.ID); err != nil {
		t.Fatal(err)
	}
}
