package marl

import "math/rand/v2"

// Episode is one episode padded to the environment's limit T: observations,
// states and available actions for steps 0..T (the last filled one is the
// observation after the final action), actions, team rewards and flags for
// steps 0..T-1. Mask is 1 for the steps the episode really took.
type Episode struct {
	Obs        []float64 // (T+1)·n·obsDim
	State      []float64 // (T+1)·stateDim
	Avail      []bool    // (T+1)·n·actions
	Actions    []int     // T·n
	Reward     []float64 // T, the team reward
	Terminated []float64 // T, 1 where the step ended in a terminal state
	Mask       []float64 // T
	Len        int
}

// EpisodeReplay holds whole episodes in a ring, as PyMARL's episode buffer
// does.
type EpisodeReplay struct {
	Cap, Pos int
	Eps      []*Episode
}

// NewEpisodeReplay returns an empty buffer of up to capacity episodes.
func NewEpisodeReplay(capacity int) *EpisodeReplay {
	return &EpisodeReplay{Cap: capacity}
}

// Add stores ep, overwriting the oldest when full.
func (r *EpisodeReplay) Add(ep *Episode) {
	if len(r.Eps) < r.Cap {
		r.Eps = append(r.Eps, ep)
	} else {
		r.Eps[r.Pos] = ep
	}
	r.Pos = (r.Pos + 1) % r.Cap
}

// Len is the number of stored episodes.
func (r *EpisodeReplay) Len() int { return len(r.Eps) }

// Sample draws n episodes uniformly with replacement.
func (r *EpisodeReplay) Sample(rng *rand.Rand, n int) []*Episode {
	out := make([]*Episode, n)
	for i := range out {
		out[i] = r.Eps[rng.IntN(len(r.Eps))]
	}
	return out
}
