package market

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"
)

func TestPresetsAreValid(t *testing.T) {
	for _, name := range PresetNames() {
		u, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := Preset("bonds"); err == nil || !strings.Contains(err.Error(), "choose one of") {
		t.Errorf("unknown preset: got %v", err)
	}
}

func TestLoadUniverse(t *testing.T) {
	good := `{"name":"mine","instruments":[
		{"symbol":"AAA","class":"equity","price":100,"tick_size":0.01,"lot_size":1,"annual_vol":0.3,
		 "garch":{"alpha":0.05,"gamma":0.05,"beta":0.88,"nu":6}},
		{"symbol":"BBB","class":"crypto","price":10,"tick_size":0.001,"lot_size":0.1,"annual_vol":0.8,
		 "garch":{"alpha":0.08,"beta":0.88,"nu":4.5},"jumps":{"per_year":5,"mean":0,"std":0.05}}]}`
	u, err := LoadUniverse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if u.Correlation[0][1] != 0.2 {
		t.Errorf("default equity-crypto correlation = %g, want 0.2", u.Correlation[0][1])
	}
	bad := []struct{ name, json, want string }{
		{"unknown field", `{"instruments":[],"colour":1}`, "unknown field"},
		{"empty", `{"instruments":[]}`, "no instruments"},
		{"class", `{"instruments":[{"symbol":"A","class":"bond","price":1,"tick_size":0.001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}}]}`, "class \"bond\""},
		{"tick", `{"instruments":[{"symbol":"A","class":"fx","price":1,"tick_size":0.1,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}}]}`, "too coarse"},
		{"nu", `{"instruments":[{"symbol":"A","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":2}}]}`, "above 2"},
		{"persistence", `{"instruments":[{"symbol":"A","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"alpha":0.2,"beta":0.9,"nu":5}}]}`, "below 1"},
		{"duplicate", `{"instruments":[
			{"symbol":"A","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}},
			{"symbol":"A","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}}]}`, "twice"},
		{"not definite", `{"instruments":[
			{"symbol":"A","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}},
			{"symbol":"B","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}},
			{"symbol":"C","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}}],
			"correlation":[[1,0.9,-0.9],[0.9,1,0.9],[-0.9,0.9,1]]}`, "not positive definite"},
		{"asymmetric", `{"instruments":[
			{"symbol":"A","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}},
			{"symbol":"B","class":"fx","price":1,"tick_size":0.0001,"lot_size":1,"annual_vol":0.1,"garch":{"beta":0.9,"nu":5}}],
			"correlation":[[1,0.5],[0.4,1]]}`, "not symmetric"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadUniverse(strings.NewReader(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestProcessIsDeterministic(t *testing.T) {
	u, _ := Preset("all")
	a, _ := DailyReturns(u, 300, 42)
	b, _ := DailyReturns(u, 300, 42)
	c, _ := DailyReturns(u, 300, 43)
	for i := range a {
		for d := range a[i] {
			if a[i][d] != b[i][d] {
				t.Fatalf("seed 42 gave two different paths at instrument %d day %d", i, d)
			}
		}
	}
	if a[0][10] == c[0][10] && a[0][11] == c[0][11] {
		t.Error("seeds 42 and 43 gave the same path")
	}
}

// volBands are the annualised volatility bands per class.
var volBands = map[Class][2]float64{
	ClassIndex: {0.15, 0.25}, ClassEquity: {0.25, 0.45}, ClassCrypto: {0.60, 1.20}, ClassFX: {0.05, 0.12},
}

func TestRealisedVolatilityTailsClusteringCorrelation(t *testing.T) {
	for _, name := range []string{"equity", "crypto", "fx"} {
		u, _ := Preset(name)
		for seed := uint64(1); seed <= 3; seed++ {
			rs, err := DailyReturns(u, 20000, seed)
			if err != nil {
				t.Fatal(err)
			}
			for i, in := range u.Instruments {
				f, err := ComputeFacts(rs[i], in.Class.DaysPerYear())
				if err != nil {
					t.Fatal(err)
				}
				band := volBands[in.Class]
				if in.Symbol == "BTC" {
					band = [2]float64{0.60, 0.90}
				}
				if f.AnnualVol < band[0] || f.AnnualVol > band[1] {
					t.Errorf("%s seed %d: annual vol %.3f outside %v", in.Symbol, seed, f.AnnualVol, band)
				}
				if f.ExcessKurtosis <= 1 {
					t.Errorf("%s seed %d: excess kurtosis %.2f, want heavy tails (> 1)", in.Symbol, seed, f.ExcessKurtosis)
				}
				if f.ACFSq1 <= 0.05 {
					t.Errorf("%s seed %d: ACF(r², 1) = %.3f, want volatility clustering (> 0.05)", in.Symbol, seed, f.ACFSq1)
				}
			}
			for i := range u.Instruments {
				for j := i + 1; j < len(u.Instruments); j++ {
					got := stat.Correlation(rs[i], rs[j], nil)
					// Crises push correlations toward ±1, so the long-run
					// figure sits a little beyond the calm target.
					if want := u.Correlation[i][j]; math.Abs(got-want) > 0.12 {
						t.Errorf("%s seed %d: corr(%s,%s) = %.3f, want %.2f ± 0.12", name, seed,
							u.Instruments[i].Symbol, u.Instruments[j].Symbol, got, want)
					}
				}
			}
		}
	}
}

// TestEquityStylizedFacts holds 50,000 simulated days of the equity index to
// the ranges of real indices (CheckEquityFacts: leverage at most -0.05 and
// S20 in 4.5-8 among them), and shows that a plain GBM fails them. The
// aggregational checks (21- and 63-day kurtosis) rest on ~800 quarterly
// sums that one extreme quarter can dominate, so at least four of five
// seeds must pass every check (seeds 1-5 all do; over seeds 1-20, 13 do:
// METASTATION_LONG=1 runs them). With -v it prints the per-seed table.
func TestEquityStylizedFacts(t *testing.T) {
	if passed := equityFactsSeeds(t, 1, 5); passed < 4 {
		t.Errorf("only %d of 5 seeds pass every stylized-facts check, want at least 4", passed)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	gbm := make([]float64, 50000)
	for i := range gbm {
		gbm[i] = 0.18 / math.Sqrt(252) * rng.NormFloat64()
	}
	f, _ := ComputeFacts(gbm, 252)
	t.Logf("GBM control: %s", factsRow(f))
	failed := map[string]bool{}
	for _, c := range CheckEquityFacts(f) {
		if !c.OK {
			failed[c.Name] = true
		}
	}
	if len(failed) < 3 || !failed["S20"] || !failed["leverage"] {
		t.Errorf("a plain GBM failed only %v of the stylized-facts checks; the checks are too weak", failed)
	}
}

// TestEquityStylizedFactsManySeeds is the long sweep: seeds 1-20, at least
// 12 passing every check (13 did when the parameters were chosen).
func TestEquityStylizedFactsManySeeds(t *testing.T) {
	if os.Getenv("METASTATION_LONG") != "1" {
		t.Skip("set METASTATION_LONG=1 for the 20-seed sweep")
	}
	if passed := equityFactsSeeds(t, 1, 20); passed < 12 {
		t.Errorf("only %d of 20 seeds pass every stylized-facts check, want at least 12", passed)
	}
}

// equityFactsSeeds simulates 50,000 days of the equity preset for each seed
// from first to last, logs the index's facts one line a seed with the
// checks it fails, and returns how many seeds pass every check.
func equityFactsSeeds(t *testing.T, first, last uint64) int {
	t.Helper()
	u, _ := Preset("equity")
	t.Logf("seed: kurtosis | ACF(r,1) | max|ACF(r)| 2-20 | ACF(|r|,1) | S20 | leverage | kurtosis 21d | 63d | vol")
	passed := 0
	for seed := first; seed <= last; seed++ {
		rs, err := DailyReturns(u, 50000, seed)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ComputeFacts(rs[0], 252)
		if err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, c := range CheckEquityFacts(f) {
			if !c.OK {
				failed = append(failed, fmt.Sprintf("%s = %.3f, want %s", c.Name, c.Value, c.Want))
			}
		}
		if len(failed) == 0 {
			passed++
		}
		t.Logf("seed %2d: %s %s", seed, factsRow(f), strings.Join(failed, "; "))
	}
	return passed
}

// factsRow is one line of the facts table.
func factsRow(f Facts) string {
	return fmt.Sprintf("%5.1f | %6.3f | %5.3f | %5.3f | %5.2f | %6.3f | %5.1f | %5.1f | %4.2f",
		f.ExcessKurtosis, f.ACFR1, f.MaxACFR2to20, f.ACFAbsR1, f.S20, f.Leverage, f.Kurtosis21d, f.Kurtosis63d, f.AnnualVol)
}

func TestCryptoHeavierFXWithoutLeverage(t *testing.T) {
	eq, _ := Preset("equity")
	cr, _ := Preset("crypto")
	fx, _ := Preset("fx")
	re, _ := DailyReturns(eq, 30000, 7)
	rc, _ := DailyReturns(cr, 30000, 7)
	rf, _ := DailyReturns(fx, 30000, 7)
	fe, _ := ComputeFacts(re[0], 252)
	fc, _ := ComputeFacts(rc[0], 365)
	ff, _ := ComputeFacts(rf[0], 260)
	if fc.HillTail >= fe.HillTail {
		t.Errorf("BTC tail index %.2f not below the equity index's %.2f (crypto should be heavier-tailed)", fc.HillTail, fe.HillTail)
	}
	if math.Abs(ff.Leverage) > 0.02 {
		t.Errorf("EURUSD leverage %.3f, want little (|x| < 0.02)", ff.Leverage)
	}
}

func TestFlashCrashScript(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)
	s, err := FlashCrash(start)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := Preset("equity")
	p, _ := NewProcess(u, 1)
	p.SetScript(s)
	const sec = 1.0 / 86400
	var before, after float64
	seen := map[Regime]bool{}
	for k := 1; k <= 4*3600; k++ { // 09:30 to 13:30, one step a second
		p.Step(sec)
		seen[p.Regime()] = true
		now := start.Add(time.Duration(k) * time.Second)
		if now.Equal(start.Add(time.Hour - time.Second)) {
			before = p.Price(0)
		}
		if now.Equal(start.Add(time.Hour + time.Second)) {
			after = p.Price(0)
			if p.Regime() != BlackSwan {
				t.Errorf("at 10:30:01 the regime is %s, want black_swan", p.Regime())
			}
		}
	}
	if drop := after/before - 1; drop > -0.03 {
		t.Errorf("the flash crash moved SPX by %.2f%%, want a fall of more than 3%%", 100*drop)
	}
	if p.Regime() != Calm || !p.Forced() {
		t.Errorf("after 13:00 the regime is %s (forced %v), want forced calm", p.Regime(), p.Forced())
	}
	for _, r := range []Regime{Calm, BlackSwan, Crisis, Volatile} {
		if !seen[r] {
			t.Errorf("regime %s never seen", r)
		}
	}
	bad := []string{"", "10:30", "9:00 calm", "calm; +1h storm", "calm shock=-99", "11:00 calm; 10:00 crisis"}
	for _, b := range bad {
		t.Run("bad script "+b, func(t *testing.T) {
			if _, err := ParseScript(b, start); err == nil {
				t.Errorf("script %q: want an error", b)
			}
		})
	}
}

func TestExampleUniverseFile(t *testing.T) {
	f, err := os.Open("testdata/universe.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, err := LoadUniverse(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSim(SimConfig{Universe: u, Seed: 1, Agents: 100}); err != nil {
		t.Fatal(err)
	}
}
