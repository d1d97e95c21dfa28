package research

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// The statistics that keep a research run from fooling itself: multiple-
// testing corrections across every hypothesis tried, the probabilistic and
// deflated Sharpe ratios (Bailey & López de Prado 2012, 2014), the
// probability of backtest overfitting by combinatorially symmetric
// cross-validation (Bailey, Borwein, López de Prado & Zhu 2015), and the
// t > 3 bar for a new factor (Harvey, Liu & Zhu 2016).

// The bars a finding must clear before a memo may recommend it.
const (
	FDRLevel  = 0.10 // Benjamini–Hochberg q across all hypotheses tried
	FWERLevel = 0.05 // Holm's family-wise level, reported beside BH
	TBar      = 3.0  // Harvey, Liu & Zhu: t above 3 for a new factor
	DSRBar    = 0.95 // deflated Sharpe ratio: 95 % that the true Sharpe beats the best of N noise trials
	PBOBar    = 0.5  // CSCV: a selection process worse than a coin is overfit
)

// eulerGamma is the Euler–Mascheroni constant of the expected maximum of N
// Gaussians.
const eulerGamma = 0.5772156649015329

// BenjaminiHochberg returns the BH-adjusted p-values (step-up, monotone,
// capped at 1) in the order of p. A hypothesis is a discovery at level q
// when its adjusted value is at most q.
func BenjaminiHochberg(p []float64) []float64 {
	n := len(p)
	idx := order(p)
	adj := make([]float64, n)
	run := 1.0
	for k := n - 1; k >= 0; k-- {
		i := idx[k]
		run = math.Min(run, p[i]*float64(n)/float64(k+1))
		adj[i] = math.Min(run, 1)
	}
	return adj
}

// Holm returns Holm's step-down adjusted p-values in the order of p: they
// control the family-wise error rate under any dependence.
func Holm(p []float64) []float64 {
	n := len(p)
	idx := order(p)
	adj := make([]float64, n)
	run := 0.0
	for k, i := range idx {
		run = math.Max(run, p[i]*float64(n-k))
		adj[i] = math.Min(run, 1)
	}
	return adj
}

// order returns the indices of p sorted by p ascending (ties by index, so
// the result does not depend on the sort).
func order(p []float64) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	return idx
}

// Discoveries counts adjusted p-values at most level.
func Discoveries(adj []float64, level float64) int {
	n := 0
	for _, a := range adj {
		if a <= level {
			n++
		}
	}
	return n
}

// Moments are what the Sharpe statistics need of a return series.
type Moments struct {
	N        int     `json:"n"`
	Mean     float64 `json:"mean"`
	Std      float64 `json:"std"`
	Skew     float64 `json:"skew"`
	Kurtosis float64 `json:"kurtosis"` // not excess: 3 for a Gaussian
	Sharpe   float64 `json:"sharpe"`   // per period (daily), mean/std
}

// MomentsOf measures x (at least 3 values with some variation, else the
// zero Moments with N set).
func MomentsOf(x []float64) Moments {
	m := Moments{N: len(x)}
	if len(x) < 3 {
		return m
	}
	m.Mean, m.Std = stat.MeanStdDev(x, nil)
	if m.Std == 0 || math.IsNaN(m.Std) {
		m.Std = 0
		return m
	}
	m.Skew = stat.Skew(x, nil)
	m.Kurtosis = stat.ExKurtosis(x, nil) + 3
	m.Sharpe = m.Mean / m.Std
	return m
}

// sharpeSE is the standard error of the per-period Sharpe ratio under
// non-normal returns (Mertens 2002; the denominator of the PSR).
func sharpeSE(m Moments) float64 {
	v := 1 - m.Skew*m.Sharpe + (m.Kurtosis-1)/4*m.Sharpe*m.Sharpe
	if v <= 0 || m.N < 2 {
		return math.NaN()
	}
	return math.Sqrt(v / float64(m.N-1))
}

// SharpeCI is a two-sided confidence interval of the per-period Sharpe
// ratio at level (0.95 for 95 %), from its non-normal standard error.
func SharpeCI(m Moments, level float64) (lo, hi float64) {
	se := sharpeSE(m)
	z := distuv.UnitNormal.Quantile(0.5 + level/2)
	return m.Sharpe - z*se, m.Sharpe + z*se
}

// PSR is the probabilistic Sharpe ratio: the probability that the true
// per-period Sharpe ratio exceeds benchmark, given m.
func PSR(m Moments, benchmark float64) float64 {
	se := sharpeSE(m)
	if math.IsNaN(se) || se == 0 {
		return 0
	}
	return distuv.UnitNormal.CDF((m.Sharpe - benchmark) / se)
}

