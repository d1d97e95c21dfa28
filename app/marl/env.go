package marl

import (
	"fmt"
	"math/rand/v2"
)

// Env is a multi-agent environment in the style of PettingZoo's parallel
// API: all agents act at once, and each gets its own observation, reward and
// terminated/truncated flags. Agents are indexed 0..NumAgents()-1 and are
// homogeneous: they share the observation width and the number of discrete
// actions, so that QMIX can share one network between them. State is the
// global state a centralised critic or mixer sees; AvailActions masks the
// actions each agent may take now.
type Env interface {
	Name() string
	NumAgents() int
	ObsDim() int
	NumActions() int
	StateDim() int
	// Limit is the episode length at which the environment truncates.
	Limit() int
	// Reset starts an episode drawn from seed and returns each agent's
	// observation.
	Reset(seed uint64) [][]float64
	// Step applies one discrete action per agent.
	Step(actions []int) Step
	// State is the global state of the current step.
	State() []float64
	// AvailActions reports, per agent, which actions are allowed now.
	AvailActions() [][]bool
}

// Step is what Env.Step returns, one entry per agent.
type Step struct {
	Obs        [][]float64
	Rewards    []float64
	Terminated []bool
	Truncated  []bool
}

// Done reports whether every agent is terminated or truncated.
func (s Step) Done() bool {
	for i := range s.Rewards {
		if !s.Terminated[i] && !s.Truncated[i] {
			return false
		}
	}
	return true
}

// AnyTerminated reports whether some agent reached a terminal state; the
// episode's value is then not bootstrapped.
func (s Step) AnyTerminated() bool {
	for _, t := range s.Terminated {
		if t {
			return true
		}
	}
	return false
}

// TeamReward is the sum of the agents' rewards.
func (s Step) TeamReward() float64 {
	var r float64
	for _, x := range s.Rewards {
		r += x
	}
	return r
}

// NewEnv returns a fresh environment by name.
func NewEnv(name string) (Env, error) {
	switch name {
	case "spread":
		return NewSpread(SpreadConfig{}), nil
	case "matrix2":
		return NewTwoStep(), nil
	case "nonmonotonic":
		return NewNonMonotonic(), nil
	case "trading-ma":
		return NewTradingMA(), nil
	case "supply":
		return NewSupply(), nil
	case "allocation":
		return NewAllocation(), nil
	}
	return nil, fmt.Errorf("unknown multi-agent environment %q (known: spread, matrix2, nonmonotonic, trading-ma, supply, allocation)", name)
}

// Controller picks one action per agent.
type Controller interface {
	Actions(obs [][]float64, state []float64, avail [][]bool, greedy bool, rng *rand.Rand) []int
}

// RandomController picks uniformly among the available actions.
type RandomController struct{}

// Actions draws one available action per agent.
func (RandomController) Actions(obs [][]float64, state []float64, avail [][]bool, greedy bool, rng *rand.Rand) []int {
	out := make([]int, len(avail))
	for i, av := range avail {
		out[i] = randomAvail(av, rng)
	}
	return out
}

// randomAvail returns a uniformly drawn index where av is true.
func randomAvail(av []bool, rng *rand.Rand) int {
	n := 0
	for _, ok := range av {
		if ok {
			n++
		}
	}
	k := rng.IntN(n)
	for j, ok := range av {
		if ok {
			if k == 0 {
				return j
			}
			k--
		}
	}
	return len(av) - 1
}

// Rollout plays one episode from seed and returns the team return (the sum
// over agents and steps of the rewards) and each agent's return.
func Rollout(env Env, c Controller, seed uint64, greedy bool, rng *rand.Rand) (team float64, perAgent []float64) {
	obs := env.Reset(seed)
	perAgent = make([]float64, env.NumAgents())
	for {
		s := env.Step(c.Actions(obs, env.State(), env.AvailActions(), greedy, rng))
		for i, r := range s.Rewards {
			perAgent[i] += r
			team += r
		}
		obs = s.Obs
		if s.Done() {
			return team, perAgent
		}
	}
}

// EvaluateTeam plays episodes with c and returns each episode's team
// return. Episode seeds come from a stream of seed no training run uses.
func EvaluateTeam(env Env, c Controller, episodes int, seed uint64, greedy bool) []float64 {
	seeds := rand.New(rand.NewPCG(seed, 0x6576616c))
	rng := rand.New(rand.NewPCG(seed, 0x61637473))
	out := make([]float64, episodes)
	for i := range out {
		out[i], _ = Rollout(env, c, seeds.Uint64(), greedy, rng)
	}
	return out
}

// fixedController always takes the same action for every agent.
type fixedController int

// Actions returns the fixed action for every agent.
func (f fixedController) Actions(obs [][]float64, state []float64, avail [][]bool, greedy bool, rng *rand.Rand) []int {
	out := make([]int, len(avail))
	for i := range out {
		out[i] = int(f)
	}
	return out
}
