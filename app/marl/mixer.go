package marl

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/metastation/metastation/app/nn"
)

// Mixer combines the agents' chosen utilities into the team value Q_tot.
type Mixer interface {
	// Forward maps utilities q (one row of n agents per sample) and global
	// states s (one row per sample) to Q_tot, a column.
	Forward(q, s *mat.Dense) *mat.Dense
	// Backward takes dL/dQ_tot for the last Forward, accumulates parameter
	// gradients and returns dL/dq.
	Backward(dqtot *mat.Dense) *mat.Dense
	Params() []*nn.Param
}

// VDN is value decomposition: Q_tot = Σ q_i. It has no parameters.
type VDN struct{ n int }

// Forward sums each row of q.
func (v *VDN) Forward(q, s *mat.Dense) *mat.Dense {
	b, n := q.Dims()
	v.n = n
	out := mat.NewDense(b, 1, nil)
	for r := 0; r < b; r++ {
		var t float64
		for _, x := range q.RawRowView(r) {
			t += x
		}
		out.Set(r, 0, t)
	}
	return out
}

// Backward passes dL/dQ_tot to every agent.
func (v *VDN) Backward(g *mat.Dense) *mat.Dense {
	b, _ := g.Dims()
	out := mat.NewDense(b, v.n, nil)
	for r := 0; r < b; r++ {
		for i := 0; i < v.n; i++ {
			out.Set(r, i, g.At(r, 0))
		}
	}
	return out
}

// Params returns nil.
func (v *VDN) Params() []*nn.Param { return nil }

// QMixer is QMIX's monotonic mixing network (Rashid et al. 2018):
//
//	h     = elu(q·|W1(s)| + b1(s))
//	Q_tot = h·|w2(s)| + V(s)
//
// The weights W1 (n×E) and w2 (E) come from single-layer hypernetworks of
// the global state followed by an absolute value, so ∂Q_tot/∂q_i ≥ 0; the
// biases are unconstrained, b1 linear in s and V a two-layer ReLU network.
type QMixer struct {
	N, Embed int
	HW1, HB1 *nn.Dense
	HW2      *nn.Dense
	V        *nn.MLP

	q, w1raw, w2raw, pre, h *mat.Dense
}

// NewQMixer returns a mixer for n agents and states of width stateDim. The
// weight hypernetworks are initialised with gain hyperGain: the smaller it
// is, the closer ∂Q_tot/∂q_i starts to zero.
func NewQMixer(rng *rand.Rand, n, stateDim, embed int, hyperGain, hyperBias float64) *QMixer {
	m := &QMixer{
		N: n, Embed: embed,
		HW1: nn.NewDense(rng, stateDim, n*embed, hyperGain),
		HB1: nn.NewDense(rng, stateDim, embed, 1),
		HW2: nn.NewDense(rng, stateDim, embed, hyperGain),
		V:   nn.NewMLP(rng, []int{stateDim, embed, 1}, nn.ActReLU, math.Sqrt2, 1),
	}
	for _, d := range []*nn.Dense{m.HW1, m.HW2} {
		for j := range d.B.Data {
			d.B.Data[j] = hyperBias
		}
	}
	return m
}

// Forward computes Q_tot.
func (m *QMixer) Forward(q, s *mat.Dense) *mat.Dense {
	b, _ := q.Dims()
	m.q = q
	m.w1raw = m.HW1.Forward(s)
	b1 := m.HB1.Forward(s)
	m.w2raw = m.HW2.Forward(s)
	v := m.V.Forward(s)
	m.pre = mat.NewDense(b, m.Embed, nil)
	m.h = mat.NewDense(b, m.Embed, nil)
	out := mat.NewDense(b, 1, nil)
	for r := 0; r < b; r++ {
		qr, w1, w2 := q.RawRowView(r), m.w1raw.RawRowView(r), m.w2raw.RawRowView(r)
		pre, h, br := m.pre.RawRowView(r), m.h.RawRowView(r), b1.RawRowView(r)
		y := v.At(r, 0)
		for e := 0; e < m.Embed; e++ {
			p := br[e]
			for i := 0; i < m.N; i++ {
				p += qr[i] * math.Abs(w1[i*m.Embed+e])
			}
			pre[e] = p
			h[e] = elu(p)
			y += h[e] * math.Abs(w2[e])
		}
		out.Set(r, 0, y)
	}
	return out
}

// Backward propagates dL/dQ_tot through the mixer and its hypernetworks.
func (m *QMixer) Backward(g *mat.Dense) *mat.Dense {
	b, _ := g.Dims()
	m.V.Backward(g)
	dw1 := mat.NewDense(b, m.N*m.Embed, nil)
	db1 := mat.NewDense(b, m.Embed, nil)
	dw2 := mat.NewDense(b, m.Embed, nil)
	dq := mat.NewDense(b, m.N, nil)
	for r := 0; r < b; r++ {
		gr := g.At(r, 0)
		qr, w1, w2 := m.q.RawRowView(r), m.w1raw.RawRowView(r), m.w2raw.RawRowView(r)
		pre, h := m.pre.RawRowView(r), m.h.RawRowView(r)
		dw1r, db1r, dw2r, dqr := dw1.RawRowView(r), db1.RawRowView(r), dw2.RawRowView(r), dq.RawRowView(r)
		for e := 0; e < m.Embed; e++ {
			dw2r[e] = gr * h[e] * sign(w2[e])
			dpre := gr * math.Abs(w2[e]) * eluGrad(pre[e])
			db1r[e] = dpre
			for i := 0; i < m.N; i++ {
				w := w1[i*m.Embed+e]
				dw1r[i*m.Embed+e] = dpre * qr[i] * sign(w)
				dqr[i] += dpre * math.Abs(w)
			}
		}
	}
	m.HW1.Backward(dw1)
	m.HB1.Backward(db1)
	m.HW2.Backward(dw2)
	return dq
}

// Params returns the hypernetworks' tensors.
func (m *QMixer) Params() []*nn.Param {
	ps := append(m.HW1.Params(), m.HB1.Params()...)
	ps = append(ps, m.HW2.Params()...)
	return append(ps, m.V.Params()...)
}

func elu(x float64) float64 {
	if x > 0 {
		return x
	}
	return math.Expm1(x)
}

func eluGrad(x float64) float64 {
	if x > 0 {
		return 1
	}
	return math.Exp(x)
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
