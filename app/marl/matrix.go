package marl

// TwoStep is the two-step cooperative matrix game of the QMIX paper
// (Rashid et al. 2018, section 6.1). Two agents with actions A (0) and B (1)
// start in state 1, where agent 0's action alone chooses the next state: A
// leads to 2A, B to 2B, with no reward. In 2A every joint action pays 7; in
// 2B the payoffs are [[0, 1], [1, 8]]. The episode then terminates. The
// optimum is 8; VDN's additive decomposition settles for 7.
//
// Both agents observe the one-hot state (3 values), which is also the
// global state. The team reward is split equally between the agents, so the
// team return is the game's payoff.
type TwoStep struct {
	S, T int // S: 0 state 1, 1 state 2A, 2 state 2B, 3 done
}

// NewTwoStep returns the game; call Reset before Step.
func NewTwoStep() *TwoStep { return &TwoStep{} }

// Name returns "matrix2".
func (g *TwoStep) Name() string { return "matrix2" }

// NumAgents returns 2.
func (g *TwoStep) NumAgents() int { return 2 }

// ObsDim returns 3.
func (g *TwoStep) ObsDim() int { return 3 }

// NumActions returns 2.
func (g *TwoStep) NumActions() int { return 2 }

// StateDim returns 3.
func (g *TwoStep) StateDim() int { return 3 }

// Limit returns 2.
func (g *TwoStep) Limit() int { return 2 }

// Reset starts in state 1; the game has no randomness.
func (g *TwoStep) Reset(seed uint64) [][]float64 {
	g.S, g.T = 0, 0
	return [][]float64{g.State(), g.State()}
}

// Step plays one stage.
func (g *TwoStep) Step(actions []int) Step {
	var r float64
	switch g.S {
	case 0:
		g.S = 1 + actions[0]
	case 1:
		r, g.S = 7, 3
	case 2:
		r = [2][2]float64{{0, 1}, {1, 8}}[actions[0]][actions[1]]
		g.S = 3
	}
	g.T++
	done := g.S == 3
	return Step{Obs: [][]float64{g.State(), g.State()}, Rewards: []float64{r / 2, r / 2},
		Terminated: []bool{done, done}, Truncated: []bool{false, false}}
}

// State is the one-hot stage (all zero once the game is over).
func (g *TwoStep) State() []float64 {
	s := make([]float64, 3)
	if g.S < 3 {
		s[g.S] = 1
	}
	return s
}

// AvailActions allows both actions.
func (g *TwoStep) AvailActions() [][]bool { return allAvail(2, 2) }

// NonMonotonicPayoff is the one-step game of the QTRAN and Weighted QMIX
// papers: the optimum (0, 0) pays 8 but any miscoordination around it
// costs 12.
var NonMonotonicPayoff = [3][3]float64{{8, -12, -12}, {-12, 0, 0}, {-12, 0, 0}}

// NonMonotonic is a one-step game of two agents with three actions paying
// NonMonotonicPayoff. Its payoffs are not monotonic in either agent's
// utility, so QMIX's mixer cannot represent them and its greedy joint action
// is not the optimum. Observation and state are the constant [1].
type NonMonotonic struct{ done bool }

// NewNonMonotonic returns the game.
func NewNonMonotonic() *NonMonotonic { return &NonMonotonic{} }

// Name returns "nonmonotonic".
func (g *NonMonotonic) Name() string { return "nonmonotonic" }

// NumAgents returns 2.
func (g *NonMonotonic) NumAgents() int { return 2 }

// ObsDim returns 1.
func (g *NonMonotonic) ObsDim() int { return 1 }

// NumActions returns 3.
func (g *NonMonotonic) NumActions() int { return 3 }

// StateDim returns 1.
func (g *NonMonotonic) StateDim() int { return 1 }

// Limit returns 1.
func (g *NonMonotonic) Limit() int { return 1 }

// Reset starts the game.
func (g *NonMonotonic) Reset(seed uint64) [][]float64 {
	g.done = false
	return [][]float64{{1}, {1}}
}

// Step pays the matrix entry and terminates.
func (g *NonMonotonic) Step(actions []int) Step {
	r := NonMonotonicPayoff[actions[0]][actions[1]]
	g.done = true
	return Step{Obs: [][]float64{{1}, {1}}, Rewards: []float64{r / 2, r / 2},
		Terminated: []bool{true, true}, Truncated: []bool{false, false}}
}

// State returns [1].
func (g *NonMonotonic) State() []float64 { return []float64{1} }

// AvailActions allows all three actions.
func (g *NonMonotonic) AvailActions() [][]bool { return allAvail(2, 3) }
