package market

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// Facts are the stylized facts of a series of daily log-returns: what makes
// real returns look real.
type Facts struct {
	N              int       `json:"n"`
	AnnualVol      float64   `json:"annual_vol"`      // with the year length given to ComputeFacts
	ExcessKurtosis float64   `json:"excess_kurtosis"` // heavy tails: 0 for a normal
	ACFR           []float64 `json:"acf_r,omitempty"` // ACF of returns, lags 1..20
	ACFR1          float64   `json:"acf_r1"`
	MaxACFR2to20   float64   `json:"max_acf_r_2_20"`      // largest |ACF(r)| over lags 2..20
	ACFAbs         []float64 `json:"acf_abs_r,omitempty"` // ACF of |r|, lags 1..50
	ACFAbsR1       float64   `json:"acf_abs_r1"`
	ACFSq1         float64   `json:"acf_sq_r1"`    // ACF of r², lag 1: volatility clustering
	S20            float64   `json:"s20"`          // sum of ACF(|r|) over lags 1..20
	Leverage       float64   `json:"leverage"`     // mean corr(r_t, r²_{t+τ}), τ = 1..10
	Kurtosis21d    float64   `json:"kurtosis_21d"` // excess kurtosis of 21-day sums
	Kurtosis63d    float64   `json:"kurtosis_63d"` // excess kurtosis of 63-day sums
	HillTail       float64   `json:"hill_tail"`    // Hill estimator of the tail index of |r| (top 2.5 %)
}

// ComputeFacts computes the stylized facts of daily log-returns r; days is
// the year length used to annualise the volatility. It needs at least 200
// returns.
func ComputeFacts(r []float64, days float64) (Facts, error) {
	if len(r) < 200 {
		return Facts{}, fmt.Errorf("stylized facts need at least 200 returns, got %d", len(r))
	}
	f := Facts{N: len(r)}
	f.AnnualVol = stat.StdDev(r, nil) * math.Sqrt(days)
	f.ExcessKurtosis = stat.ExKurtosis(r, nil)
	abs := make([]float64, len(r))
	sq := make([]float64, len(r))
	for i, x := range r {
		abs[i] = math.Abs(x)
		sq[i] = x * x
	}
	f.ACFR = acf(r, 20)
	f.ACFR1 = f.ACFR[0]
	for _, a := range f.ACFR[1:] {
		f.MaxACFR2to20 = max(f.MaxACFR2to20, math.Abs(a))
	}
	f.ACFAbs = acf(abs, 50)
	f.ACFAbsR1 = f.ACFAbs[0]
	for _, a := range f.ACFAbs[:20] {
		f.S20 += a
	}
	f.ACFSq1 = acf(sq, 1)[0]
	for tau := 1; tau <= 10; tau++ {
		f.Leverage += stat.Correlation(r[:len(r)-tau], sq[tau:], nil) / 10
	}
	f.Kurtosis21d = stat.ExKurtosis(sums(r, 21), nil)
	f.Kurtosis63d = stat.ExKurtosis(sums(r, 63), nil)
	f.HillTail = hill(abs, 0.025)
	return f, nil
}

// acf returns the sample autocorrelations of x at lags 1..n.
func acf(x []float64, n int) []float64 {
	mean := stat.Mean(x, nil)
	var den float64
	for _, v := range x {
		den += (v - mean) * (v - mean)
	}
	out := make([]float64, n)
	if den == 0 {
		return out
	}
	for k := 1; k <= n && k < len(x); k++ {
		var num float64
		for i := k; i < len(x); i++ {
			num += (x[i] - mean) * (x[i-k] - mean)
		}
		out[k-1] = num / den
	}
	return out
}

// sums returns the sums of consecutive non-overlapping blocks of k returns.
func sums(r []float64, k int) []float64 {
	out := make([]float64, 0, len(r)/k)
	for i := 0; i+k <= len(r); i += k {
		var s float64
		for _, x := range r[i : i+k] {
			s += x
		}
		out = append(out, s)
	}
	return out
}

// hill is the Hill estimator of the tail index from the largest share of x.
func hill(x []float64, share float64) float64 {
	s := append([]float64(nil), x...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	k := max(int(float64(len(s))*share), 10)
	if k >= len(s) || s[k] <= 0 {
		return math.NaN()
	}
	var sum float64
	for _, v := range s[:k] {
		sum += math.Log(v / s[k])
	}
	return float64(k) / sum
}

// FactsCheck is one stylized-facts bound: a name, the measured value, and
// whether it holds.
type FactsCheck struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Want  string  `json:"want"`
	OK    bool    `json:"ok"`
}

// CheckEquityFacts holds f to the ranges of real equity indices:
// excess kurtosis 3–30, |ACF(r,1)| < 0.1, max |ACF(r)| over lags 2–20 <
// 0.05, ACF(|r|,1) in 0.1–0.4, S20 in 4.5–8 (SPY 5.9, S&P 500 6.2, JPM
// 6.5, KO 5.1), leverage at most −0.05 (SPY and the S&P 500 −0.09, KO
// −0.06), 21-day kurtosis below the daily one and 63-day below half of it.
func CheckEquityFacts(f Facts) []FactsCheck {
	return []FactsCheck{
		{"excess kurtosis", f.ExcessKurtosis, "3 to 30", f.ExcessKurtosis >= 3 && f.ExcessKurtosis <= 30},
		{"|ACF(r,1)|", math.Abs(f.ACFR1), "below 0.1", math.Abs(f.ACFR1) < 0.1},
		{"max |ACF(r)| lags 2-20", f.MaxACFR2to20, "below 0.05", f.MaxACFR2to20 < 0.05},
		{"ACF(|r|,1)", f.ACFAbsR1, "0.1 to 0.4", f.ACFAbsR1 >= 0.1 && f.ACFAbsR1 <= 0.4},
		{"S20", f.S20, "4.5 to 8", f.S20 >= 4.5 && f.S20 <= 8},
		{"leverage", f.Leverage, "at most -0.05", f.Leverage <= -0.05},
		{"21-day kurtosis", f.Kurtosis21d, "below daily", f.Kurtosis21d < f.ExcessKurtosis},
		{"63-day kurtosis", f.Kurtosis63d, "below half the daily", f.Kurtosis63d < f.ExcessKurtosis/2},
	}
}
