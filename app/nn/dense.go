package nn

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Layer is one differentiable step of a network.
type Layer interface {
	// Forward maps a batch (one sample per row) and caches what Backward needs.
	Forward(x *mat.Dense) *mat.Dense
	// Backward takes dL/dy for the last Forward, accumulates parameter
	// gradients and returns dL/dx.
	Backward(dy *mat.Dense) *mat.Dense
	// Params returns the trainable tensors (none for activations).
	Params() []*Param
}

// Dense is a fully connected layer y = x W + b, with W of shape in×out.
type Dense struct {
	W, B *Param
	x    *mat.Dense
}

// NewDense returns a layer with orthogonal weights scaled by gain and zero
// bias, the initialisation CleanRL and Stable-Baselines3 use.
func NewDense(rng *rand.Rand, in, out int, gain float64) *Dense {
	d := &Dense{W: NewParam("W", in, out), B: NewParam("b", 1, out)}
	Orthogonal(rng, in, out, gain, d.W.Data)
	return d
}

// Forward computes x W + b.
func (d *Dense) Forward(x *mat.Dense) *mat.Dense {
	d.x = x
	n, _ := x.Dims()
	y := mat.NewDense(n, d.W.Cols, nil)
	raw := y.RawMatrix()
	for i := 0; i < n; i++ {
		copy(raw.Data[i*raw.Stride:i*raw.Stride+d.W.Cols], d.B.Data)
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, x.RawMatrix(), d.wGeneral(d.W.Data), 1, raw)
	return y
}

// Backward accumulates dW = xᵀ dy and db = Σ dy, and returns dy Wᵀ.
func (d *Dense) Backward(dy *mat.Dense) *mat.Dense {
	n, _ := dy.Dims()
	dr := dy.RawMatrix()
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, d.x.RawMatrix(), dr, 1, d.wGeneral(d.W.Grad))
	for i := 0; i < n; i++ {
		row := dr.Data[i*dr.Stride : i*dr.Stride+d.W.Cols]
		for j, v := range row {
			d.B.Grad[j] += v
		}
	}
	dx := mat.NewDense(n, d.W.Rows, nil)
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, dr, d.wGeneral(d.W.Data), 0, dx.RawMatrix())
	return dx
}

// Params returns W and b.
func (d *Dense) Params() []*Param { return []*Param{d.W, d.B} }

func (d *Dense) wGeneral(data []float64) blas64.General {
	return blas64.General{Rows: d.W.Rows, Cols: d.W.Cols, Stride: d.W.Cols, Data: data}
}
