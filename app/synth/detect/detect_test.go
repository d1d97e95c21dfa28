package detect

import (
	"math"
	"sort"
	"testing"

	"github.com/metastation/metastation/app/synth"
)

func transactions(t *testing.T, rows int, rate float64) []synth.Transaction {
	t.Helper()
	txs, err := synth.Transactions(synth.Config{Seed: 42, Rows: rows, FraudRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	return txs
}

// The baseline detector meets the targets on held-out days:
// PR-AUC at least ten times the fraud rate, ROC-AUC between 0.85 and 0.99.
// Gradient-boosted trees, a stronger model, stay under 0.99 too: the data
// is not too easy.
func TestDetectorTargets(t *testing.T) {
	txs := transactions(t, 200_000, 0.015)
	for _, model := range []string{"logistic", "gbt"} {
		// Fewer, faster-learning trees than the default keep the test short.
		rep, err := Evaluate(txs, Options{Model: model, GBT: GBTOptions{Trees: 60, Rate: 0.2}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: train %d rows (%.2f%% fraud), test %d rows (%.2f%% fraud)", model,
			rep.TrainRows, rep.TrainFraudRate*100, rep.TestRows, rep.TestFraudRate*100)
		t.Logf("%s: ROC-AUC %.4f PR-AUC %.4f recall at %.0f%% FPR %v", model, rep.ROCAUC, rep.PRAUC, rep.AlertFPR*100, rep.RecallByType)
		var names []string
		for n := range rep.Weights {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return math.Abs(rep.Weights[names[i]]) > math.Abs(rep.Weights[names[j]]) })
		for _, n := range names[:min(10, len(names))] {
			t.Logf("  weight %-16s %+.3f", n, rep.Weights[n])
		}
		if rep.PRAUC < 10*rep.TestFraudRate {
			t.Errorf("%s: PR-AUC %.4f is under ten times the fraud rate %.4f", model, rep.PRAUC, rep.TestFraudRate)
		}
		if rep.ROCAUC < 0.85 || rep.ROCAUC > 0.99 {
			t.Errorf("%s: ROC-AUC %.4f outside [0.85, 0.99]", model, rep.ROCAUC)
		}
		if len(rep.RecallByType) != synth.NumFraudTypes-1 {
			t.Errorf("%s: recall for %d fraud types, want %d", model, len(rep.RecallByType), synth.NumFraudTypes-1)
		}
	}
}

// Leakage guard: no raw column alone finds the fraud.
func TestNoRawColumnLeaks(t *testing.T) {
	txs := transactions(t, 200_000, 0.015)
	for name, a := range RawColumnPRAUC(txs, 0.7) {
		t.Logf("%-18s PR-AUC %.4f", name, a)
		if a > 0.9 {
			t.Errorf("column %s alone reaches PR-AUC %.3f > 0.9", name, a)
		}
	}
}

func TestCurves(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4}
	perfect := []bool{true, true, false, false, false, false}
	if a, p, _, _ := Curves(scores, perfect, 10); a != 1 || p != 1 {
		t.Fatalf("perfect ranking: ROC-AUC %v PR-AUC %v", a, p)
	}
	worst := []bool{false, false, false, false, true, true}
	if a := ROCAUC(scores, worst); a != 0 {
		t.Fatalf("reversed ranking: ROC-AUC %v", a)
	}
	tied := []float64{1, 1, 1, 1}
	if a := ROCAUC(tied, []bool{true, false, true, false}); a != 0.5 {
		t.Fatalf("all ties: ROC-AUC %v, want 0.5", a)
	}
	// Average precision of hits at ranks 1 and 3: (1 + 2/3) / 2.
	if p := PRAUC([]float64{4, 3, 2, 1}, []bool{true, false, true, false}); math.Abs(p-5.0/6) > 1e-12 {
		t.Fatalf("PR-AUC %v, want 5/6", p)
	}
}

// A GBT learns an interaction a logistic regression cannot: the label is
// x0 XOR x1.
func TestGBTLearnsInteractions(t *testing.T) {
	const n = 4000
	x := make([]float64, 2*n)
	y := make([]float64, n)
	for i := range n {
		a, b := float64(i%2), float64(i/2%2)
		x[2*i], x[2*i+1] = a+0.01*float64(i%7), b+0.01*float64(i%5)
		if a != b {
			y[i] = 1
		}
	}
	m := TrainGBT(x, 2, y, GBTOptions{Trees: 30, Depth: 2})
	scores := make([]float64, n)
	labels := make([]bool, n)
	for i := range n {
		scores[i] = m.Score(x[2*i : 2*i+2])
		labels[i] = y[i] == 1
	}
	if a := ROCAUC(scores, labels); a < 0.99 {
		t.Fatalf("XOR: ROC-AUC %.3f", a)
	}
}
