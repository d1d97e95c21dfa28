package nn

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// MLP is a stack of layers applied in order.
type MLP struct {
	Layers []Layer
}

// NewMLP builds Dense layers of the given sizes (sizes[0] is the input width)
// with act between them and none after the last. Hidden layers are
// initialised with gain hiddenGain and the output layer with outGain.
func NewMLP(rng *rand.Rand, sizes []int, act Activation, hiddenGain, outGain float64) *MLP {
	m := &MLP{}
	for i := 0; i+1 < len(sizes); i++ {
		last := i+2 == len(sizes)
		gain := hiddenGain
		if last {
			gain = outGain
		}
		m.Layers = append(m.Layers, NewDense(rng, sizes[i], sizes[i+1], gain))
		if !last {
			m.Layers = append(m.Layers, newActivation(act))
		}
	}
	return m
}

// Forward runs x through every layer.
func (m *MLP) Forward(x *mat.Dense) *mat.Dense {
	for _, l := range m.Layers {
		x = l.Forward(x)
	}
	return x
}

// Backward propagates dy back through every layer and returns dL/dx.
func (m *MLP) Backward(dy *mat.Dense) *mat.Dense {
	for i := len(m.Layers) - 1; i >= 0; i-- {
		dy = m.Layers[i].Backward(dy)
	}
	return dy
}

// Params returns the trainable tensors of every layer, in order.
func (m *MLP) Params() []*Param {
	var ps []*Param
	for _, l := range m.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}
