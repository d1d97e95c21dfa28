package analytics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// synthetic returns n points of a linear trend plus a seasonal pattern of
// period m plus Gaussian noise of standard deviation sigma.
func synthetic(seed uint64, n, m int, sigma float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 8))
	y := make([]float64, n)
	for t := range y {
		season := 10*math.Sin(2*math.Pi*float64(t)/float64(m)) + 4*math.Cos(4*math.Pi*float64(t)/float64(m))
		y[t] = 100 + 0.25*float64(t) + season + sigma*rng.NormFloat64()
	}
	return y
}

// TestForecastAccuracyAndCoverage holds out the last horizon of synthetic
// series with a known trend and season, over several seeds, and checks that
// the selected model beats the naive method (MASE < 1 on every seed) and
// that its 80 % and 95 % intervals cover close to their nominal rate.
//
// Tolerance: 20 seeds x 24 held-out points = 480 points. If the points were
// independent, the standard error of a coverage rate would be sqrt(p(1-p)/480):
// 1.8 points at 80 % and 1.0 at 95 %. Points of one series share the
// estimated parameters, so they are positively correlated; we allow about
// four naive standard errors: 80 % +- 7 points, 95 % +- 4 points (but never
// above 100 %).
func TestForecastAccuracyAndCoverage(t *testing.T) {
	const (
		seeds = 20
		n     = 288 // 12 seasons of 24 for fitting
		m     = 24
		h     = 24
	)
	var in80, in95, total int
	var maseSum float64
	models := map[string]int{}
	for seed := uint64(1); seed <= seeds; seed++ {
		y := synthetic(seed, n+h, m, 2)
		train, test := y[:n], y[n:]
		f, err := Select(train, SelectOptions{Horizon: h})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		models[f.Model]++
		got := MASE(train, test, f.Mean)
		naive := MASE(train, test, constant(train[n-1], h))
		maseSum += got
		if got >= 1 || got >= naive {
			t.Errorf("seed %d: %s held-out MASE %.3f, naive %.3f; want below 1 and below naive", seed, f.Model, got, naive)
		}
		if f.Period != m {
			t.Errorf("seed %d: detected period %d, want %d", seed, f.Period, m)
		}
		for i, v := range test {
			if v >= f.Lo80[i] && v <= f.Hi80[i] {
				in80++
			}
			if v >= f.Lo95[i] && v <= f.Hi95[i] {
				in95++
			}
			total++
		}
	}
	c80, c95 := float64(in80)/float64(total), float64(in95)/float64(total)
	t.Logf("models chosen %v; mean held-out MASE %.3f; coverage 80%%: %.1f%%, 95%%: %.1f%% over %d points",
		models, maseSum/seeds, 100*c80, 100*c95, total)
	if math.Abs(c80-0.80) > 0.07 {
		t.Errorf("80%% interval covers %.1f%% of held-out points; want 73-87%%", 100*c80)
	}
	if math.Abs(c95-0.95) > 0.04 {
		t.Errorf("95%% interval covers %.1f%% of held-out points; want 91-99%%", 100*c95)
	}
}

// TestARCoverage checks the AR model's own intervals on an AR(2) process,
// where it is the true model.
func TestARCoverage(t *testing.T) {
	var in80, in95, total int
	var maseSum float64
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 2))
		y := make([]float64, 400)
		for i := 2; i < len(y); i++ {
			y[i] = 5 + 0.6*y[i-1] - 0.3*y[i-2] + rng.NormFloat64()
		}
		train, test := y[:390], y[390:]
		fit, err := AR{}.Fit(train)
		if err != nil {
			t.Fatal(err)
		}
		mean, sd := fit.Forecast(len(test))
		lo80, hi80 := interval(mean, sd, 0.80)
		lo95, hi95 := interval(mean, sd, 0.95)
		maseSum += MASE(train, test, mean)
		for i, v := range test {
			if v >= lo80[i] && v <= hi80[i] {
				in80++
			}
			if v >= lo95[i] && v <= hi95[i] {
				in95++
			}
			total++
		}
	}
	c80, c95 := float64(in80)/float64(total), float64(in95)/float64(total)
	t.Logf("AR: mean MASE %.3f, coverage 80%%: %.1f%%, 95%%: %.1f%% over %d points", maseSum/20, 100*c80, 100*c95, total)
	if math.Abs(c80-0.80) > 0.08 || math.Abs(c95-0.95) > 0.05 {
		t.Errorf("AR coverage 80%%: %.1f%%, 95%%: %.1f%%", 100*c80, 100*c95)
	}
}

