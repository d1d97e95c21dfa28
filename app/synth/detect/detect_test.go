package detect

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
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
		rep, err := Evaluate(txs, Options{Model: model})
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

// Leakage guard: no raw column alone finds the fraud. The bound is the
// realism test's (synth's TestDataNotTooClean, issue 22 item 4): 0.3, twenty
// times the fraud rate.
func TestNoRawColumnLeaks(t *testing.T) {
	txs := transactions(t, 200_000, 0.015)
	for name, a := range RawColumnPRAUC(txs, 0.7) {
		t.Logf("%-18s PR-AUC %.4f", name, a)
		if a > 0.3 {
			t.Errorf("column %s alone reaches PR-AUC %.3f > 0.3", name, a)
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
	m := TrainGBT(x, 2, y, GBTOptions{Trees: 30, Depth: 2, Rate: 0.2})
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

// Bin edges: midpoints between the distinct values when there are few
// (a one-hot column gets one edge at 0.5), else at most Bins-1 increasing
// quantile edges, with every bin holding rows.
func TestBinEdges(t *testing.T) {
	cases := []struct {
		name string
		v    []float64
		bins int
		want []float64
	}{
		{"one-hot", []float64{0, 1, 1, 0, 0}, 255, []float64{0.5}},
		{"constant", []float64{3, 3, 3}, 255, nil},
		{"few distinct", []float64{4, 1, 2, 2, 1}, 255, []float64{1.5, 3}},
		{"quantiles", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 4, []float64{1.5, 3.5, 5.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := binEdges(slices.Clone(c.v), c.bins)
			if !slices.Equal(got, c.want) {
				t.Fatalf("edges %v, want %v", got, c.want)
			}
		})
	}
	t.Run("many values", func(t *testing.T) {
		v := make([]float64, 100_000)
		for i := range v {
			v[i] = math.Exp(float64(i%9973) / 1000)
		}
		edges := binEdges(slices.Clone(v), 255)
		if len(edges) != 254 || !slices.IsSorted(edges) {
			t.Fatalf("%d edges (sorted %v), want 254 increasing", len(edges), slices.IsSorted(edges))
		}
		var count [255]int
		for _, x := range v {
			count[binOf(edges, x)]++
		}
		for k, c := range count {
			if c < len(v)/255/2 || c > len(v)/255*2 {
				t.Fatalf("bin %d holds %d of %d rows", k, c, len(v))
			}
		}
	})
}

// noisyData is a learnable but noisy problem: the label's log-odds are a
// non-linear function of the first two of d features plus noise.
func noisyData(n, d int, seed uint64) (x, y []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	x = make([]float64, n*d)
	y = make([]float64, n)
	for i := range n {
		for j := range d {
			x[i*d+j] = r.NormFloat64()
		}
		a, b := x[i*d], x[i*d+1]
		if r.Float64() < sigmoid(2*a*b-1+math.Sin(3*a)) {
			y[i] = 1
		}
	}
	return x, y
}

// The trainer is deterministic, respects the least rows per leaf and the
// leaf budget, and early stopping keeps only the trees up to the best
// validation loss (pure-noise labels stop it almost at once).
func TestGBTTraining(t *testing.T) {
	const n, d = 20_000, 5
	x, y := noisyData(n, d, 1)
	opt := GBTOptions{Trees: 80, Rate: 0.1, MinLeaf: 50, MaxLeaves: 15}
	a, b := TrainGBT(x, d, y, opt), TrainGBT(x, d, y, opt)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two fits of the same data differ")
	}
	if c := TrainGBT(x, d, y, GBTOptions{Trees: 80, Rate: 0.1, MinLeaf: 50, MaxLeaves: 15, Seed: 7}); reflect.DeepEqual(a, c) {
		t.Error("another validation seed gave the same model")
	}
	bins := make([]uint8, n*d)
	for i := range bins {
		bins[i] = binOf(a.Edges[i%d], x[i])
	}
	for k, tr := range a.Trees {
		leaves := map[int]int{}
		for i := range n {
			leaves[tr.leaf(bins[i*d:(i+1)*d])]++
		}
		if len(leaves) > 15 {
			t.Fatalf("tree %d has %d leaves, want at most 15", k, len(leaves))
		}
		for leaf, c := range leaves {
			// c counts the validation rows too, so it can only be higher.
			if c < 50 {
				t.Fatalf("tree %d leaf %d holds %d rows, want at least 50 training rows", k, leaf, c)
			}
		}
	}
	scores := make([]float64, n)
	labels := make([]bool, n)
	for i := range n {
		scores[i] = a.Score(x[i*d : (i+1)*d])
		labels[i] = y[i] == 1
	}
	if auc := ROCAUC(scores, labels); auc < 0.75 {
		t.Errorf("ROC-AUC %.3f on its own training data, want at least 0.75", auc)
	}

	noise := make([]float64, n)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range noise {
		if r.Float64() < 0.3 {
			noise[i] = 1
		}
	}
	m := TrainGBT(x, d, noise, GBTOptions{Trees: 200, Rate: 0.1})
	if len(m.Trees) > 20 {
		t.Errorf("pure noise kept %d trees, want early stopping within 20", len(m.Trees))
	}
	if all := TrainGBT(x, d, noise, GBTOptions{Trees: 50, Rate: 0.1, Validation: -1}); len(all.Trees) != 50 {
		t.Errorf("without validation %d trees, want all 50", len(all.Trees))
	}
}
