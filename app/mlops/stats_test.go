package mlops

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// The live test's two promises, on seeded simulations of a 10 % canary of
// a model whose answers are right 90 % of the time: a challenger right only
// 86 % of the time is rolled back within the window (3,000 of its requests)
// in at least 95 % of 200 runs, and an unchanged one is rolled back in at
// most 1 % of 1,000 runs.
func TestSequentialRollback(t *testing.T) {
	cfg := SequentialConfig{Alpha: 0.01, Tau: 0.04, MinSamples: 100, Window: 3000}
	sim := NewCanarySim()
	t.Run("regressed", func(t *testing.T) {
		caught, took := 0, 0
		for i := range 200 {
			st := sim.Run(uint64(i), 0.1, 0.90, 0.86, cfg)
			if st.Verdict == Regressed {
				caught++
				took += st.ChallengerN
			}
		}
		rate := float64(caught) / 200
		t.Logf("regressed challenger rolled back in %d of 200 runs (%.1f %%), after %d of its requests on average", caught, 100*rate, took/max(1, caught))
		if rate < 0.95 {
			t.Errorf("a regressed challenger was rolled back in %.1f %% of runs, want ≥ 95 %%", 100*rate)
		}
	})
	t.Run("unchanged", func(t *testing.T) {
		false_ := 0
		for i := range 1000 {
			if st := sim.Run(uint64(10_000+i), 0.1, 0.90, 0.90, cfg); st.Verdict == Regressed {
				false_++
			}
		}
		rate := float64(false_) / 1000
		t.Logf("unchanged challenger rolled back in %d of 1000 runs", false_)
		if rate > 0.01 {
			t.Errorf("an unchanged challenger was rolled back in %.1f %% of runs, want ≤ 1 %%", 100*rate)
		}
	})
}

// A 10 % canary over 100,000 keyed requests serves 10 % ± 0.5 % of them,
// and a key always lands on the same side.
func TestCanaryShare(t *testing.T) {
	for _, share := range []float64{0.01, 0.1, 0.5} {
		t.Run(strconv.FormatFloat(share, 'f', -1, 64), func(t *testing.T) {
			in := 0
			for i := range 100_000 {
				key := "agent-" + strconv.Itoa(i)
				a := InCanary("trading@v3", key, share)
				if a != InCanary("trading@v3", key, share) {
					t.Fatalf("key %s is not sticky", key)
				}
				if a {
					in++
				}
			}
			got := float64(in) / 100_000
			if math.Abs(got-share) > 0.005 {
				t.Errorf("a %.0f %% canary served %.2f %% of 100,000 keys", 100*share, 100*got)
			}
		})
	}
	if InCanary("s", "", 0.9) {
		t.Error("a request without a key went to the canary")
	}
}

func TestPairedTest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := make([]float64, 200)
	better, same := make([]float64, 200), make([]float64, 200)
	for i := range base {
		base[i] = rng.NormFloat64()
		better[i] = base[i] + 0.3 + 0.5*rng.NormFloat64()
		same[i] = base[i] + 0.5*rng.NormFloat64()
	}
	tests := []struct {
		name     string
		champ    []float64
		chall    []float64
		minN     int
		wantPass bool
	}{
		{"better", base, better, 30, true},
		{"no better", base, same, 30, false},
		{"worse", better, base, 30, false},
		{"too few", base[:20], better[:20], 30, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt := NewPairedTest(tc.champ, tc.chall, 0.05, tc.minN)
			if pt.Passed != tc.wantPass {
				t.Errorf("passed %v, want %v: %+v", pt.Passed, tc.wantPass, pt)
			}
			if pt.N >= 2 && !(pt.CILow <= pt.Mean && pt.Mean <= pt.CIHigh) {
				t.Errorf("the interval [%v, %v] misses the mean %v", pt.CILow, pt.CIHigh, pt.Mean)
			}
		})
	}
	// Under the null, the one-sided test passes about α of the time.
	passes := 0
	for k := range 2000 {
		r := rand.New(rand.NewPCG(uint64(k), 9))
		a, b := make([]float64, 50), make([]float64, 50)
		for i := range a {
			a[i], b[i] = r.NormFloat64(), r.NormFloat64()
		}
		if NewPairedTest(a, b, 0.05, 30).Passed {
			passes++
		}
	}
	if rate := float64(passes) / 2000; rate < 0.03 || rate > 0.07 {
		t.Errorf("under the null the test passed %.3f of the time, want about 0.05", rate)
	}
}
