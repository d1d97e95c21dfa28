package rl

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Replay is a ring buffer of transitions stored in flat slices.
type Replay struct {
	Cap, Size, Pos   int
	ObsDim, ActDim   int
	Obs, NextObs     []float64
	Act              []float64
	Reward, Terminal []float64 // Terminal is 1 where the episode terminated
}

// NewReplay returns an empty buffer holding up to capacity transitions.
func NewReplay(capacity, obsDim, actDim int) *Replay {
	return &Replay{
		Cap: capacity, ObsDim: obsDim, ActDim: actDim,
		Obs: make([]float64, capacity*obsDim), NextObs: make([]float64, capacity*obsDim),
		Act: make([]float64, capacity*actDim), Reward: make([]float64, capacity), Terminal: make([]float64, capacity),
	}
}

// Add stores one transition, overwriting the oldest when full.
func (r *Replay) Add(obs, act []float64, reward float64, next []float64, terminated bool) {
	i := r.Pos
	copy(r.Obs[i*r.ObsDim:], obs)
	copy(r.NextObs[i*r.ObsDim:], next)
	copy(r.Act[i*r.ActDim:], act)
	r.Reward[i] = reward
	r.Terminal[i] = 0
	if terminated {
		r.Terminal[i] = 1
	}
	r.Pos = (r.Pos + 1) % r.Cap
	r.Size = min(r.Size+1, r.Cap)
}

// Batch is a sample of transitions, one per row.
type Batch struct {
	Obs, Act, NextObs  *mat.Dense
	Reward, Terminated []float64
}

// Sample draws n transitions uniformly with replacement.
func (r *Replay) Sample(rng *rand.Rand, n int) Batch {
	b := Batch{
		Obs: mat.NewDense(n, r.ObsDim, nil), NextObs: mat.NewDense(n, r.ObsDim, nil),
		Act: mat.NewDense(n, r.ActDim, nil), Reward: make([]float64, n), Terminated: make([]float64, n),
	}
	for j := 0; j < n; j++ {
		i := rng.IntN(r.Size)
		b.Obs.SetRow(j, r.Obs[i*r.ObsDim:(i+1)*r.ObsDim])
		b.NextObs.SetRow(j, r.NextObs[i*r.ObsDim:(i+1)*r.ObsDim])
		b.Act.SetRow(j, r.Act[i*r.ActDim:(i+1)*r.ActDim])
		b.Reward[j], b.Terminated[j] = r.Reward[i], r.Terminal[i]
	}
	return b
}
