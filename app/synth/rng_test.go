package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The generator's own random source draws the laws math/rand/v2 draws:
// uniform floats and integers, standard normals, exponentials.
func TestRngLaws(t *testing.T) {
	const n = 400_000
	r := newRng(3, 1, 7)
	t.Run("Float64 uniform", func(t *testing.T) {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = r.Float64()
		}
		if d := ksDistance(xs, func(x float64) float64 { return x }); d > 1.95/math.Sqrt(n) { // p < 0.001
			t.Errorf("Kolmogorov-Smirnov distance %.5f from the uniform law", d)
		}
	})
	t.Run("IntN uniform", func(t *testing.T) {
		for _, m := range []int{3, 7, 24, 3600} {
			counts := make([]float64, m)
			for range n {
				counts[r.IntN(m)]++
			}
			chi := 0.0
			for _, c := range counts {
				e := float64(n) / float64(m)
				chi += (c - e) * (c - e) / e
			}
			// The chi-square's mean is m-1 and its sd sqrt(2(m-1)): 5 sd.
			if dof := float64(m - 1); chi > dof+5*math.Sqrt(2*dof) {
				t.Errorf("IntN(%d): chi-square %.1f on %.0f degrees of freedom", m, chi, dof)
			}
		}
	})
	t.Run("NormFloat64 normal", func(t *testing.T) {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = r.NormFloat64()
		}
		cdf := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
		if d := ksDistance(xs, cdf); d > 1.95/math.Sqrt(n) {
			t.Errorf("Kolmogorov-Smirnov distance %.5f from the normal law", d)
		}
	})
	t.Run("ExpFloat64 exponential", func(t *testing.T) {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = r.ExpFloat64()
		}
		if d := ksDistance(xs, func(x float64) float64 { return 1 - math.Exp(-x) }); d > 1.95/math.Sqrt(n) {
			t.Errorf("Kolmogorov-Smirnov distance %.5f from the exponential law", d)
		}
	})
	t.Run("ziggurat tables", func(t *testing.T) {
		// A few entries of math/rand/v2's literal tables (normal.go); all
		// 384 were checked equal when the tables were written.
		if zig.k[0] != 0x76ad2212 || zig.k[2] != 0x600f1b53 || zig.k[64] != 0x7eddc78e || zig.k[127] != 0x77d664e5 {
			t.Errorf("k = %#x %#x %#x %#x", zig.k[0], zig.k[2], zig.k[64], zig.k[127])
		}
		if zig.w[0] != 1.7290405e-09 || zig.w[127] != 1.6030948e-09 || zig.f[1] != 0.9635997 || zig.f[64] != 0.30876362 {
			t.Errorf("w[0] = %v, w[127] = %v, f[1] = %v, f[64] = %v", zig.w[0], zig.w[127], zig.f[1], zig.f[64])
		}
	})
	t.Run("streams differ", func(t *testing.T) {
		a, b := newRng(3, 1, 7), newRng(3, 1, 8)
		same := 0
		for range 1000 {
			if a.Uint64() == b.Uint64() {
				same++
			}
		}
		if same > 0 {
			t.Errorf("streams 7 and 8 agree on %d draws", same)
		}
	})
}

func ksDistance(xs []float64, cdf func(float64) float64) float64 {
	slices.Sort(xs)
	d := 0.0
	for i, x := range xs {
		f := cdf(x)
		d = max(d, math.Abs(f-float64(i)/float64(len(xs))), math.Abs(f-float64(i+1)/float64(len(xs))))
	}
	return d
}

// purchaseDayLaw is the exact law of the rejection sampler dayTime used to
// run: a Monte Carlo run of that sampler agrees with it, day by day.
func TestPurchaseDayLawMatchesRejection(t *testing.T) {
	cfg := Config{Seed: 1, Rows: 1}.Normalize()
	days := dayWeights(cfg)
	cdf := cumulative(days)
	start := cfg.Start.Unix()
	r := rand.New(rand.NewPCG(1, 2))
	const n = 2_000_000
	for _, week := range []*[7]float64{&weekFlat, &weekWeekend, &weekWorkday, &weekGoingOut} {
		want := purchaseDayLaw(days, start, week)
		got := make([]float64, len(days))
		for range n {
			d := pick(r, cdf)
			for k := 0; k < 4; k++ {
				if r.Float64()*1.6 < week[weekday(start+int64(d)*86400)] {
					break
				}
				d = pick(r, cdf)
			}
			got[d]++
		}
		sum := 0.0
		for d := range want {
			sum += want[d]
			sd := math.Sqrt(want[d] * (1 - want[d]) / n)
			if diff := got[d]/n - want[d]; math.Abs(diff) > 5*sd {
				t.Errorf("week %v, day %d: drawn %.5f, law %.5f (%.1f sd)", *week, d, got[d]/n, want[d], diff/sd)
			}
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("week %v: the law sums to %v", *week, sum)
		}
	}
}
