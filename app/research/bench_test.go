package research

import (
	"context"
	"os"
	"testing"
)

func TestBenchReportsItsFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("the bench runs the whole pipeline")
	}
	r, err := RunBench(context.Background(), BenchConfig{Dir: t.TempDir(), Migrations: os.DirFS("../../migrations"), NoiseSeeds: 2, PlantedSeeds: 1, CorpusSeeds: 1}, embedder(t), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.Papers != 1000 || r.PapersPerS <= 0 || r.BacktestsPerS <= 0 || r.GapAUC <= 0.5 || r.PlantedGapWorstRank < 1 || r.PlantedGapWorstRank > 3 {
		t.Fatalf("figures out of range: %+v", r)
	}
}
