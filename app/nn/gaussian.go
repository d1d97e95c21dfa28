package nn

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// halfLog2Pi is ½·log(2π).
var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

// Gaussian is a batch of diagonal Gaussian distributions, one row per
// sample, with means and log standard deviations of the same shape.
type Gaussian struct {
	Mean, LogStd *mat.Dense
}

// LogProb returns Σ_d log N(a_d; μ_d, σ_d) for every row of a.
func (g Gaussian) LogProb(a *mat.Dense) []float64 {
	r, c := g.Mean.Dims()
	out := make([]float64, r)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			ls := g.LogStd.At(i, j)
			z := (a.At(i, j) - g.Mean.At(i, j)) / math.Exp(ls)
			out[i] += -0.5*z*z - ls - halfLog2Pi
		}
	}
	return out
}

// Entropy returns Σ_d (½ + ½·log 2π + log σ_d) for every row.
func (g Gaussian) Entropy() []float64 {
	r, c := g.Mean.Dims()
	out := make([]float64, r)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[i] += 0.5 + halfLog2Pi + g.LogStd.At(i, j)
		}
	}
	return out
}

// Sample draws one action per row.
func (g Gaussian) Sample(rng *rand.Rand) *mat.Dense {
	r, c := g.Mean.Dims()
	out := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Set(i, j, g.Mean.At(i, j)+math.Exp(g.LogStd.At(i, j))*rng.NormFloat64())
		}
	}
	return out
}

// Backward returns dL/dμ and dL/dlogσ given the actions a and dL/dlogp and
// dL/dentropy per row (either may be nil).
//
//	∂log p/∂μ = (a−μ)/σ²,   ∂log p/∂log σ = z² − 1,   ∂H/∂log σ = 1
func (g Gaussian) Backward(a *mat.Dense, dLogP, dEntropy []float64) (dMean, dLogStd *mat.Dense) {
	r, c := g.Mean.Dims()
	dMean = mat.NewDense(r, c, nil)
	dLogStd = mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			var dm, dl float64
			if dLogP != nil {
				s := math.Exp(g.LogStd.At(i, j))
				z := (a.At(i, j) - g.Mean.At(i, j)) / s
				dm = dLogP[i] * z / s
				dl = dLogP[i] * (z*z - 1)
			}
			if dEntropy != nil {
				dl += dEntropy[i]
			}
			dMean.Set(i, j, dm)
			dLogStd.Set(i, j, dl)
		}
	}
	return dMean, dLogStd
}
