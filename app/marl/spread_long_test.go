package marl

import (
	"fmt"
	"os"
	"testing"
)

// TestSpreadBeatsRandom is the bar for the learners: trained on
// simple_spread with their default budgets, MADDPG and QMIX each score at
// least 30 % better than a random team, on every one of three seeds, over
// 200 held-out episodes. About 12 minutes on 2 cores, so opt-in:
//
//	METASTATION_LONG=1 go test ./app/marl/ -run TestSpreadBeatsRandom -v -timeout 40m
func TestSpreadBeatsRandom(t *testing.T) {
	if os.Getenv("METASTATION_LONG") != "1" {
		t.Skip("full training runs: set METASTATION_LONG=1")
	}
	const evalSeed, evalEpisodes = 1000, 200
	random := mean(EvaluateTeam(NewSpread(SpreadConfig{}), RandomController{}, 4000, evalSeed, false))
	train := map[string]func(seed uint64) (Controller, error){
		"maddpg": func(seed uint64) (Controller, error) {
			cfg := DefaultMADDPGConfig("spread")
			cfg.Seed = seed
			m, err := NewMADDPG(cfg)
			if err != nil {
				return nil, err
			}
			for !m.Done() {
				m.Run()
			}
			return m, nil
		},
		"qmix": func(seed uint64) (Controller, error) {
			cfg := DefaultQMIXConfig("spread", "qmix")
			cfg.Seed = seed
			q, err := NewQMIX(cfg)
			if err != nil {
				return nil, err
			}
			for !q.Done() {
				q.Run()
			}
			return q, nil
		},
	}
	for _, algo := range []string{"maddpg", "qmix"} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", algo, seed), func(t *testing.T) {
				t.Parallel()
				c, err := train[algo](seed)
				if err != nil {
					t.Fatal(err)
				}
				got := mean(EvaluateTeam(NewSpread(SpreadConfig{}), c, evalEpisodes, evalSeed, true))
				better := 1 - got/random
				t.Logf("%s seed %d: greedy %.2f, random %.2f: %.1f%% better", algo, seed, got, random, 100*better)
				if better < 0.3 {
					t.Errorf("%s seed %d: %.1f%% better than random, want at least 30%%", algo, seed, 100*better)
				}
			})
		}
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
