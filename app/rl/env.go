package rl

import "fmt"

// Space describes an action space: N > 0 means N discrete actions (passed as
// a one-element slice holding the index); otherwise a box [Low, High].
type Space struct {
	N         int
	Low, High []float64
}

// Discrete reports whether the space is a set of N actions.
func (s Space) Discrete() bool { return s.N > 0 }

// Dim is the width of an action vector: 1 for discrete spaces.
func (s Space) Dim() int {
	if s.Discrete() {
		return 1
	}
	return len(s.Low)
}

// Step is what an environment returns after one action. Terminated means the
// episode reached a terminal state (no bootstrapping); Truncated means it was
// cut by a time limit (the value of Obs should be bootstrapped).
type Step struct {
	Obs        []float64
	Reward     float64
	Terminated bool
	Truncated  bool
}

// Env is one environment. Implementations keep their whole state in plain
// fields so that they can be saved in a checkpoint.
type Env interface {
	// Name is the registry name, such as "cartpole".
	Name() string
	ObsDim() int
	ActionSpace() Space
	// Reset starts an episode whose initial state is drawn from seed.
	Reset(seed uint64) []float64
	// Step applies action and advances one time step.
	Step(action []float64) Step
	// State and SetState save and restore the environment exactly.
	State() []float64
	SetState(s []float64) error
}

// NewEnv returns a fresh environment by name.
func NewEnv(name string) (Env, error) {
	switch name {
	case "cartpole":
		return &CartPole{}, nil
	case "pendulum":
		return &Pendulum{}, nil
	case "trading":
		return NewTrading(), nil
	}
	return nil, fmt.Errorf("unknown environment %q (known: cartpole, pendulum, trading)", name)
}