func TestARRecoversCoefficients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	y := make([]float64, 3000)
	for i := 2; i < len(y); i++ {
		y[i] = 1 + 0.5*y[i-1] + 0.2*y[i-2] + rng.NormFloat64()
	}
	fit, err := AR{P: 2}.Fit(y)
	if err != nil {
		t.Fatal(err)
	}
	f := fit.(*arFit)
	if math.Abs(f.phi[0]-0.5) > 0.05 || math.Abs(f.phi[1]-0.2) > 0.05 || math.Abs(f.sigma2-1) > 0.1 {
		t.Errorf("phi %v sigma2 %.3f; want [0.5 0.2] and 1", f.phi, f.sigma2)
	}
}

func TestSelectRejectsBadInput(t *testing.T) {
	if _, err := Select(make([]float64, 10), SelectOptions{Horizon: 5}); !errors.Is(err, ErrTooShort) {
		t.Errorf("short series: %v", err)
	}
	if _, err := Select([]float64{1, 2, math.NaN()}, SelectOptions{Horizon: 1}); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := Select(make([]float64, 100), SelectOptions{}); err == nil {
		t.Error("zero horizon accepted")
	}
	// A constant series forecasts itself.
	f, err := Select(constant(3, 100), SelectOptions{Horizon: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Mean {
		if math.Abs(v-3) > 1e-6 {
			t.Fatalf("constant series forecast %v", f.Mean)
		}
	}
}

func constant(v float64, n int) []float64 {
	y := make([]float64, n)
	for i := range y {
		y[i] = v
	}
	return y
}

// TestSelectOnShortSeasonalSeries is the dashboard's case: two minutes of a
// seasonal series at one point a second, forecast 40 steps ahead. Five
// seasons are enough for the seasonal model to take part and win.
func TestSelectOnShortSeasonalSeries(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		y := synthetic(seed, 160, 24, 1)
		train, test := y[:120], y[120:]
		f, err := Select(train, SelectOptions{Horizon: 40})
		if err != nil {
			t.Fatal(err)
		}
		got := MASE(train, test, f.Mean)
		if f.Period != 24 || got >= 1 {
			t.Errorf("seed %d: %s (period %d) held-out MASE %.2f; want period 24 and MASE below 1", seed, f.Model, f.Period, got)
		}
	}
}

// TestHoltWintersCoverage checks Holt-Winters' own intervals (the ETS(A,A,A)
// variance formula) on its home ground, over 20 seeds.
func TestHoltWintersCoverage(t *testing.T) {
	var in80, in95, total int
	for seed := uint64(1); seed <= 20; seed++ {
		y := synthetic(seed+100, 312, 24, 2)
		train, test := y[:288], y[288:]
		fit, err := HoltWinters{Period: 24}.Fit(train)
		if err != nil {
			t.Fatal(err)
		}
		mean, sd := fit.Forecast(len(test))
		lo80, hi80 := interval(mean, sd, 0.80)
		lo95, hi95 := interval(mean, sd, 0.95)
		for i, v := range test {
			if v >= lo80[i] && v <= hi80[i] {
				in80++
			}
			if v >= lo95[i] && v <= hi95[i] {
				in95++
			}
			total++
		}
	}
	c80, c95 := float64(in80)/float64(total), float64(in95)/float64(total)
	t.Logf("Holt-Winters: coverage 80%%: %.1f%%, 95%%: %.1f%% over %d points", 100*c80, 100*c95, total)
	if math.Abs(c80-0.80) > 0.07 || math.Abs(c95-0.95) > 0.04 {
		t.Errorf("Holt-Winters coverage 80%%: %.1f%%, 95%%: %.1f%%", 100*c80, 100*c95)
	}
}

// BenchmarkSelect is the dashboard's forecast request: 240 points, 40 steps,
// every candidate over the validation folds and the refit.
func BenchmarkSelect(b *testing.B) {
	y := synthetic(1, 240, 24, 2)
	for b.Loop() {
		if _, err := Select(y, SelectOptions{Horizon: 40}); err != nil {
			b.Fatal(err)
		}
	}
}
