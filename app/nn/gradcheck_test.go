package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// gradCase is one finite-difference check: loss evaluates the scalar at the
// current values of inputs, grads computes the analytic gradient of each
// input (same order and lengths).
type gradCase struct {
	name   string
	inputs func() [][]float64
	loss   func() float64
	grads  func() [][]float64
}

func randMat(rng *rand.Rand, r, c int, scale float64) *mat.Dense {
	m := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			m.Set(i, j, scale*rng.NormFloat64())
		}
	}
	return m
}

// awayFromZero pushes values away from the kink of ReLU/ELU so that a central
// difference with step h never straddles it.
func awayFromZero(m *mat.Dense) *mat.Dense {
	raw := m.RawMatrix()
	for i, v := range raw.Data {
		if math.Abs(v) < 0.05 {
			raw.Data[i] = math.Copysign(0.05+math.Abs(v), v)
		}
	}
	return m
}

// weighted returns Σ y⊙R: a loss whose gradient with respect to y is R.
func weighted(y, r *mat.Dense) float64 { return mat.Sum(mulElem(y, r)) }

func mulElem(a, b *mat.Dense) *mat.Dense {
	var out mat.Dense
	out.MulElem(a, b)
	return &out
}

// layerCase checks dL/dx and dL/dθ of a layer under L = Σ f(x)⊙R.
func layerCase(name string, l Layer, x, r *mat.Dense) gradCase {
	return gradCase{
		name: name,
		inputs: func() [][]float64 {
			in := [][]float64{x.RawMatrix().Data}
			for _, p := range l.Params() {
				in = append(in, p.Data)
			}
			return in
		},
		loss: func() float64 { return weighted(l.Forward(x), r) },
		grads: func() [][]float64 {
			ZeroGrad(l.Params())
			l.Forward(x)
			dx := l.Backward(r)
			out := [][]float64{dx.RawMatrix().Data}
			for _, p := range l.Params() {
				out = append(out, p.Grad)
			}
			return out
		},
	}
}

