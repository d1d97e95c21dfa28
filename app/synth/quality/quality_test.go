package quality

import (
	"math"
	"testing"

	"github.com/metastation/metastation/app/synth"
)

func TestIdenticalScoresOne(t *testing.T) {
	txs, err := synth.Transactions(synth.Config{Seed: 1, Rows: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	tab := TransactionTable(txs)
	rep, err := Compare(tab, tab)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Score != 1 {
		t.Fatalf("identical data scores %v: %+v", rep.Score, rep)
	}
}

func TestScores(t *testing.T) {
	if s := KSComplement([]float64{1, 2, 3, 4}, []float64{5, 6, 7, 8}); s != 0 {
		t.Fatalf("disjoint KS complement %v", s)
	}
	if s := KSComplement([]float64{1, 2, 3, 4}, []float64{3, 4, 5, 6}); s != 0.5 {
		t.Fatalf("half-shifted KS complement %v", s)
	}
	if s := TVComplement([]string{"a", "a", "b", "b"}, []string{"a", "b", "b", "b"}); s != 0.75 {
		t.Fatalf("TV complement %v", s)
	}
	if s := TVComplement([]string{"a"}, []string{"b"}); s != 0 {
		t.Fatalf("disjoint TV complement %v", s)
	}
	x := []float64{1, 2, 3, 4}
	if s := CorrelationSimilarity(x, x, x, []float64{4, 3, 2, 1}); s != 0 {
		t.Fatalf("opposite correlations score %v", s)
	}
}

// The generated transactions keep the configured targets: overall quality
// at least 0.85.
func TestGeneratedQuality(t *testing.T) {
	cfg := synth.Config{Seed: 11, Rows: 100_000}
	txs, err := synth.Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Transactions(cfg, txs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("score %.4f (shapes %.4f, trends %.4f)", rep.Score, rep.Shapes, rep.Trends)
	for k, v := range rep.ColumnShapes {
		t.Logf("  shape %-10s %.4f", k, v)
	}
	for k, v := range rep.PairTrends {
		t.Logf("  trend %-18s %.4f", k, v)
	}
	for k, v := range rep.Targets {
		t.Logf("  target %-28s want %9.4f got %9.4f", k, v.Want, v.Got)
	}
	if f := rep.Targets["fraud_rate"]; math.Abs(f.Got-f.Want) > 0.15*f.Want {
		t.Errorf("fraud rate %.4f, configured %.4f", f.Got, f.Want)
	}
	if rep.Score < 0.85 || math.IsNaN(rep.Score) {
		t.Fatalf("quality score %.4f under 0.85", rep.Score)
	}
}
