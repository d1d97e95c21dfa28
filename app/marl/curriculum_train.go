package marl

import (
	"context"
	"fmt"
)

// TrainCurriculum trains q on the trading world through cur for q's whole
// episode budget; once every stage is passed it keeps training in the last
// stage's regime, so that a comparison with TrainDirect spends the same
// number of episodes. onEval, if not nil, sees every evaluation. q's
// environment must be the trading world.
func TrainCurriculum(ctx context.Context, q *QMIX, cur *Curriculum, onEval func(CurriculumEvent)) error {
	env, ok := q.Env.(*TradingMA)
	if !ok {
		return fmt.Errorf("curriculum: environment %q is not the trading world", q.Env.Name())
	}
	settings := *env
	newEnv := func() *TradingMA {
		e := NewTradingMA()
		e.N, e.Horizon, e.Window, e.Lots = settings.N, settings.Horizon, settings.Window, settings.Lots
		e.Levels, e.Depth, e.Noise, e.PermImpact, e.Risk = settings.Levels, settings.Depth, settings.Noise, settings.PermImpact, settings.Risk
		return e
	}
	for !q.Done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		cur.Apply(env)
		q.Run()
		if ev, ok := cur.Observe(q, newEnv); ok && onEval != nil {
			onEval(ev)
		}
	}
	return nil
}

// TrainDirect trains q on the trading world with every episode's regime
// drawn from the market's long-run mix, for q's whole episode budget: the
// baseline the curriculum is compared with.
func TrainDirect(ctx context.Context, q *QMIX) error {
	env, ok := q.Env.(*TradingMA)
	if !ok {
		return fmt.Errorf("direct training: environment %q is not the trading world", q.Env.Name())
	}
	env.Mixed = true
	for !q.Done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		q.Run()
	}
	return nil
}
