// Package stats holds the summary statistics every report of Metastation
// shares, so a confidence interval means the same thing in every bench and
// on every page.
package stats

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// MeanCI95 returns the mean of xs and the half-width of its Student-t 95 %
// confidence interval (0 for fewer than two values; 0, 0 for none).
func MeanCI95(xs []float64) (mean, half float64) {
	switch len(xs) {
	case 0:
		return 0, 0
	case 1:
		return xs[0], 0
	}
	mean, sd := stat.MeanStdDev(xs, nil)
	n := float64(len(xs))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975)
	return mean, t * sd / math.Sqrt(n)
}
