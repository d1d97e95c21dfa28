package marl

import "github.com/metastation/metastation/app/nn"

// AgentNet describes the agents' shared Q-network of a QMIX/VDN learner, for
// whoever plays it outside training (app/entrant): the layer sizes of an
// nn.MLP with ReLU hidden layers, a copy of its weights, how many agents
// share it (the width of the one-hot agent id after the observation in its
// input), the observation size and the number of actions.
type AgentNet struct {
	Sizes   []int
	Weights []nn.Tensor
	Agents  int
	ObsDim  int
	Actions int
}

// AgentNet returns q's agent network; the weights are a copy, so q may go
// on training.
func (q *QMIX) AgentNet() AgentNet {
	sizes := append(append([]int{q.obsDim + q.n}, q.Config.Hidden...), q.nAct)
	return AgentNet{Sizes: sizes, Weights: nn.Export(q.Agent.Params()), Agents: q.n, ObsDim: q.obsDim, Actions: q.nAct}
}
