package marl

import (
	"math"
	"math/rand/v2"
)

// SpreadConfig changes simple_spread; the zero value is PettingZoo's
// simple_spread_v3 with its defaults.
type SpreadConfig struct {
	// SelfCollision counts every agent as colliding with itself, as the
	// original MPE code and PettingZoo before the fix did: each agent then
	// loses 1 (times the local ratio) every step.
	SelfCollision bool
}

// The constants of MPE's World and of simple_spread.
const (
	spreadAgents    = 3
	spreadLandmarks = 3
	spreadDt        = 0.1
	spreadDamping   = 0.25
	spreadForce     = 100.0 // contact_force
	spreadMargin    = 1e-3  // contact_margin
	spreadAccel     = 5.0   // the sensitivity of a movable agent without accel
	spreadSize      = 0.15  // agent size
	spreadLimit     = 25    // max_cycles
	spreadLocal     = 0.5   // local_ratio
)

// Spread is MPE simple_spread as PettingZoo implements it (simple_spread_v3,
// N=3, local_ratio 0.5, max_cycles 25, discrete actions): three agents must
// cover three landmarks without colliding. Each step every agent's reward is
// 0.5·(−Σ over landmarks of the nearest agent's distance) + 0.5·(−1 per other
// agent it overlaps).
//
// Observation of agent i (18 values): own velocity, own position, the three
// landmarks relative to it, the two other agents relative to it, and their
// (always zero) communication channels. Actions: 0 no-op, 1 left, 2 right,
// 3 down, 4 up. The global state (18 values) holds every agent's position
// and velocity and every landmark's position.
type Spread struct {
	Config   SpreadConfig
	Pos, Vel [spreadAgents][2]float64
	Land     [spreadLandmarks][2]float64
	T        int
}

// NewSpread returns the environment; call Reset before Step.
func NewSpread(cfg SpreadConfig) *Spread { return &Spread{Config: cfg} }

// Name returns "spread".
func (e *Spread) Name() string { return "spread" }

// NumAgents returns 3.
func (e *Spread) NumAgents() int { return spreadAgents }

// ObsDim returns 18.
func (e *Spread) ObsDim() int { return 18 }

// NumActions returns 5.
func (e *Spread) NumActions() int { return 5 }

// StateDim returns 18.
func (e *Spread) StateDim() int { return 4*spreadAgents + 2*spreadLandmarks }

// Limit returns 25.
func (e *Spread) Limit() int { return spreadLimit }

// Reset places agents (at rest) and landmarks uniformly in [−1, 1]², as
// reset_world does.
func (e *Spread) Reset(seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 0x737072656164))
	for i := range e.Pos {
		e.Pos[i] = [2]float64{2*rng.Float64() - 1, 2*rng.Float64() - 1}
		e.Vel[i] = [2]float64{}
	}
	for i := range e.Land {
		e.Land[i] = [2]float64{2*rng.Float64() - 1, 2*rng.Float64() - 1}
	}
	e.T = 0
	return e.observe()
}

// Step moves the world by one dt as MPE's World.step does: action forces,
// soft contact forces between every pair of agents, damping, then
// integration of velocity and position.
func (e *Spread) Step(actions []int) Step {
	var force [spreadAgents][2]float64
	for i, a := range actions {
		switch a {
		case 1:
			force[i][0] = -spreadAccel
		case 2:
			force[i][0] = spreadAccel
		case 3:
			force[i][1] = -spreadAccel
		case 4:
			force[i][1] = spreadAccel
		}
	}
	for a := 0; a < spreadAgents; a++ {
		for b := a + 1; b < spreadAgents; b++ {
			dx, dy := e.Pos[a][0]-e.Pos[b][0], e.Pos[a][1]-e.Pos[b][1]
			dist := math.Hypot(dx, dy)
			// penetration = logaddexp(0, −(dist−dist_min)/k)·k
			pen := softplus(-(dist-2*spreadSize)/spreadMargin) * spreadMargin
			fx, fy := spreadForce*dx/dist*pen, spreadForce*dy/dist*pen
			force[a][0] += fx
			force[a][1] += fy
			force[b][0] -= fx
			force[b][1] -= fy
		}
	}
	for i := range e.Pos {
		for d := 0; d < 2; d++ {
			e.Vel[i][d] = e.Vel[i][d]*(1-spreadDamping) + force[i][d]*spreadDt // mass 1
			e.Pos[i][d] += e.Vel[i][d] * spreadDt
		}
	}
	e.T++
	global := 0.0
	for _, l := range e.Land {
		best := math.Inf(1)
		for _, p := range e.Pos {
			best = min(best, math.Hypot(p[0]-l[0], p[1]-l[1]))
		}
		global -= best
	}
	s := Step{Obs: e.observe(), Rewards: make([]float64, spreadAgents),
		Terminated: make([]bool, spreadAgents), Truncated: make([]bool, spreadAgents)}
	for i := range e.Pos {
		local := 0.0
		for j := range e.Pos {
			if i == j && !e.Config.SelfCollision {
				continue
			}
			if math.Hypot(e.Pos[i][0]-e.Pos[j][0], e.Pos[i][1]-e.Pos[j][1]) < 2*spreadSize {
				local--
			}
		}
		s.Rewards[i] = global*(1-spreadLocal) + local*spreadLocal
		s.Truncated[i] = e.T >= spreadLimit
	}
	return s
}

// softplus is log(1+eˣ) computed without overflow, numpy's logaddexp(0, x).
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// observe builds every agent's observation.
func (e *Spread) observe() [][]float64 {
	out := make([][]float64, spreadAgents)
	for i, p := range e.Pos {
		o := make([]float64, 0, 18)
		o = append(o, e.Vel[i][0], e.Vel[i][1], p[0], p[1])
		for _, l := range e.Land {
			o = append(o, l[0]-p[0], l[1]-p[1])
		}
		for j, q := range e.Pos {
			if j != i {
				o = append(o, q[0]-p[0], q[1]-p[1])
			}
		}
		o = append(o, 0, 0, 0, 0) // communication of the two others (silent)
		out[i] = o
	}
	return out
}

// State returns positions and velocities of the agents and the landmarks'
// positions.
func (e *Spread) State() []float64 {
	s := make([]float64, 0, e.StateDim())
	for i := range e.Pos {
		s = append(s, e.Pos[i][0], e.Pos[i][1], e.Vel[i][0], e.Vel[i][1])
	}
	for _, l := range e.Land {
		s = append(s, l[0], l[1])
	}
	return s
}

// AvailActions allows every action.
func (e *Spread) AvailActions() [][]bool { return allAvail(spreadAgents, 5) }

func allAvail(agents, actions int) [][]bool {
	out := make([][]bool, agents)
	for i := range out {
		out[i] = make([]bool, actions)
		for j := range out[i] {
			out[i][j] = true
		}
	}
	return out
}
