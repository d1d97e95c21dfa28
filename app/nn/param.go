package nn

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Param is one trainable tensor (a matrix or a row vector) with its gradient.
// Data and Grad are row-major and Rows*Cols long.
type Param struct {
	Name       string
	Rows, Cols int
	Data       []float64
	Grad       []float64
}

// NewParam returns a zeroed parameter of the given shape.
func NewParam(name string, rows, cols int) *Param {
	return &Param{
		Name: name, Rows: rows, Cols: cols,
		Data: make([]float64, rows*cols),
		Grad: make([]float64, rows*cols),
	}
}

// Mat returns the parameter as a matrix sharing its memory.
func (p *Param) Mat() *mat.Dense { return mat.NewDense(p.Rows, p.Cols, p.Data) }

// ZeroGrad sets every gradient of params to zero.
func ZeroGrad(params []*Param) {
	for _, p := range params {
		clear(p.Grad)
	}
}

// GradNorm returns the global L2 norm of all gradients.
func GradNorm(params []*Param) float64 {
	var s float64
	for _, p := range params {
		for _, g := range p.Grad {
			s += g * g
		}
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales all gradients so that their global L2 norm is at most
// maxNorm, as torch.nn.utils.clip_grad_norm_ does, and returns the norm
// before clipping.
func ClipGradNorm(params []*Param, maxNorm float64) float64 {
	total := GradNorm(params)
	coef := maxNorm / (total + 1e-6)
	if coef < 1 {
		for _, p := range params {
			for i := range p.Grad {
				p.Grad[i] *= coef
			}
		}
	}
	return total
}

// Polyak moves every target parameter towards its source:
// target = tau*source + (1-tau)*target.
func Polyak(target, source []*Param, tau float64) {
	for i, t := range target {
		s := source[i].Data
		for j := range t.Data {
			t.Data[j] = tau*s[j] + (1-tau)*t.Data[j]
		}
	}
}

// CopyParams copies the values of src into dst; shapes must match.
func CopyParams(dst, src []*Param) error {
	if len(dst) != len(src) {
		return fmt.Errorf("copy params: %d tensors into %d", len(src), len(dst))
	}
	for i, d := range dst {
		s := src[i]
		if d.Rows != s.Rows || d.Cols != s.Cols {
			return fmt.Errorf("copy params: tensor %d is %dx%d, source %dx%d", i, d.Rows, d.Cols, s.Rows, s.Cols)
		}
		copy(d.Data, s.Data)
	}
	return nil
}

// CountParams returns the number of scalars in params.
func CountParams(params []*Param) int {
	n := 0
	for _, p := range params {
		n += len(p.Data)
	}
	return n
}
