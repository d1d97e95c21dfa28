package mlops

import (
	"math/rand/v2"
	"strconv"
)

// CanarySim plays keyed requests from 100,000 customers through a canary.
// It is not safe for concurrent use.
// The tests and `metastation bench mlops` measure the rollback rates with it.
type CanarySim struct {
	keys   []string
	share  float64
	canary []bool // keys[i] is in the canary at share; routing is sticky, so it is worked out once
}

// NewCanarySim returns a simulator.
func NewCanarySim() *CanarySim {
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = "customer-" + strconv.Itoa(i)
	}
	return &CanarySim{keys: keys}
}

// Run plays requests (from customers drawn at random) through a canary at share until the sequential test
// decides, and returns its final state. Each request's outcome is 1 (the
// answer was right) with the probability of the model that served it.
func (c *CanarySim) Run(seed uint64, share, pChampion, pChallenger float64, cfg SequentialConfig) SequentialState {
	rng := rand.New(rand.NewPCG(seed, 0x63616e))
	s := NewSequential(cfg)
	if c.canary == nil || c.share != share {
		c.share, c.canary = share, make([]bool, len(c.keys))
		for i, k := range c.keys {
			c.canary[i] = InCanary("sim", k, share)
		}
	}
	for {
		if c.canary[rng.IntN(len(c.keys))] {
			s.Challenger.Add(bernoulli(rng, pChallenger))
			if st := s.State(); st.Verdict != Continue {
				return st
			}
		} else {
			s.Champion.Add(bernoulli(rng, pChampion))
		}
	}
}

func bernoulli(rng *rand.Rand, p float64) float64 {
	if rng.Float64() < p {
		return 1
	}
	return 0
}

// RollbackRate runs the simulation from seeds first, first+1, … runs times
// and returns the share of runs rolled back.
func (c *CanarySim) RollbackRate(first uint64, runs int, share, pChampion, pChallenger float64, cfg SequentialConfig) float64 {
	n := 0
	for i := range runs {
		if c.Run(first+uint64(i), share, pChampion, pChallenger, cfg).Verdict == Regressed {
			n++
		}
	}
	return float64(n) / float64(runs)
}
