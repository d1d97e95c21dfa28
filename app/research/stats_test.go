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

// TestNoiseHypothesesAcrossSeeds is issue 17's bar: 100 pure-noise
// hypotheses yield at most about q·100 discoveries under BH, and none
// under Holm in at least 95 % of seeds.
func TestNoiseHypothesesAcrossSeeds(t *testing.T) {
	const seeds = 40
	var bhTotal, holmClean int
	for seed := uint64(1); seed <= seeds; seed++ {
		r, err := NoiseTrial(context.Background(), seed, 100)
		if err != nil {
			t.Fatal(err)
		}
		bhTotal += r.BH
		if r.Holm == 0 {
			holmClean++
		}
		if r.BH > 2*FDRLevel*100 {
			t.Errorf("seed %d: %d BH discoveries among 100 noise hypotheses", seed, r.BH)
		}
		if r.Recommended > 0 {
			t.Errorf("seed %d: %d noise hypotheses got a recommendation", seed, r.Recommended)
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

// TestPlantedEffectsRecovered: among all 108 grid hypotheses, each planted
// effect is a BH discovery in at least 80 % of seeds, with costs on.
func TestPlantedEffectsRecovered(t *testing.T) {
	const seeds = 10
	found := make([]int, len(PlantedEffects))
	for seed := uint64(1); seed <= seeds; seed++ {
		r, err := PlantedTrial(context.Background(), seed)
		if err != nil {
			t.Fatal(err)
		}
		for k, f := range r.Found {
			if f {
				found[k]++
			}
		}
	}
	for k, n := range found {
		t.Logf("planted %+v recovered in %d of %d seeds", PlantedEffects[k], n, seeds)
		if float64(n) < 0.8*seeds {
			t.Errorf("planted %+v recovered in %d of %d seeds, want at least 80 %%", PlantedEffects[k], n, seeds)
		}
	}
}
