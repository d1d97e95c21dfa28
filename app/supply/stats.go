package supply

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// pairedT is the two-sided p-value of a paired t-test that the mean of
// diffs is 0.
func pairedT(diffs []float64) float64 {
	n := float64(len(diffs))
	if len(diffs) < 2 {
		return 1
	}
	m, v := sum(diffs)/n, variance(diffs)
	if v == 0 {
		if m == 0 {
			return 1
		}
		return 0
	}
	t := m / math.Sqrt(v/n)
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Survival(math.Abs(t))
}

// ratioCI95 is the ratio of the means of a and b (paired by index) and
// its 95 % percentile interval from a paired bootstrap over the pairs.
func ratioCI95(a, b []float64, resamples int, seed uint64) (ratio, lo, hi float64) {
	ratio = sum(a) / sum(b)
	rng := rand.New(rand.NewPCG(seed, 0x626f6f74))
	rs := make([]float64, resamples)
	for r := range rs {
		var sa, sb float64
		for range a {
			i := rng.IntN(len(a))
			sa += a[i]
			sb += b[i]
		}
		rs[r] = sa / sb
	}
	slices.Sort(rs)
	return ratio, rs[int(0.025*float64(resamples))], rs[int(0.975*float64(resamples))-1]
}

// holm adjusts p-values for multiple testing (Holm–Bonferroni), in place
// order kept.
func holm(ps []float64) []float64 {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if ps[a] < ps[b] {
			return -1
		}
		if ps[a] > ps[b] {
			return 1
		}
		return 0
	})
	out := make([]float64, len(ps))
	prev := 0.0
	for rank, i := range idx {
		adj := min(1, float64(len(ps)-rank)*ps[i])
		prev = max(prev, adj)
		out[i] = prev
	}
	return out
}
