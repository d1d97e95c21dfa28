package nn

import "gonum.org/v1/gonum/mat"

// MSE returns mean((pred−target)²)·scale over all elements of an n×1 column
// and its gradient with respect to pred.
func MSE(pred *mat.Dense, target []float64, scale float64) (float64, *mat.Dense) {
	n, _ := pred.Dims()
	g := mat.NewDense(n, 1, nil)
	var l float64
	for i := 0; i < n; i++ {
		d := pred.At(i, 0) - target[i]
		l += d * d
		g.Set(i, 0, 2*d*scale/float64(n))
	}
	return l * scale / float64(n), g
}
