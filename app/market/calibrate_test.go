package market

import (
	"math"
	"testing"
)

// TestFitRecoversKnownParameters fits data simulated from known parameters.
// Tolerances: alpha ±0.03, gamma ±0.05, beta ±0.04, nu ±2, long-run vol ±15 %.
func TestFitRecoversKnownParameters(t *testing.T) {
	truth := Fit{Mu: 0.0003, Alpha: 0.04, Gamma: 0.08, Beta: 0.88, Nu: 6}
	truth.Omega = 0.0001 * (1 - truth.Persistence()) // daily sd 1 %
	for seed := uint64(1); seed <= 2; seed++ {
		r := truth.Simulate(8000, seed)
		f, err := FitGARCH(r, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: %+v", seed, f)
		check := func(name string, got, want, tol float64) {
			if math.Abs(got-want) > tol {
				t.Errorf("seed %d: %s = %.4f, want %.4f ± %g", seed, name, got, want, tol)
			}
		}
		check("alpha", f.Alpha, truth.Alpha, 0.03)
		check("gamma", f.Gamma, truth.Gamma, 0.05)
		check("beta", f.Beta, truth.Beta, 0.04)
		check("nu", f.Nu, truth.Nu, 2)
		if v, w := f.AnnualVol(252), truth.AnnualVol(252); math.Abs(v/w-1) > 0.15 {
			t.Errorf("seed %d: annual vol %.3f, want %.3f ± 15%%", seed, v, w)
		}
	}
}

func TestFitRealFixtureAndCalibratedPath(t *testing.T) {
	s, _ := parseFile(t, "testdata/SPY-2007-2009.csv")
	f, err := FitGARCH(s.Returns(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SPY 2007-2009: %+v, annual vol %.3f", f, f.AnnualVol(252))
	if f.Gamma <= f.Alpha || f.Persistence() < 0.9 {
		t.Errorf("SPY 2007-2009 fit %+v: want strong leverage and high persistence", f)
	}
	in := f.Instrument("SPYC", ClassIndex, 100, 0.01, 1)
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	facts, err := ComputeFacts(f.Simulate(5000, 1), 252)
	if err != nil {
		t.Fatal(err)
	}
	if facts.ExcessKurtosis <= 0 || facts.ACFSq1 <= 0 {
		t.Errorf("calibrated path lacks heavy tails or clustering: %+v", facts)
	}
	if _, err := FitGARCH(make([]float64, 100), true); err == nil {
		t.Error("a fit on 100 returns should fail")
	}
}
