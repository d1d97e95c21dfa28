package nn

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Orthogonal fills dst (rows×cols, row-major) with a (semi-)orthogonal
// matrix times gain, as torch.nn.init.orthogonal_ does: the Q factor of a
// Gaussian matrix with the signs of R's diagonal folded in.
func Orthogonal(rng *rand.Rand, rows, cols int, gain float64, dst []float64) {
	m, n := rows, cols
	transposed := m < n
	if transposed {
		m, n = n, m
	}
	a := mat.NewDense(m, n, nil)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			a.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	for j := 0; j < n; j++ {
		s := gain
		if r.At(j, j) < 0 {
			s = -gain
		}
		for i := 0; i < m; i++ {
			v := q.At(i, j) * s
			if transposed {
				dst[j*cols+i] = v
			} else {
				dst[i*cols+j] = v
			}
		}
	}
}
