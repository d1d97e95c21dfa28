package detect

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
)

// Logistic is an L2-regularised logistic regression on standardised
// features.
type Logistic struct {
	Weights   []float64 // on standardised features
	Bias      float64
	Mean, Std []float64 // of the training features
}

// TrainLogistic fits a logistic regression of y (0 or 1) on the rows of x
// by L-BFGS, with an L2 penalty lambda on the weights.
func TrainLogistic(x *mat.Dense, y []float64, lambda float64) (*Logistic, error) {
	n, d := x.Dims()
	m := &Logistic{Mean: make([]float64, d), Std: make([]float64, d)}
	col := make([]float64, n)
	for j := range d {
		mat.Col(col, j, x)
		m.Mean[j], m.Std[j] = stat.MeanStdDev(col, nil)
		if m.Std[j] < 1e-9 {
			m.Std[j] = 1
		}
	}
	z := mat.NewDense(n, d, nil)
	z.Apply(func(_, j int, v float64) float64 { return (v - m.Mean[j]) / m.Std[j] }, x)

	lin := mat.NewVecDense(n, nil)
	resid := mat.NewVecDense(n, nil)
	gw := mat.NewVecDense(d, nil)
	// p holds the weights then the bias.
	eval := func(p []float64, grad []float64) float64 {
		w := mat.NewVecDense(d, p[:d])
		lin.MulVec(z, w)
		loss := 0.0
		for i := range n {
			t := lin.AtVec(i) + p[d]
			loss += softplus(t) - y[i]*t
			resid.SetVec(i, sigmoid(t)-y[i])
		}
		loss = loss/float64(n) + lambda/2*floats.Dot(p[:d], p[:d])
		if grad != nil {
			gw.MulVec(z.T(), resid)
			for j := range d {
				grad[j] = gw.AtVec(j)/float64(n) + lambda*p[j]
			}
			grad[d] = floats.Sum(resid.RawVector().Data) / float64(n)
		}
		return loss
	}
	prob := optimize.Problem{
		Func: func(p []float64) float64 { return eval(p, nil) },
		Grad: func(grad, p []float64) { eval(p, grad) },
	}
	res, err := optimize.Minimize(prob, make([]float64, d+1),
		&optimize.Settings{GradientThreshold: 1e-6, MajorIterations: 300}, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, fmt.Errorf("fit logistic regression: %w", err)
	}
	m.Weights = res.X[:d]
	m.Bias = res.X[d]
	return m, nil
}

// Score returns the fraud probability of one feature row.
func (m *Logistic) Score(row []float64) float64 {
	t := m.Bias
	for j, v := range row {
		t += m.Weights[j] * (v - m.Mean[j]) / m.Std[j]
	}
	return sigmoid(t)
}

func sigmoid(t float64) float64 { return 1 / (1 + math.Exp(-t)) }

// softplus is log(1+e^t), computed without overflow.
func softplus(t float64) float64 {
	if t > 30 {
		return t
	}
	return math.Log1p(math.Exp(t))
}
