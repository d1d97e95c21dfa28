package nn

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// SquashedGaussian is the tanh-squashed diagonal Gaussian policy head of SAC.
// The network's raw log-σ output is bounded to [LogStdMin, LogStdMax] with a
// tanh, and actions are Scale·tanh(u) + Bias with u ~ N(μ, σ²), drawn by the
// reparameterisation u = μ + σ·ε.
type SquashedGaussian struct {
	LogStdMin, LogStdMax float64
	Scale, Bias          []float64 // per action dimension
}

// SquashedSample is one reparameterised draw and what its backward needs.
type SquashedSample struct {
	Action  *mat.Dense // Scale·tanh(u) + Bias
	LogProb []float64  // log π(a|s) with the tanh correction, per row
	Mode    *mat.Dense // Scale·tanh(μ) + Bias, the deterministic action

	mean, raw, logStd, eps, y *mat.Dense
}

// LogStd maps raw network outputs to bounded log standard deviations.
func (h SquashedGaussian) LogStd(raw float64) float64 {
	return h.LogStdMin + 0.5*(h.LogStdMax-h.LogStdMin)*(math.Tanh(raw)+1)
}

// Sample draws ε from rng and returns the squashed action and its log-prob.
func (h SquashedGaussian) Sample(mean, raw *mat.Dense, rng *rand.Rand) SquashedSample {
	r, c := mean.Dims()
	eps := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			eps.Set(i, j, rng.NormFloat64())
		}
	}
	return h.SampleWith(mean, raw, eps)
}

// SampleWith is Sample with the noise ε given.
//
//	log π = Σ_d [ −½ε² − log σ − ½ log 2π − log(Scale·(1−tanh²u) + 1e-6) ]
func (h SquashedGaussian) SampleWith(mean, raw, eps *mat.Dense) SquashedSample {
	r, c := mean.Dims()
	s := SquashedSample{
		Action: mat.NewDense(r, c, nil), Mode: mat.NewDense(r, c, nil),
		LogProb: make([]float64, r),
		mean:    mean, raw: raw, eps: eps,
		logStd: mat.NewDense(r, c, nil), y: mat.NewDense(r, c, nil),
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			ls := h.LogStd(raw.At(i, j))
			e := eps.At(i, j)
			mu := mean.At(i, j)
			y := math.Tanh(mu + math.Exp(ls)*e)
			s.logStd.Set(i, j, ls)
			s.y.Set(i, j, y)
			s.Action.Set(i, j, h.Scale[j]*y+h.Bias[j])
			s.Mode.Set(i, j, h.Scale[j]*math.Tanh(mu)+h.Bias[j])
			s.LogProb[i] += -0.5*e*e - ls - halfLog2Pi - math.Log(h.Scale[j]*(1-y*y)+1e-6)
		}
	}
	return s
}

// Backward returns dL/dmean and dL/draw given dL/daction (may be nil) and
// dL/dlogprob per row (may be nil), with ε held fixed.
func (h SquashedGaussian) Backward(s SquashedSample, dAction *mat.Dense, dLogP []float64) (dMean, dRaw *mat.Dense) {
	r, c := s.mean.Dims()
	dMean = mat.NewDense(r, c, nil)
	dRaw = mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			y := s.y.At(i, j)
			ls := s.logStd.At(i, j)
			dydu := 1 - y*y
			var du, dls float64
			if dAction != nil {
				du += dAction.At(i, j) * h.Scale[j] * dydu
			}
			if dLogP != nil {
				t := h.Scale[j]*dydu + 1e-6
				du += dLogP[i] * 2 * y * h.Scale[j] * dydu / t
				dls -= dLogP[i]
			}
			dls += du * math.Exp(ls) * s.eps.At(i, j)
			th := math.Tanh(s.raw.At(i, j))
			dMean.Set(i, j, du)
			dRaw.Set(i, j, dls*0.5*(h.LogStdMax-h.LogStdMin)*(1-th*th))
		}
	}
	return dMean, dRaw
}
