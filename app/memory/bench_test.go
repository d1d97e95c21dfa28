package memory

import (
	"context"
	"os"
	"testing"
)

// TestRunBenchSmall runs the benchmark at a small size: every figure is
// measured (non-zero), and served vector search returns the exact top 10.
func TestRunBenchSmall(t *testing.T) {
	res, err := RunBench(context.Background(), BenchConfig{Dir: t.TempDir(), Migrations: os.DirFS("../../migrations"),
		Memories: 3000, Queries: 40}, embedder(t), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.InsertPerS <= 0 || res.EmbedPerS <= 0 || res.QueryP50ms <= 0 || res.QueryP99ms < res.QueryP50ms || res.ConsolidatePerS <= 0 {
		t.Fatalf("a figure was not measured: %+v", res)
	}
	if res.RecallAt10VsExact < 0.95 {
		t.Fatalf("served vector search finds %.3f of the exact top 10", res.RecallAt10VsExact)
	}
	if res.PlantedHybrid < 0.9 || res.PlantedHybrid <= res.PlantedLexical {
		t.Fatalf("planted recall: hybrid %.2f, lexical %.2f", res.PlantedHybrid, res.PlantedLexical)
	}
}
