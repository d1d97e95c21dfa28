package marl

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// GumbelSoftmax draws a relaxed one-hot sample from each row of logits:
// y = softmax((logits + g)/τ) with g standard Gumbel noise (Jang et al.
// 2017). It returns the soft sample and the index of its largest entry, the
// hard sample that straight-through estimators use forward.
func GumbelSoftmax(logits *mat.Dense, temp float64, rng *rand.Rand) (soft *mat.Dense, hard []int) {
	r, c := logits.Dims()
	soft = mat.NewDense(r, c, nil)
	hard = make([]int, r)
	z := make([]float64, c)
	for i := 0; i < r; i++ {
		mx := math.Inf(-1)
		for j, l := range logits.RawRowView(i) {
			u := rng.Float64()
			for u == 0 {
				u = rng.Float64()
			}
			z[j] = (l - math.Log(-math.Log(u))) / temp
			if z[j] > mx {
				mx, hard[i] = z[j], j
			}
		}
		softmaxRow(z, mx, soft.RawRowView(i))
	}
	return soft, hard
}

// softmaxRow writes softmax(z) into out, given mx = max(z).
func softmaxRow(z []float64, mx float64, out []float64) {
	var s float64
	for j, v := range z {
		out[j] = math.Exp(v - mx)
		s += out[j]
	}
	for j := range out {
		out[j] /= s
	}
}

// GumbelSoftmaxBackward returns dL/dlogits given dL/dy for the soft sample
// y of temperature temp: (1/τ)·y⊙(dy − Σ y·dy).
func GumbelSoftmaxBackward(soft, dy *mat.Dense, temp float64) *mat.Dense {
	r, c := soft.Dims()
	out := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		y, g, o := soft.RawRowView(i), dy.RawRowView(i), out.RawRowView(i)
		var dot float64
		for j := range y {
			dot += y[j] * g[j]
		}
		for j := range y {
			o[j] = y[j] * (g[j] - dot) / temp
		}
	}
	return out
}
