package marl

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// With the noise held fixed (the same seed), the soft Gumbel-softmax sample
// is a smooth function of the logits; its backward pass matches central
// finite differences of L = Σ c⊙y.
func TestGumbelSoftmaxBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	logits, c := randDense(rng, 4, 5, 1), randDense(rng, 4, 5, 1)
	const temp = 0.7
	loss := func() float64 {
		y, _ := GumbelSoftmax(logits, temp, rand.New(rand.NewPCG(9, 9)))
		var p mat.Dense
		p.MulElem(y, c)
		return mat.Sum(&p)
	}
	y, hard := GumbelSoftmax(logits, temp, rand.New(rand.NewPCG(9, 9)))
	for r, h := range hard {
		if mat.Row(nil, r, y)[h] != mat.Max(y.RowView(r)) {
			t.Fatalf("row %d: hard sample %d is not the soft sample's argmax", r, h)
		}
	}
	g := GumbelSoftmaxBackward(y, c, temp)
	raw := logits.RawMatrix()
	const h = 1e-6
	for i := range raw.Data {
		old := raw.Data[i]
		raw.Data[i] = old + h
		lp := loss()
		raw.Data[i] = old - h
		lm := loss()
		raw.Data[i] = old
		num := (lp - lm) / (2 * h)
		if an := g.RawMatrix().Data[i]; math.Abs(an-num) > 1e-7 {
			t.Errorf("logit %d: analytic %.9g, numeric %.9g", i, an, num)
		}
	}
}

func TestJointReplay(t *testing.T) {
	r := NewJointReplay(2, 2, 1, 3)
	r.Add([][]float64{{1}, {2}}, []int{0, 2}, []float64{1, 2}, [][]float64{{3}, {4}}, false)
	r.Add([][]float64{{5}, {6}}, []int{1, 1}, []float64{3, 4}, [][]float64{{7}, {8}}, true)
	r.Add([][]float64{{9}, {10}}, []int{2, 0}, []float64{5, 6}, [][]float64{{11}, {12}}, false) // overwrites the first
	if r.Size != 2 || r.Obs[0] != 9 || r.Act[2] != 1 || r.Reward[1] != 6 || r.Terminated[1] != 1 {
		t.Fatalf("buffer %+v", r)
	}
	b := r.Sample(rand.New(rand.NewPCG(1, 1)), 8)
	for s := 0; s < 8; s++ {
		o := b.Obs[0].At(s, 0)
		if b.NextObs[0].At(s, 0) != o+2 || b.Obs[1].At(s, 0) != o+1 || (b.Terminated[s] == 1) != (o == 5) {
			t.Fatalf("sample %d mixes transitions", s)
		}
	}
}

// A short seeded MADDPG run on simple_spread must already beat the random
// policy (−78.6) clearly; the full result is in `metastation bench marl`.
func TestMADDPGSpreadShort(t *testing.T) {
	cfg := DefaultMADDPGConfig("spread")
	cfg.Episodes = 300
	m, err := NewMADDPG(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for !m.Done() {
		m.Run()
	}
	rs := EvaluateTeam(NewSpread(SpreadConfig{}), m, 100, 42, true)
	var mean float64
	for _, r := range rs {
		mean += r / float64(len(rs))
	}
	t.Logf("maddpg after %d episodes (%d updates): greedy return %.1f over %d episodes", m.Episodes, m.Updates, mean, len(rs))
	if mean < -70 {
		t.Errorf("maddpg greedy return %.1f after %d episodes, want better than −70 (random −78.6)", mean, m.Episodes)
	}
}