func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 5
	var cases []gradCase

	cases = append(cases,
		layerCase("dense", NewDense(rng, 4, 3, 1.3), randMat(rng, n, 4, 1), randMat(rng, n, 3, 1)),
		layerCase("tanh", &Tanh{}, randMat(rng, n, 3, 1.5), randMat(rng, n, 3, 1)),
		layerCase("relu", &ReLU{}, awayFromZero(randMat(rng, n, 3, 1)), randMat(rng, n, 3, 1)),
		layerCase("elu", &ELU{Alpha: 1}, awayFromZero(randMat(rng, n, 3, 1)), randMat(rng, n, 3, 1)),
	)
	for _, act := range []Activation{ActTanh, ActReLU, ActELU} {
		m := NewMLP(rng, []int{4, 8, 8, 2}, act, math.Sqrt2, 1)
		cases = append(cases, layerCase("mlp-"+string(act), m, randMat(rng, n, 4, 1), randMat(rng, n, 2, 1)))
	}

	// Categorical: L = Σ c_i log p(a_i) + e_i H_i.
	{
		logits := randMat(rng, n, 4, 1.5)
		acts := []int{0, 3, 1, 2, 3}
		c := []float64{0.3, -1.2, 0.7, 2, -0.4}
		e := []float64{-0.5, 0.1, 1.1, -0.3, 0.8}
		cases = append(cases, gradCase{
			name:   "categorical",
			inputs: func() [][]float64 { return [][]float64{logits.RawMatrix().Data} },
			loss: func() float64 {
				d := NewCategorical(logits)
				lp, h := d.LogProb(acts), d.Entropy()
				var l float64
				for i := range lp {
					l += c[i]*lp[i] + e[i]*h[i]
				}
				return l
			},
			grads: func() [][]float64 {
				return [][]float64{NewCategorical(logits).Backward(acts, c, e).RawMatrix().Data}
			},
		})
	}

	// Diagonal Gaussian: L = Σ c_i log p(a_i) + e_i H_i.
	{
		mean, logStd, a := randMat(rng, n, 2, 1), randMat(rng, n, 2, 0.5), randMat(rng, n, 2, 1)
		c := []float64{0.3, -1.2, 0.7, 2, -0.4}
		e := []float64{-0.5, 0.1, 1.1, -0.3, 0.8}
		cases = append(cases, gradCase{
			name:   "gaussian",
			inputs: func() [][]float64 { return [][]float64{mean.RawMatrix().Data, logStd.RawMatrix().Data} },
			loss: func() float64 {
				g := Gaussian{Mean: mean, LogStd: logStd}
				lp, h := g.LogProb(a), g.Entropy()
				var l float64
				for i := range lp {
					l += c[i]*lp[i] + e[i]*h[i]
				}
				return l
			},
			grads: func() [][]float64 {
				dm, dl := Gaussian{Mean: mean, LogStd: logStd}.Backward(a, c, e)
				return [][]float64{dm.RawMatrix().Data, dl.RawMatrix().Data}
			},
		})
	}

	// Tanh-squashed Gaussian: L = Σ R⊙action + c_i log π_i, ε fixed.
	{
		h := SquashedGaussian{LogStdMin: -5, LogStdMax: 2, Scale: []float64{2, 0.5}, Bias: []float64{0, 0.25}}
		// Inputs keep tanh(u) away from saturation, where 1−tanh²u cancels
		// catastrophically and the finite difference (not the analytic
		// gradient) loses its digits.
		mean, raw, eps := randMat(rng, n, 2, 0.4), randMat(rng, n, 2, 0.7), randMat(rng, n, 2, 0.5)
		r := randMat(rng, n, 2, 1)
		c := []float64{0.3, -1.2, 0.7, 2, -0.4}
		cases = append(cases, gradCase{
			name:   "squashed-gaussian",
			inputs: func() [][]float64 { return [][]float64{mean.RawMatrix().Data, raw.RawMatrix().Data} },
			loss: func() float64 {
				s := h.SampleWith(mean, raw, eps)
				l := weighted(s.Action, r)
				for i, lp := range s.LogProb {
					l += c[i] * lp
				}
				return l
			},
			grads: func() [][]float64 {
				dm, dr := h.Backward(h.SampleWith(mean, raw, eps), r, c)
				return [][]float64{dm.RawMatrix().Data, dr.RawMatrix().Data}
			},
		})
	}

	// Mean squared error.
	{
		pred := randMat(rng, n, 1, 1)
		target := []float64{0.1, -2, 0.5, 1, 3}
		cases = append(cases, gradCase{
			name:   "mse",
			inputs: func() [][]float64 { return [][]float64{pred.RawMatrix().Data} },
			loss:   func() float64 { l, _ := MSE(pred, target, 0.5); return l },
			grads: func() [][]float64 {
				_, g := MSE(pred, target, 0.5)
				return [][]float64{g.RawMatrix().Data}
			},
		})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			CheckGradients(t, tc.inputs(), tc.loss, tc.grads)
		})
	}
}

// CheckGradients compares analytic gradients with central differences and
// fails when any element's relative error reaches 1e-6.
func CheckGradients(t *testing.T, inputs [][]float64, loss func() float64, grads func() [][]float64) {
	t.Helper()
	const h = 1e-5
	analytic := grads()
	worst := 0.0
	for k, in := range inputs {
		an := append([]float64(nil), analytic[k]...)
		if len(an) != len(in) {
			t.Fatalf("input %d: %d gradients for %d values", k, len(an), len(in))
		}
		for i := range in {
			orig := in[i]
			in[i] = orig + h
			lp := loss()
			in[i] = orig - h
			lm := loss()
			in[i] = orig
			num := (lp - lm) / (2 * h)
			rel := relErr(an[i], num)
			worst = max(worst, rel)
			if rel >= 1e-6 {
				t.Errorf("input %d[%d]: analytic %.12g, numeric %.12g, relative error %.3g", k, i, an[i], num, rel)
			}
		}
	}
	t.Logf("worst relative error %.3g", worst)
}

// relErr is |a−n| / max(|a|, |n|), taken as 0 when both are below 1e-10
// (a gradient that is exactly zero, such as a dead ReLU unit).
func relErr(a, n float64) float64 {
	d := math.Max(math.Abs(a), math.Abs(n))
	if d < 1e-10 {
		return 0
	}
	return math.Abs(a-n) / d
}
