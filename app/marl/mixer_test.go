package marl

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func randDense(rng *rand.Rand, r, c int, scale float64) *mat.Dense {
	m := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			m.Set(i, j, scale*rng.NormFloat64())
		}
	}
	return m
}

// ∂Q_tot/∂q_i ≥ 0 for random states and utilities, both from the analytic
// backward pass and by finite differences.
func TestQMixerMonotonic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		// Half the mixers start with a hypernetwork bias (HyperBias), of
		// either sign: the |·| on the weights must keep the mixer monotonic.
		bias := 0.0
		if trial%2 == 1 {
			bias = rng.Float64() - 0.5
		}
		m := NewQMixer(rng, 3, 6, 8, 1, bias)
		q, s := randDense(rng, 16, 3, 5), randDense(rng, 16, 6, 2)
		y := m.Forward(q, s)
		ones := mat.NewDense(16, 1, nil)
		for r := 0; r < 16; r++ {
			ones.Set(r, 0, 1)
		}
		dq := m.Backward(ones)
		for r := 0; r < 16; r++ {
			for i := 0; i < 3; i++ {
				if dq.At(r, i) < 0 {
					t.Fatalf("trial %d row %d: ∂Q_tot/∂q_%d = %g", trial, r, i, dq.At(r, i))
				}
				qp := mat.DenseCopyOf(q)
				qp.Set(r, i, q.At(r, i)+0.5)
				if yp := m.Forward(qp, s); yp.At(r, 0) < y.At(r, 0)-1e-12 {
					t.Fatalf("trial %d row %d: raising q_%d lowered Q_tot from %g to %g", trial, r, i, y.At(r, 0), yp.At(r, 0))
				}
			}
		}
	}
}

// The analytic gradients of the mixer (parameters and inputs) match central
// finite differences of L = Σ c_r Q_tot,r.
func TestQMixerGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := NewQMixer(rng, 3, 5, 4, 1, 0)
	q, s := randDense(rng, 6, 3, 1), randDense(rng, 6, 5, 1)
	c := randDense(rng, 6, 1, 1)
	loss := func() float64 {
		y := m.Forward(q, s)
		var l float64
		for r := 0; r < 6; r++ {
			l += c.At(r, 0) * y.At(r, 0)
		}
		return l
	}
	for _, p := range m.Params() {
		clear(p.Grad)
	}
	loss()
	dq := m.Backward(c)
	const h = 1e-6
	check := func(name string, analytic float64, x *float64) {
		t.Helper()
		old := *x
		*x = old + h
		lp := loss()
		*x = old - h
		lm := loss()
		*x = old
		num := (lp - lm) / (2 * h)
		if math.Abs(num-analytic) > 1e-6*max(1, math.Abs(num)) {
			t.Errorf("%s: analytic %.9g, numeric %.9g", name, analytic, num)
		}
	}
	for _, p := range m.Params() {
		for j := range p.Data {
			check(p.Name, p.Grad[j], &p.Data[j])
		}
	}
	raw := q.RawMatrix()
	for r := 0; r < 6; r++ {
		for i := 0; i < 3; i++ {
			check("q", dq.At(r, i), &raw.Data[r*raw.Stride+i])
		}
	}
}

func TestVDNSums(t *testing.T) {
	var v VDN
	q := mat.NewDense(2, 3, []float64{1, 2, 3, -1, 0, 4})
	y := v.Forward(q, nil)
	if y.At(0, 0) != 6 || y.At(1, 0) != 3 {
		t.Fatalf("Q_tot %v", mat.Formatted(y))
	}
	g := v.Backward(mat.NewDense(2, 1, []float64{2, 3}))
	if g.At(0, 2) != 2 || g.At(1, 0) != 3 {
		t.Fatalf("dq %v", mat.Formatted(g))
	}
}
