package rl

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// VecEnv steps N copies of an environment in parallel goroutines and resets
// each one automatically when its episode ends. Env i draws its episode seeds
// from its own stream (seed, i), so results do not depend on Workers.
type VecEnv struct {
	Envs    []Env
	Workers int

	seeds  []*rand.PCG
	obs    [][]float64
	ret    []float64
	length []int
}

// VecStep is the result of one step of every environment.
type VecStep struct {
	Obs        [][]float64 // next observations; the reset observation where an episode ended
	Reward     []float64
	Terminated []bool
	Truncated  []bool
	FinalObs   [][]float64 // last observation of an episode that ended, else nil
	Episodes   []Episode   // episodes that ended in this step, in environment order
}

// Episode is the undiscounted return and length of one finished episode.
type Episode struct {
	Return float64
	Length int
}

// NewVecEnv builds n environments with newEnv and resets them from seed.
func NewVecEnv(newEnv func() Env, n int, seed uint64, workers int) *VecEnv {
	v := &VecEnv{Workers: max(1, workers)}
	for i := 0; i < n; i++ {
		v.Envs = append(v.Envs, newEnv())
		v.seeds = append(v.seeds, rand.NewPCG(seed, uint64(i)))
	}
	v.ret = make([]float64, n)
	v.length = make([]int, n)
	v.obs = make([][]float64, n)
	for i, e := range v.Envs {
		v.obs[i] = e.Reset(v.seeds[i].Uint64())
	}
	return v
}

// Len is the number of environments.
func (v *VecEnv) Len() int { return len(v.Envs) }

// Obs returns the current observation of every environment.
func (v *VecEnv) Obs() [][]float64 { return v.obs }

// Step applies actions[i] to environment i, in parallel.
func (v *VecEnv) Step(actions [][]float64) VecStep {
	n := len(v.Envs)
	s := VecStep{
		Obs: make([][]float64, n), Reward: make([]float64, n),
		Terminated: make([]bool, n), Truncated: make([]bool, n),
		FinalObs: make([][]float64, n),
	}
	stepOne := func(i int) {
		r := v.Envs[i].Step(actions[i])
		s.Reward[i], s.Terminated[i], s.Truncated[i] = r.Reward, r.Terminated, r.Truncated
		v.ret[i] += r.Reward
		v.length[i]++
		if r.Terminated || r.Truncated {
			s.FinalObs[i] = r.Obs
			r.Obs = v.Envs[i].Reset(v.seeds[i].Uint64())
		}
		s.Obs[i] = r.Obs
	}
	workers := min(v.Workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			stepOne(i)
		}
	} else {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			lo, hi := w*n/workers, (w+1)*n/workers
			wg.Go(func() {
				for i := lo; i < hi; i++ {
					stepOne(i)
				}
			})
		}
		wg.Wait()
	}
	for i := 0; i < n; i++ {
		if s.FinalObs[i] != nil {
			s.Episodes = append(s.Episodes, Episode{Return: v.ret[i], Length: v.length[i]})
			v.ret[i], v.length[i] = 0, 0
		}
	}
	v.obs = s.Obs
	return s
}

// VecState is a VecEnv's complete state for a checkpoint.
type VecState struct {
	Env    [][]float64
	Seeds  [][]byte
	Obs    [][]float64
	Return []float64
	Length []int
}

// State returns a deep copy of the vector environment's state.
func (v *VecEnv) State() (VecState, error) {
	s := VecState{Return: append([]float64(nil), v.ret...), Length: append([]int(nil), v.length...)}
	for i, e := range v.Envs {
		b, err := v.seeds[i].MarshalBinary()
		if err != nil {
			return VecState{}, fmt.Errorf("env %d seed stream: %w", i, err)
		}
		s.Env = append(s.Env, e.State())
		s.Seeds = append(s.Seeds, b)
		s.Obs = append(s.Obs, append([]float64(nil), v.obs[i]...))
	}
	return s, nil
}

// SetState restores what State returned.
func (v *VecEnv) SetState(s VecState) error {
	if len(s.Env) != len(v.Envs) {
		return fmt.Errorf("vector state holds %d environments, have %d", len(s.Env), len(v.Envs))
	}
	for i, e := range v.Envs {
		if err := e.SetState(s.Env[i]); err != nil {
			return fmt.Errorf("env %d: %w", i, err)
		}
		if err := v.seeds[i].UnmarshalBinary(s.Seeds[i]); err != nil {
			return fmt.Errorf("env %d seed stream: %w", i, err)
		}
		v.obs[i] = append([]float64(nil), s.Obs[i]...)
	}
	copy(v.ret, s.Return)
	copy(v.length, s.Length)
	return nil
}
