package rl

import (
	"context"
	"fmt"
	"time"
)

// CartPoleSolved is the published bar: a mean return of 475 over 100
// evaluation episodes.
const CartPoleSolved = 475.0

// PPORun is the outcome of TrainPPO.
type PPORun struct {
	Steps       int       // environment steps taken
	SolveStep   int       // first step at which evaluation reached Target, or 0
	SolveWall   float64   // seconds to SolveStep
	FinalReturn []float64 // evaluation returns at the end of the run
	Wall        float64   // seconds for the whole run
}

// PPOTrainOptions say how TrainPPO evaluates while it trains.
type PPOTrainOptions struct {
	EvalEpisodes int     // episodes per evaluation (100 for CartPole)
	Target       float64 // a mean evaluation return that counts as solved; 0 disables
	StopOnSolve  bool    // stop at the first solving evaluation
	OnUpdate     func(PPOStats)
}

// TrainPPO runs p until done (or solved, when asked). An evaluation is run
// whenever the mean training return of the last 20 episodes reaches the
// target, at most every 5 updates, so the solve step is found without
// evaluating every update.
func TrainPPO(ctx context.Context, p *PPO, opt PPOTrainOptions) (PPORun, error) {
	start := time.Now()
	var run PPORun
	var recent []float64
	lastEval := -100
	for !p.Done() {
		if err := ctx.Err(); err != nil {
			return run, err
		}
		st := p.Update()
		for _, e := range st.Episodes {
			recent = append(recent, e.Return)
		}
		if opt.OnUpdate != nil {
			opt.OnUpdate(st)
		}
		m, _ := MeanStd(tail(recent, 20))
		if opt.Target != 0 && run.SolveStep == 0 && len(recent) >= 20 && m >= opt.Target && p.Updates-lastEval >= 5 {
			lastEval = p.Updates
			rs, err := Evaluate(p, p.Config.Env, opt.EvalEpisodes, p.Config.Seed+1000)
			if err != nil {
				return run, fmt.Errorf("train ppo: %w", err)
			}
			if em, _ := MeanStd(rs); em >= opt.Target {
				run.SolveStep, run.SolveWall = p.Steps, time.Since(start).Seconds()
				if opt.StopOnSolve {
					break
				}
			}
		}
	}
	rs, err := Evaluate(p, p.Config.Env, opt.EvalEpisodes, p.Config.Seed+1000)
	if err != nil {
		return run, fmt.Errorf("train ppo: %w", err)
	}
	run.Steps, run.FinalReturn, run.Wall = p.Steps, rs, time.Since(start).Seconds()
	return run, nil
}

func tail(xs []float64, n int) []float64 {
	if len(xs) > n {
		return xs[len(xs)-n:]
	}
	return xs
}
