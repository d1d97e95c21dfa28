// Package stats holds the summary statistics every report of Metastation
// shares, so a confidence interval means the same thing in every bench and
// on every page.
package stats

import (
	"math"
	"sort"

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

// TTest returns the two-sided p-value of Student's one-sample t-test that
// the mean of xs is zero: applied to paired differences it is the paired
// t-test. With fewer than two values, or none varying, it returns 1 unless
// the values are all equal and non-zero (then 0: no noise to explain them).
func TTest(xs []float64) float64 {
	if len(xs) < 2 {
		return 1
	}
	mean, sd := stat.MeanStdDev(xs, nil)
	if sd == 0 {
		if mean == 0 {
			return 1
		}
		return 0
	}
	t := mean / (sd / math.Sqrt(float64(len(xs))))
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Survival(math.Abs(t))
}

// Holm returns Holm's step-down adjusted p-values, in the order of p: a
// hypothesis is rejected at family-wise level α when its adjusted p-value is
// below α. It controls the family-wise error under any dependence.
func Holm(p []float64) []float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	adj := make([]float64, len(p))
	run := 0.0
	for rank, i := range idx {
		run = max(run, min(1, float64(len(p)-rank)*p[i]))
		adj[i] = run
	}
	return adj
}

// SharpeSortino returns the annualised Sharpe and Sortino ratios of daily
// returns (risk-free rate 0): √252 · mean / sd and √252 · mean / downside
// deviation (the root mean square of the negative returns over all days). A
// series without variation (cash) scores 0 on both rather than ±Inf.
func SharpeSortino(daily []float64) (sharpe, sortino float64) {
	if len(daily) < 2 {
		return 0, 0
	}
	m, sd := stat.MeanStdDev(daily, nil)
	var down float64
	for _, r := range daily {
		if r < 0 {
			down += r * r
		}
	}
	down = math.Sqrt(down / float64(len(daily)))
	if sd > 1e-12 {
		sharpe = math.Sqrt(252) * m / sd
	}
	if down > 1e-12 {
		sortino = math.Sqrt(252) * m / down
	}
	return sharpe, sortino
}
