package nn

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Activation names a nonlinearity for NewMLP.
type Activation string

// The activations NewMLP knows.
const (
	ActTanh Activation = "tanh"
	ActReLU Activation = "relu"
	ActELU  Activation = "elu"
)

// newActivation returns the layer for a; it panics on an unknown name,
// which is a programming error.
func newActivation(a Activation) Layer {
	switch a {
	case ActTanh:
		return &Tanh{}
	case ActReLU:
		return &ReLU{}
	case ActELU:
		return &ELU{Alpha: 1}
	}
	panic("nn: unknown activation " + string(a))
}

// Tanh applies tanh element-wise.
type Tanh struct{ y *mat.Dense }

// Forward computes tanh(x).
func (t *Tanh) Forward(x *mat.Dense) *mat.Dense {
	t.y = apply(x, math.Tanh)
	return t.y
}

// Backward returns dy·(1−y²).
func (t *Tanh) Backward(dy *mat.Dense) *mat.Dense {
	return zip(dy, t.y, func(g, y float64) float64 { return g * (1 - y*y) })
}

// Params returns nil.
func (t *Tanh) Params() []*Param { return nil }

// ReLU applies max(0, x) element-wise.
type ReLU struct{ x *mat.Dense }

// Forward computes max(0, x).
func (r *ReLU) Forward(x *mat.Dense) *mat.Dense {
	r.x = x
	return apply(x, func(v float64) float64 { return max(v, 0) })
}

// Backward passes dy where x > 0.
func (r *ReLU) Backward(dy *mat.Dense) *mat.Dense {
	return zip(dy, r.x, func(g, x float64) float64 {
		if x > 0 {
			return g
		}
		return 0
	})
}

// Params returns nil.
func (r *ReLU) Params() []*Param { return nil }

// ELU applies x for x > 0 and Alpha·(eˣ−1) otherwise.
type ELU struct {
	Alpha float64
	x, y  *mat.Dense
}

// Forward computes elu(x).
func (e *ELU) Forward(x *mat.Dense) *mat.Dense {
	e.x = x
	e.y = apply(x, func(v float64) float64 {
		if v > 0 {
			return v
		}
		return e.Alpha * math.Expm1(v)
	})
	return e.y
}

// Backward returns dy for x > 0 and dy·(y+Alpha) otherwise.
func (e *ELU) Backward(dy *mat.Dense) *mat.Dense {
	out := zip(dy, e.x, func(g, x float64) float64 {
		if x > 0 {
			return g
		}
		return g * e.Alpha * math.Exp(x)
	})
	return out
}

// Params returns nil.
func (e *ELU) Params() []*Param { return nil }

// apply returns f applied to every element of x.
func apply(x *mat.Dense, f func(float64) float64) *mat.Dense {
	r, c := x.Dims()
	out := mat.NewDense(r, c, nil)
	xr, or := x.RawMatrix(), out.RawMatrix()
	for i := 0; i < r; i++ {
		xs := xr.Data[i*xr.Stride : i*xr.Stride+c]
		os := or.Data[i*or.Stride : i*or.Stride+c]
		for j, v := range xs {
			os[j] = f(v)
		}
	}
	return out
}

// zip returns f(a, b) element-wise; a and b have the same shape.
func zip(a, b *mat.Dense, f func(a, b float64) float64) *mat.Dense {
	r, c := a.Dims()
	out := mat.NewDense(r, c, nil)
	ar, br, or := a.RawMatrix(), b.RawMatrix(), out.RawMatrix()
	for i := 0; i < r; i++ {
		as := ar.Data[i*ar.Stride : i*ar.Stride+c]
		bs := br.Data[i*br.Stride : i*br.Stride+c]
		os := or.Data[i*or.Stride : i*or.Stride+c]
		for j := range as {
			os[j] = f(as[j], bs[j])
		}
	}
	return out
}
