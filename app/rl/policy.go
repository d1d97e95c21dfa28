package rl

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Policy maps an observation to an action.
type Policy interface {
	Act(obs []float64, deterministic bool, rng *rand.Rand) []float64
}

// Evaluate runs episodes of env with the deterministic policy and returns
// each episode's undiscounted return. Episode i starts from seed (seed, i),
// a stream no training run uses.
func Evaluate(pol Policy, env string, episodes int, seed uint64) ([]float64, error) {
	e, err := NewEnv(env)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	seeds := rand.New(rand.NewPCG(seed, 0x6576616c))
	out := make([]float64, episodes)
	for i := range out {
		obs := e.Reset(seeds.Uint64())
		for {
			s := e.Step(pol.Act(obs, true, nil))
			out[i] += s.Reward
			obs = s.Obs
			if s.Terminated || s.Truncated {
				break
			}
		}
	}
	return out, nil
}

// MeanStd returns the mean and sample standard deviation of xs.
func MeanStd(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var v float64
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(v / float64(len(xs)-1))
}
