package nn

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Categorical is a batch of categorical distributions given by logits, one
// row per sample.
type Categorical struct {
	LogP *mat.Dense // row-wise log-softmax of the logits
}

// NewCategorical normalises logits with a numerically stable log-softmax.
func NewCategorical(logits *mat.Dense) Categorical {
	r, c := logits.Dims()
	lp := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		row := logits.RawRowView(i)
		mx := math.Inf(-1)
		for _, v := range row {
			mx = max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		lse := mx + math.Log(s)
		out := lp.RawRowView(i)
		for j, v := range row {
			out[j] = v - lse
		}
	}
	return Categorical{LogP: lp}
}

// LogProb returns log p(actions[i]) for every row.
func (c Categorical) LogProb(actions []int) []float64 {
	out := make([]float64, len(actions))
	for i, a := range actions {
		out[i] = c.LogP.At(i, a)
	}
	return out
}

// Entropy returns −Σ p log p for every row.
func (c Categorical) Entropy() []float64 {
	r, _ := c.LogP.Dims()
	out := make([]float64, r)
	for i := range out {
		for _, lp := range c.LogP.RawRowView(i) {
			out[i] -= math.Exp(lp) * lp
		}
	}
	return out
}

// Sample draws one action per row by inverse transform.
func (c Categorical) Sample(rng *rand.Rand) []int {
	r, k := c.LogP.Dims()
	out := make([]int, r)
	for i := range out {
		u := rng.Float64()
		out[i] = k - 1
		var cum float64
		for j, lp := range c.LogP.RawRowView(i) {
			cum += math.Exp(lp)
			if u < cum {
				out[i] = j
				break
			}
		}
	}
	return out
}

// Mode returns the most probable action of every row.
func (c Categorical) Mode() []int {
	r, _ := c.LogP.Dims()
	out := make([]int, r)
	for i := range out {
		best := math.Inf(-1)
		for j, lp := range c.LogP.RawRowView(i) {
			if lp > best {
				best, out[i] = lp, j
			}
		}
	}
	return out
}

// Backward returns dL/dlogits given dL/dlogp (for the chosen actions) and
// dL/dentropy, one value per row; either may be nil.
//
//	∂log p_a/∂z_j = δ_aj − p_j,   ∂H/∂z_j = −p_j (log p_j + H)
func (c Categorical) Backward(actions []int, dLogP, dEntropy []float64) *mat.Dense {
	r, k := c.LogP.Dims()
	g := mat.NewDense(r, k, nil)
	var h []float64
	if dEntropy != nil {
		h = c.Entropy()
	}
	for i := 0; i < r; i++ {
		lps := c.LogP.RawRowView(i)
		out := g.RawRowView(i)
		for j, lp := range lps {
			p := math.Exp(lp)
			var v float64
			if dLogP != nil {
				v -= dLogP[i] * p
				if j == actions[i] {
					v += dLogP[i]
				}
			}
			if dEntropy != nil {
				v -= dEntropy[i] * p * (lp + h[i])
			}
			out[j] = v
		}
	}
	return g
}
