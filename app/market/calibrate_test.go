package market

import (
	"math"
	"os"
	"path/filepath"
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

// TestFitMemoryRecoversKnownParameters fits data simulated from the index's
// own components. Three components on 8,000 days are not separately well
// identified, so the test holds what matters: the likelihood reaches at
// least the truth's, the summed leverage (the response of the volatility
// to a fall, all horizons) within ±0.04, the summed reaction within ±0.04
// and nu within ±3.
func TestFitMemoryRecoversKnownParameters(t *testing.T) {
	in := presetInstruments["SPX"]
	truth := MemoryFit{Vol: 0.012, Nu: in.GARCH.Nu, Components: in.Memory}
	hl := []float64{3, 20, 60}
	sums := func(cs []VolComponent) (react, lev float64) {
		for _, c := range cs {
			react, lev = react+c.React, lev+c.Leverage
		}
		return react, lev
	}
	wantReact, wantLev := sums(truth.Components)
	for seed := uint64(1); seed <= 2; seed++ {
		r := truth.Simulate(8000, seed)
		f, err := FitMemory(r, hl)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: %+v", seed, f)
		tr := truth
		tr.Mu, tr.Vol = f.Mu, f.Vol // the fit targets the sample's mean and variance
		if lt := tr.logLik(r); f.LogLik < lt-1 {
			t.Errorf("seed %d: fitted log-likelihood %.1f below the truth's %.1f", seed, f.LogLik, lt)
		}
		react, lev := sums(f.Components)
		if math.Abs(react-wantReact) > 0.04 || math.Abs(lev-wantLev) > 0.04 {
			t.Errorf("seed %d: summed react %.3f leverage %.3f, want %.3f and %.3f ± 0.04", seed, react, lev, wantReact, wantLev)
		}
		if math.Abs(f.Nu-truth.Nu) > 3 {
			t.Errorf("seed %d: nu %.2f, want %.2f ± 3", seed, f.Nu, truth.Nu)
		}
	}
	if _, err := FitMemory(make([]float64, 100), hl); err == nil {
		t.Error("a fit on 100 returns should fail")
	}
	if _, err := FitMemory(make([]float64, 1000), []float64{1, 2, 3, 4}); err == nil {
		t.Error("a fit with four half-lives should fail")
	}
}

// TestFitMemoryRealFiles fits the memory model (half-lives 3, 20, 60) to
// the real equity files and prints each fit and the stylized facts of
// 50,000 days simulated from it, next to the file's own. Opt-in
// (METASTATION_LONG=1): the files live outside the repository, in
// METASTATION_MARKET_DATA (default ../../../shared/data/market).
func TestFitMemoryRealFiles(t *testing.T) {
	if os.Getenv("METASTATION_LONG") != "1" {
		t.Skip("set METASTATION_LONG=1 (and METASTATION_MARKET_DATA) to fit the real files")
	}
	dir := os.Getenv("METASTATION_MARKET_DATA")
	if dir == "" {
		dir = "../../../shared/data/market"
	}
	for _, name := range []string{"SPY", "SP500", "JPM", "KO", "AAPL"} {
		path := filepath.Join(dir, name+".csv")
		if _, err := os.Stat(path); err != nil {
			t.Skipf("no real file %s", path)
		}
		s, _ := parseFile(t, path)
		r := s.Returns()
		f, err := FitMemory(r, []float64{3, 20, 60})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Instrument(name, ClassEquity, 100, 0.01, 1).Validate(); err != nil {
			t.Errorf("%s: the fitted instrument is invalid: %v", name, err)
		}
		g, err := FitGARCH(r, true)
		if err != nil {
			t.Fatal(err)
		}
		real, _ := ComputeFacts(r, 252)
		sim, _ := ComputeFacts(f.Simulate(50000, 1), 252)
		gsim, _ := ComputeFacts(g.Simulate(50000, 1), 252)
		t.Logf("%s: nu %.1f, components %+v; log-likelihood %.1f (GJR-GARCH-t %.1f)", name, f.Nu, f.Components, f.LogLik, g.LogLik)
		t.Logf("  real          %s", factsRow(real))
		t.Logf("  memory fit    %s", factsRow(sim))
		t.Logf("  GJR-GARCH fit %s", factsRow(gsim))
	}
}
