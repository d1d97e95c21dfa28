package nn

import (
	"fmt"
	"math"
)

// Adam is the Adam optimiser exactly as torch.optim.Adam's single-tensor
// path computes it (amsgrad off, no weight decay), operation for operation:
//
//	m.lerp_(g, 1−β1); v.mul_(β2).addcmul_(g, g, 1−β2)
//	denom = sqrt(v)/sqrt(1−β2ᵗ) + ε;  θ.addcdiv_(m, denom, −lr/(1−β1ᵗ))
//
// so ε is added to sqrt(v̂), not inside the square root.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	params                []*Param
	state                 AdamState
}

// AdamState is the part of Adam that changes while training.
type AdamState struct {
	Step int
	M, V [][]float64
}

// NewAdam returns Adam over params with PyTorch's defaults (β = 0.9, 0.999,
// ε = 1e-8) and the given learning rate.
func NewAdam(params []*Param, lr float64) *Adam {
	a := &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, params: params}
	a.state.M = make([][]float64, len(params))
	a.state.V = make([][]float64, len(params))
	for i, p := range params {
		a.state.M[i] = make([]float64, len(p.Data))
		a.state.V[i] = make([]float64, len(p.Data))
	}
	return a
}

// Step applies one update from the current gradients.
func (a *Adam) Step() {
	a.state.Step++
	t := float64(a.state.Step)
	bc1 := 1 - math.Pow(a.Beta1, t)
	bc2 := 1 - math.Pow(a.Beta2, t)
	stepSize := a.LR / bc1
	sqrtBC2 := math.Sqrt(bc2)
	for i, p := range a.params {
		m, v := a.state.M[i], a.state.V[i]
		w := 1 - a.Beta1
		for j, g := range p.Grad {
			m[j] = lerp(m[j], g, w)
			v[j] = v[j]*a.Beta2 + (1-a.Beta2)*g*g
			denom := math.Sqrt(v[j])/sqrtBC2 + a.Eps
			p.Data[j] -= stepSize * m[j] / denom
		}
	}
}

// State returns a deep copy of the optimiser state.
func (a *Adam) State() AdamState {
	s := AdamState{Step: a.state.Step, M: make([][]float64, len(a.state.M)), V: make([][]float64, len(a.state.V))}
	for i := range a.state.M {
		s.M[i] = append([]float64(nil), a.state.M[i]...)
		s.V[i] = append([]float64(nil), a.state.V[i]...)
	}
	return s
}

// SetState restores a state taken with State; shapes must match.
func (a *Adam) SetState(s AdamState) error {
	if len(s.M) != len(a.params) || len(s.V) != len(a.params) {
		return fmt.Errorf("adam state: %d tensors, optimiser has %d", len(s.M), len(a.params))
	}
	for i, p := range a.params {
		if len(s.M[i]) != len(p.Data) || len(s.V[i]) != len(p.Data) {
			return fmt.Errorf("adam state: tensor %d has %d values, parameter has %d", i, len(s.M[i]), len(p.Data))
		}
	}
	a.state = AdamState{Step: s.Step, M: make([][]float64, len(s.M)), V: make([][]float64, len(s.V))}
	for i := range s.M {
		a.state.M[i] = append([]float64(nil), s.M[i]...)
		a.state.V[i] = append([]float64(nil), s.V[i]...)
	}
	return nil
}

// lerp is torch.lerp's formula: the form used depends on the weight, for
// accuracy at both ends.
func lerp(a, b, w float64) float64 {
	if math.Abs(w) < 0.5 {
		return a + w*(b-a)
	}
	return b - (b-a)*(1-w)
}
