package research

import (
	"context"
	"fmt"
)

// The evaluations the tests hold to a bar and the bench reports.

// NoiseResult is one seed's 100 pure-noise hypotheses.
type NoiseResult struct {
	Seed        uint64 `json:"seed"`
	Hypotheses  int    `json:"hypotheses"`
	BH          int    `json:"bh"`   // discoveries at q = FDRLevel
	Holm        int    `json:"holm"` // at FWERLevel
	Recommended int    `json:"recommended"`
}

// NoiseTrial tests n noise hypotheses (seeded coins, held five days) on
// the simulator's paths of seed and a held-out seed. Costs are off so that
// null p-values are uniform: with costs every coin loses money and the
// check could not fail.
func NoiseTrial(ctx context.Context, seed uint64, n int) (NoiseResult, error) {
	plan := Plan{SelectSeeds: []uint64{seed}, HoldoutSeeds: []uint64{seed + 1000}, Days: 1500, CostFree: true}
	lab, err := NewLab(ctx, plan)
	if err != nil {
		return NoiseResult{}, err
	}
	exps := make([]Experiment, n)
	for i := range exps {
		h := Hypothesis{Signal: NoiseRule, Set: Sets[i%len(Sets)], Regime: AnyRegime, Horizon: 5, Sign: 1, NoiseSeed: seed*1000 + uint64(i)}
		if exps[i], err = lab.Test(ctx, i+1, h); err != nil {
			return NoiseResult{}, err
		}
	}
	lab.Judge(exps)
	r := NoiseResult{Seed: seed, Hypotheses: n}
	for _, e := range exps {
		if e.PBH <= FDRLevel {
			r.BH++
		}
		if e.PHolm <= FWERLevel {
			r.Holm++
		}
		if e.Verdict != Insufficient {
			r.Recommended++
		}
	}
	return r, nil
}

// PlantedEffects are the true effects the planted-world evaluation plants,
// at their stated size: a daily Sharpe ratio of 0.15 on the days each
// applies.
var PlantedEffects = []Effect{
	{Signal: Reversal, Horizon: 5, Regime: Stressed, Set: Equity, Size: 0.15},
	{Signal: Trend, Horizon: 63, Regime: Calm, Set: FX, Size: 0.15},
	{Signal: Momentum, Horizon: 21, Regime: AnyRegime, Set: Crypto, Size: 0.15},
}

// GridHypotheses is every signal × set × regime × horizon: 108.
func GridHypotheses() []Hypothesis {
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

// PlantedResult is one seed of the planted world.
type PlantedResult struct {
	Seed      uint64 `json:"seed"`
	Found     []bool `json:"found"` // per PlantedEffects: a BH discovery
	Backtests int    `json:"backtests"`
}

// PlantedTrial tests all grid hypotheses in a world holding
// PlantedEffects, selecting on two seeds and holding out two others.
func PlantedTrial(ctx context.Context, seed uint64) (PlantedResult, error) {
	p := DefaultPlan(PlantedEffects, nil)
	p.SelectSeeds, p.HoldoutSeeds = []uint64{seed, seed + 50}, []uint64{seed + 100, seed + 150}
	lab, err := NewLab(ctx, p)
	if err != nil {
		return PlantedResult{}, err
	}
	hyps := GridHypotheses()
	exps := make([]Experiment, len(hyps))
	for i, h := range hyps {
		if exps[i], err = lab.Test(ctx, i+1, h); err != nil {
			return PlantedResult{}, fmt.Errorf("planted seed %d: %w", seed, err)
		}
	}
	lab.Judge(exps)
	r := PlantedResult{Seed: seed, Found: make([]bool, len(PlantedEffects)), Backtests: lab.Backtests()}
	for k, eff := range PlantedEffects {
		for _, e := range exps {
			h := e.Hypothesis
			if h.Signal == eff.Signal && h.Set == eff.Set && h.Regime == eff.Regime && h.Horizon == eff.Horizon && e.PBH <= FDRLevel {
				r.Found[k] = true
			}
		}
	}
	return r, nil
}