// ExpectedMaxSharpe is the Sharpe ratio the best of trials independent
// noise strategies reaches by luck, when their Sharpe ratios vary with
// variance v (the DSR's benchmark SR0).
func ExpectedMaxSharpe(trials int, v float64) float64 {
	if trials <= 1 || v <= 0 {
		return 0
	}
	n := float64(trials)
	q := distuv.UnitNormal.Quantile
	return math.Sqrt(v) * ((1-eulerGamma)*q(1-1/n) + eulerGamma*q(1-1/(n*math.E)))
}

// DSR is the deflated Sharpe ratio: the PSR against the best Sharpe ratio
// that trials noise strategies would show, whose Sharpe ratios vary with
// variance trialVar. It returns the DSR and that benchmark.
func DSR(m Moments, trials int, trialVar float64) (dsr, benchmark float64) {
	sr0 := ExpectedMaxSharpe(trials, trialVar)
	return PSR(m, sr0), sr0
}

// OneSidedP is the p-value of the t-test that the mean of a series with
// moments m is above zero (Student's t, N−1 degrees of freedom), and its t.
func OneSidedP(m Moments) (p, t float64) {
	if m.N < 3 || m.Std == 0 {
		return 1, 0
	}
	t = m.Mean / (m.Std / math.Sqrt(float64(m.N)))
	return 1 - distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(m.N - 1)}.CDF(t), t
}

// PBO estimates the probability of backtest overfitting of choosing the
// best of the columns of perf (perf[t][n]: trial n's return in period t) by
// CSCV with s blocks (even, at least 4): for every way to pick half of the
// blocks as in-sample, the trial best in-sample is ranked out-of-sample; PBO
// is the share of splits where it falls at or below the median. It also
// returns the number of splits. With fewer than two trials or too few rows
// it returns NaN.
func PBO(perf [][]float64, s int) (float64, int) {
	if len(perf) == 0 || s < 4 || s%2 == 1 || len(perf) < 2*s {
		return math.NaN(), 0
	}
	n := len(perf[0])
	if n < 2 {
		return math.NaN(), 0
	}
	// Block sums and sums of squares per trial: a split's Sharpe ratios
	// come from adding s/2 blocks, not from the rows again.
	sum := make([][]float64, s)
	sq := make([][]float64, s)
	cnt := make([]float64, s)
	rows := len(perf)
	for b := range s {
		sum[b], sq[b] = make([]float64, n), make([]float64, n)
		lo, hi := b*rows/s, (b+1)*rows/s
		cnt[b] = float64(hi - lo)
		for t := lo; t < hi; t++ {
			for j, x := range perf[t] {
				sum[b][j] += x
				sq[b][j] += x * x
			}
		}
	}
	sharpe := func(blocks []int, j int) float64 {
		var sm, ss, c float64
		for _, b := range blocks {
			sm += sum[b][j]
			ss += sq[b][j]
			c += cnt[b]
		}
		mean := sm / c
		v := ss/c - mean*mean
		if v <= 0 {
			return 0
		}
		return mean / math.Sqrt(v)
	}
	var below, splits int
	in := make([]int, 0, s/2)
	out := make([]int, 0, s/2)
	combinations(s, s/2, func(pick []bool) {
		in, out = in[:0], out[:0]
		for b, p := range pick {
			if p {
				in = append(in, b)
			} else {
				out = append(out, b)
			}
		}
		best, bestSR := 0, math.Inf(-1)
		for j := range n {
			if sr := sharpe(in, j); sr > bestSR {
				best, bestSR = j, sr
			}
		}
		oos := sharpe(out, best)
		rank := 1 // 1 = worst out of sample
		for j := range n {
			if j != best && sharpe(out, j) < oos {
				rank++
			}
		}
		w := float64(rank) / float64(n+1)
		if math.Log(w/(1-w)) <= 0 {
			below++
		}
		splits++
	})
	return float64(below) / float64(splits), splits
}

// combinations calls f with every way to choose k of n.
func combinations(n, k int, f func(pick []bool)) {
	pick := make([]bool, n)
	var rec func(start, left int)
	rec = func(start, left int) {
		if left == 0 {
			f(pick)
			return
		}
		for i := start; i <= n-left; i++ {
			pick[i] = true
			rec(i+1, left-1)
			pick[i] = false
		}
	}
	rec(0, k)
}

// AUC is the area under the ROC curve of scores for positives against
// negatives (Mann–Whitney, ties counted half).
func AUC(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	n := slices.Clone(neg)
	slices.Sort(n)
	var s float64
	for _, p := range pos {
		lo, _ := slices.BinarySearch(n, p)
		hi := lo
		for hi < len(n) && n[hi] == p {
			hi++
		}
		s += float64(lo) + 0.5*float64(hi-lo)
	}
	return s / float64(len(pos)*len(n))
}
