package research

import (
	"context"
	"math"
	"testing"
)

func TestAdjustmentsMatchR(t *testing.T) {
	// p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), "BH") and "holm" in R.
	p := []float64{0.01, 0.04, 0.03, 0.005, 0.5}
	tests := []struct {
		name string
		got  []float64
		want []float64
	}{
		{"BH", BenjaminiHochberg(p), []float64{0.025, 0.05, 0.05, 0.025, 0.5}},
		{"Holm", Holm(p), []float64{0.04, 0.09, 0.09, 0.025, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range p {
				if math.Abs(tt.got[i]-tt.want[i]) > 1e-12 {
					t.Fatalf("adjusted %v, want %v", tt.got, tt.want)
				}
			}
		})
	}
}

func TestExpectedMaxSharpe(t *testing.T) {
	// Bailey & López de Prado (2014): with N = 100 trials of unit variance
	// the expected maximum is about 2.53.
	if got := ExpectedMaxSharpe(100, 1); math.Abs(got-2.531) > 0.01 {
		t.Fatalf("E[max] of 100 = %v, want about 2.531", got)
	}
	if got := ExpectedMaxSharpe(1, 1); got != 0 {
		t.Fatalf("one trial: %v, want 0", got)
	}
}

func TestAUC(t *testing.T) {
	tests := []struct {
		name     string
		pos, neg []float64
		want     float64
	}{
		{"perfect", []float64{3, 4}, []float64{1, 2}, 1},
		{"reversed", []float64{1, 2}, []float64{3, 4}, 0},
		{"ties", []float64{1}, []float64{1}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AUC(tt.pos, tt.neg); got != tt.want {
				t.Fatalf("AUC = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPBOSeparatesSkillFromLuck(t *testing.T) {
	// Twenty noise strategies: choosing the best in sample is a coin out
	// of sample (PBO near 0.5). One strategy with real skill among them:
	// the best in sample stays good out of sample (PBO near 0).
	noise := func(skill float64) [][]float64 {
		rows := 1600
		perf := make([][]float64, rows)
		for r := range rows {
			perf[r] = make([]float64, 20)
			for j := range perf[r] {
				x := float64(int64(splitmix(uint64(r*20+j))%2001)-1000) / 1000
				if j == 0 {
					x += skill
				}
				perf[r][j] = x
			}
		}
		return perf
	}
	if pbo, n := PBO(noise(0), 16); pbo < 0.3 || pbo > 0.7 || n != 12870 {
		t.Fatalf("noise only: PBO %v over %d splits, want 0.3..0.7 over 12870", pbo, n)
	}
	if pbo, _ := PBO(noise(0.2), 16); pbo > 0.05 {
		t.Fatalf("one skilled strategy: PBO %v, want below 0.05", pbo)
	}
}

// noisePlan is a quick plan: one seed to select, one held out.
func noisePlan(seed uint64, effects []Effect) Plan {
	return Plan{SelectSeeds: []uint64{seed}, HoldoutSeeds: []uint64{seed + 1000}, Days: 1500, Effects: effects, CostFree: true}
}

// TestNoiseHypothesesAcrossSeeds is issue 17's bar: 100 pure-noise
// hypotheses yield at most about q·100 discoveries under BH, and none
// under Holm in at least 95 % of seeds. Costs are off so that the null
// p-values are uniform (with costs every noise rule loses money and the
// test could not fail).
func TestNoiseHypothesesAcrossSeeds(t *testing.T) {
	const seeds = 40
	var bhTotal, holmClean int
	for seed := uint64(1); seed <= seeds; seed++ {
		lab, err := NewLab(context.Background(), noisePlan(seed, nil))
		if err != nil {
			t.Fatal(err)
		}
		exps := make([]Experiment, 100)
		for i := range exps {
			h := Hypothesis{Signal: NoiseRule, Set: Sets[i%3], Regime: AnyRegime, Horizon: 5, Sign: 1, NoiseSeed: seed*1000 + uint64(i)}
			if exps[i], err = lab.Test(context.Background(), i+1, h); err != nil {
				t.Fatal(err)
			}
		}
		lab.Judge(exps)
		bh, holm := 0, 0
		for _, e := range exps {
			if e.PBH <= FDRLevel {
				bh++
			}
			if e.PHolm <= FWERLevel {
				holm++
			}
			if e.Verdict != Insufficient {
				t.Errorf("seed %d: noise hypothesis %d got verdict %q", seed, e.ID, e.Verdict)
			}
		}
		bhTotal += bh
		if holm == 0 {
			holmClean++
		}
		if bh > 2*FDRLevel*100 {
			t.Errorf("seed %d: %d BH discoveries among 100 noise hypotheses", seed, bh)
		}
	}
	mean := float64(bhTotal) / seeds
	t.Logf("noise: mean BH discoveries %.3f, Holm clean in %d of %d seeds", mean, holmClean, seeds)
	if mean > FDRLevel*100 {
		t.Errorf("mean BH discoveries %.2f, want at most %.0f", mean, FDRLevel*100)
	}
	if float64(holmClean) < 0.95*seeds {
		t.Errorf("Holm found nothing in %d of %d seeds, want at least 95 %%", holmClean, seeds)
	}
}

// plantedEffects are the true effects the planted-world tests plant, at
// their stated size: a daily Sharpe ratio of 0.15 on the days they apply.
var plantedEffects = []Effect{
	{Signal: Reversal, Horizon: 5, Regime: Stressed, Set: Equity, Size: 0.15},
	{Signal: Trend, Horizon: 63, Regime: Calm, Set: FX, Size: 0.15},
	{Signal: Momentum, Horizon: 21, Regime: AnyRegime, Set: Crypto, Size: 0.15},
}

// gridHypotheses is every signal × set × regime × horizon.
func gridHypotheses() []Hypothesis {
	var out []Hypothesis
	for _, s := range Signals {
		for _, set := range Sets {
			for _, r := range Regimes {
				for _, h := range Horizons {
					out = append(out, Hypothesis{Signal: s, Set: set, Regime: r, Horizon: h, Sign: 1})
				}
			}
		}
	}
	return out
}

// TestPlantedEffectsRecovered: among all 108 grid hypotheses, the planted
// ones are BH discoveries in at least 80 % of seeds, with costs on.
func TestPlantedEffectsRecovered(t *testing.T) {
	const seeds = 10
	found := make([]int, len(plantedEffects))
	for seed := uint64(1); seed <= seeds; seed++ {
		p := DefaultPlan(plantedEffects, nil)
		p.SelectSeeds, p.HoldoutSeeds = []uint64{seed, seed + 50}, []uint64{seed + 100, seed + 150}
		lab, err := NewLab(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		hyps := gridHypotheses()
		exps := make([]Experiment, len(hyps))
		for i, h := range hyps {
			if exps[i], err = lab.Test(context.Background(), i+1, h); err != nil {
				t.Fatal(err)
			}
		}
		lab.Judge(exps)
		for k, eff := range plantedEffects {
			for _, e := range exps {
				h := e.Hypothesis
				if h.Signal == eff.Signal && h.Set == eff.Set && h.Regime == eff.Regime && h.Horizon == eff.Horizon {
					t.Logf("seed %d %s: t %.2f p_bh %.4f dsr %.3f pbo %.3f verdict %s", seed, h.Key(), e.Perf.T, e.PBH, e.DSR, e.PBO, e.Verdict)
					if e.PBH <= FDRLevel {
						found[k]++
					}
				}
			}
		}
	}
	for k, n := range found {
		if float64(n) < 0.8*seeds {
			t.Errorf("planted %+v recovered in %d of %d seeds, want at least 80 %%", plantedEffects[k], n, seeds)
		}
	}
}
