package rl

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Pendulum is an exact port of Gymnasium's Pendulum-v1 with its 200-step time
// limit. It never terminates.
type Pendulum struct {
	Theta, ThetaDot float64
	Steps           int
}

// Pendulum-v1 constants.
const (
	pdMaxSpeed  = 8.0
	pdMaxTorque = 2.0
	pdDT        = 0.05
	pdG         = 10.0
	pdM         = 1.0
	pdL         = 1.0
	pdMaxSteps  = 200
)

// Name returns "pendulum".
func (p *Pendulum) Name() string { return "pendulum" }

// ObsDim is 3: cos θ, sin θ, θ̇.
func (p *Pendulum) ObsDim() int { return 3 }

// ActionSpace is a torque in [−2, 2].
func (p *Pendulum) ActionSpace() Space {
	return Space{Low: []float64{-pdMaxTorque}, High: []float64{pdMaxTorque}}
}

// Reset draws θ from [−π, π) and θ̇ from [−1, 1).
func (p *Pendulum) Reset(seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x70656e64))
	p.Theta = rng.Float64()*2*math.Pi - math.Pi
	p.ThetaDot = rng.Float64()*2 - 1
	p.Steps = 0
	return p.obs()
}

// Step applies the clipped torque for dt seconds.
func (p *Pendulum) Step(action []float64) Step {
	u := clamp(action[0], -pdMaxTorque, pdMaxTorque)
	th, thdot := p.Theta, p.ThetaDot
	an := angleNormalize(th)
	cost := an*an + 0.1*thdot*thdot + 0.001*u*u

	newThdot := thdot + (3*pdG/(2*pdL)*math.Sin(th)+3.0/(pdM*pdL*pdL)*u)*pdDT
	newThdot = clamp(newThdot, -pdMaxSpeed, pdMaxSpeed)
	p.Theta = th + newThdot*pdDT
	p.ThetaDot = newThdot
	p.Steps++
	return Step{Obs: p.obs(), Reward: -cost, Truncated: p.Steps >= pdMaxSteps}
}

// State returns θ, θ̇ and the step count.
func (p *Pendulum) State() []float64 { return []float64{p.Theta, p.ThetaDot, float64(p.Steps)} }

// SetState restores what State returned.
func (p *Pendulum) SetState(s []float64) error {
	if len(s) != 3 {
		return fmt.Errorf("pendulum state: %d values, want 3", len(s))
	}
	p.Theta, p.ThetaDot, p.Steps = s[0], s[1], int(s[2])
	return nil
}

func (p *Pendulum) obs() []float64 {
	return []float64{math.Cos(p.Theta), math.Sin(p.Theta), p.ThetaDot}
}

// angleNormalize maps x to [−π, π) like Python's ((x+π) % 2π) − π, whose
// modulo takes the sign of the divisor.
func angleNormalize(x float64) float64 {
	m := math.Mod(x+math.Pi, 2*math.Pi)
	if m < 0 {
		m += 2 * math.Pi
	}
	return m - math.Pi
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }
