package rl

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// CartPole is an exact port of Gymnasium's CartPole-v1 (Euler integration)
// with its 500-step time limit.
type CartPole struct {
	X, XDot, Theta, ThetaDot float64
	Steps                    int
}

// CartPole-v1 constants.
const (
	cpGravity       = 9.8
	cpMassCart      = 1.0
	cpMassPole      = 0.1
	cpTotalMass     = cpMassPole + cpMassCart
	cpLength        = 0.5 // half the pole's length
	cpPoleMassLen   = cpMassPole * cpLength
	cpForceMag      = 10.0
	cpTau           = 0.02
	cpThetaLimit    = 12 * 2 * math.Pi / 360
	cpXLimit        = 2.4
	cpMaxSteps      = 500
	cartPoleObsSize = 4
)

// Name returns "cartpole".
func (c *CartPole) Name() string { return "cartpole" }

// ObsDim is 4: x, ẋ, θ, θ̇.
func (c *CartPole) ObsDim() int { return cartPoleObsSize }

// ActionSpace is two actions: push left (0) or right (1).
func (c *CartPole) ActionSpace() Space { return Space{N: 2} }

// Reset draws every state variable uniformly from [−0.05, 0.05).
func (c *CartPole) Reset(seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x6361727470))
	c.X = rng.Float64()*0.1 - 0.05
	c.XDot = rng.Float64()*0.1 - 0.05
	c.Theta = rng.Float64()*0.1 - 0.05
	c.ThetaDot = rng.Float64()*0.1 - 0.05
	c.Steps = 0
	return c.obs()
}

// Step advances the cart by one Euler step of tau seconds.
func (c *CartPole) Step(action []float64) Step {
	force := -cpForceMag
	if action[0] == 1 {
		force = cpForceMag
	}
	cos, sin := math.Cos(c.Theta), math.Sin(c.Theta)
	temp := (force + cpPoleMassLen*c.ThetaDot*c.ThetaDot*sin) / cpTotalMass
	thetaAcc := (cpGravity*sin - cos*temp) / (cpLength * (4.0/3.0 - cpMassPole*cos*cos/cpTotalMass))
	xAcc := temp - cpPoleMassLen*thetaAcc*cos/cpTotalMass

	c.X += cpTau * c.XDot
	c.XDot += cpTau * xAcc
	c.Theta += cpTau * c.ThetaDot
	c.ThetaDot += cpTau * thetaAcc
	c.Steps++

	terminated := c.X < -cpXLimit || c.X > cpXLimit || c.Theta < -cpThetaLimit || c.Theta > cpThetaLimit
	return Step{
		Obs:        c.obs(),
		Reward:     1,
		Terminated: terminated,
		Truncated:  !terminated && c.Steps >= cpMaxSteps,
	}
}

// State returns x, ẋ, θ, θ̇ and the step count.
func (c *CartPole) State() []float64 {
	return []float64{c.X, c.XDot, c.Theta, c.ThetaDot, float64(c.Steps)}
}

// SetState restores what State returned.
func (c *CartPole) SetState(s []float64) error {
	if len(s) != 5 {
		return fmt.Errorf("cartpole state: %d values, want 5", len(s))
	}
	c.X, c.XDot, c.Theta, c.ThetaDot, c.Steps = s[0], s[1], s[2], s[3], int(s[4])
	return nil
}

func (c *CartPole) obs() []float64 { return []float64{c.X, c.XDot, c.Theta, c.ThetaDot} }
