package marl

import (
	"math/rand/v2"
)

// allocSlots is the number of visible task slots.
const allocSlots = 5

// Task is one job in the allocation world's queue.
type Task struct {
	Work     int // units of work left
	Deadline int // steps left before it expires
	Value    float64
}

// Allocation is the resource-allocation world: N agents (workers, trucks)
// share a queue of tasks that arrive at random with a size and a deadline.
// Each step every agent either works one unit on one visible task or idles.
// Two or more agents on the same task conflict: each pays Conflict and
// only one unit of work is done. A finished task pays its value (1 plus
// half its size); a task that reaches its deadline unfinished costs Miss;
// every unit of work costs WorkCost.
//
// Observation (3·5+1 values, the same queue for every agent): for each of
// the five slots, whether it holds a task, its work left (over 3) and its
// deadline (over 6), then the agent's own previous choice (over 5).
// Action: a slot 0..4 (available only when it holds a task) or 5, idle.
// The reward is cooperative: each agent gets the team's reward divided by
// N. The global state is the queue and every agent's previous choice.
// Episodes are truncated after Horizon steps.
type Allocation struct {
	N, Horizon              int
	Arrival                 float64 // mean arrivals per step (Poisson)
	Conflict, Miss          float64
	WorkCost                float64
	Queue                   []Task // at most allocSlots, oldest first
	Prev                    []int
	T                       int
	Finished, Missed, Fight int // tasks finished, tasks missed, conflicts, this episode
	rng                     *rand.Rand
}

// NewAllocation returns the world with 3 agents, 40 steps, 1.2 tasks a step.
func NewAllocation() *Allocation {
	return &Allocation{N: 3, Horizon: 40, Arrival: 1.2, Conflict: 0.5, Miss: 0.5, WorkCost: 0.05}
}

// Name returns "allocation".
func (e *Allocation) Name() string { return "allocation" }

// NumAgents returns N.
func (e *Allocation) NumAgents() int { return e.N }

// ObsDim returns 16.
func (e *Allocation) ObsDim() int { return 3*allocSlots + 1 }

// NumActions returns 6: five slots and idle.
func (e *Allocation) NumActions() int { return allocSlots + 1 }

// StateDim returns 15+N.
func (e *Allocation) StateDim() int { return 3*allocSlots + e.N }

// Limit returns Horizon.
func (e *Allocation) Limit() int { return e.Horizon }

// Reset empties the queue and lets the first tasks arrive.
func (e *Allocation) Reset(seed uint64) [][]float64 {
	e.rng = rand.New(rand.NewPCG(seed, 0x616c6c6f63))
	e.Queue, e.T, e.Finished, e.Missed, e.Fight = e.Queue[:0], 0, 0, 0, 0
	e.Prev = make([]int, e.N)
	for i := range e.Prev {
		e.Prev[i] = allocSlots
	}
	e.arrive()
	return e.observe()
}

func (e *Allocation) arrive() {
	for k := poisson(e.rng, e.Arrival); k > 0 && len(e.Queue) < allocSlots; k-- {
		w := 1 + e.rng.IntN(3)
		e.Queue = append(e.Queue, Task{Work: w, Deadline: w + 1 + e.rng.IntN(4), Value: 1 + float64(w)/2})
	}
}

// Step applies one choice per agent; a choice of an empty slot counts as
// idle.
func (e *Allocation) Step(actions []int) Step {
	var team float64
	workers := make([]int, allocSlots)
	for i, a := range actions {
		e.Prev[i] = a
		if a < len(e.Queue) {
			workers[a]++
		}
	}
	for k, n := range workers {
		if n == 0 {
			continue
		}
		team -= e.WorkCost
		if n > 1 {
			team -= e.Conflict * float64(n)
			e.Fight += n - 1
		}
		e.Queue[k].Work--
	}
	kept := e.Queue[:0]
	for _, t := range e.Queue {
		t.Deadline--
		switch {
		case t.Work <= 0:
			team += t.Value
			e.Finished++
		case t.Deadline <= 0:
			team -= e.Miss
			e.Missed++
		default:
			kept = append(kept, t)
		}
	}
	e.Queue = kept
	e.arrive()
	e.T++
	s := Step{Obs: e.observe(), Rewards: make([]float64, e.N), Terminated: make([]bool, e.N), Truncated: make([]bool, e.N)}
	for i := range s.Rewards {
		s.Rewards[i] = team / float64(e.N)
		s.Truncated[i] = e.T >= e.Horizon
	}
	return s
}

func (e *Allocation) queueObs() []float64 {
	o := make([]float64, 3*allocSlots)
	for k, t := range e.Queue {
		o[3*k], o[3*k+1], o[3*k+2] = 1, float64(t.Work)/3, float64(t.Deadline)/6
	}
	return o
}

func (e *Allocation) observe() [][]float64 {
	q := e.queueObs()
	out := make([][]float64, e.N)
	for i := range out {
		out[i] = append(append([]float64(nil), q...), float64(e.Prev[i])/allocSlots)
	}
	return out
}

// State is the queue and every agent's previous choice.
func (e *Allocation) State() []float64 {
	s := e.queueObs()
	for _, p := range e.Prev {
		s = append(s, float64(p)/allocSlots)
	}
	return s
}

// AvailActions allows the slots that hold a task, and idling.
func (e *Allocation) AvailActions() [][]bool {
	out := make([][]bool, e.N)
	for i := range out {
		out[i] = make([]bool, allocSlots+1)
		for k := range e.Queue {
			out[i][k] = true
		}
		out[i][allocSlots] = true
	}
	return out
}

// EarliestDeadline is a heuristic controller: agents take distinct tasks
// in order of deadline and idle when none is left.
type EarliestDeadline struct{ Env *Allocation }

// Actions assigns the tasks closest to their deadline, one agent each.
func (c EarliestDeadline) Actions(obs [][]float64, state []float64, avail [][]bool, greedy bool, rng *rand.Rand) []int {
	idx := make([]int, len(c.Env.Queue))
	for k := range idx {
		idx[k] = k
	}
	q := c.Env.Queue
	for a := 1; a < len(idx); a++ { // insertion sort by deadline
		for b := a; b > 0 && q[idx[b]].Deadline < q[idx[b-1]].Deadline; b-- {
			idx[b], idx[b-1] = idx[b-1], idx[b]
		}
	}
	out := make([]int, len(avail))
	for i := range out {
		out[i] = allocSlots
		if i < len(idx) {
			out[i] = idx[i]
		}
	}
	return out
}
