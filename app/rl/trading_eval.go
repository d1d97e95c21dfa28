package rl

import (
	"math"
	"math/rand/v2"
)

// TradingEpisode is one evaluation episode of the trading environment
// scored on its daily returns after costs, the figures a trader compares
// strategies by.
type TradingEpisode struct {
	Regime   float64 // the starting regime (market.Regime)
	Return   float64 // equity at the end − 1
	Sharpe   float64 // annualised: √252 · mean / sd of daily net returns (0 when sd = 0)
	Sortino  float64 // annualised: √252 · mean / downside deviation (0 when there is no down day)
	Turnover float64 // Σ|Δposition|
}

// EvalTradingEpisodes runs episodes of the trading environment with pol
// (deterministic) on the episode seeds drawn from seed's evaluation stream —
// the same stream ScoreTrading uses, so every policy given the same seed
// meets the same price paths, and paths a learner trained on VecEnv streams
// never saw.
func EvalTradingEpisodes(pol Policy, episodes int, seed uint64) []TradingEpisode {
	seeds := rand.New(rand.NewPCG(seed, 0x6576616c))
	e := NewTrading()
	out := make([]TradingEpisode, episodes)
	daily := make([]float64, 0, e.Horizon)
	for i := range out {
		obs := e.Reset(seeds.Uint64())
		daily = daily[:0]
		var turnover float64
		for {
			prev, eq := e.Position, e.Equity
			s := e.Step(pol.Act(obs, true, nil))
			turnover += math.Abs(e.Position - prev)
			daily = append(daily, e.Equity/eq-1)
			obs = s.Obs
			if s.Terminated || s.Truncated {
				break
			}
		}
		sh, so := SharpeSortino(daily)
		out[i] = TradingEpisode{Regime: e.Regime, Return: e.Equity - 1, Sharpe: sh, Sortino: so, Turnover: turnover}
	}
	return out
}

// SharpeSortino returns the annualised Sharpe and Sortino ratios of daily
// returns (risk-free rate 0, as cash earns nothing in the environment). A
// series without variation (cash) scores 0 on both rather than ±Inf.
func SharpeSortino(daily []float64) (sharpe, sortino float64) {
	if len(daily) < 2 {
		return 0, 0
	}
	m, sd := MeanStd(daily)
	var down float64
	for _, r := range daily {
		if r < 0 {
			down += r * r
		}
	}
	down = math.Sqrt(down / float64(len(daily)))
	if sd > 1e-12 {
		sharpe = math.Sqrt(252) * m / sd
	}
	if down > 1e-12 {
		sortino = math.Sqrt(252) * m / down
	}
	return sharpe, sortino
}

// VolTimingPolicy is a fixed rule, not a learner: long while the observed
// 20-day volatility (in percent a day) is below Threshold, flat above. It is
// the reference for how much the environment's regimes (calm: low volatility,
// positive drift; volatile, crisis, black swan: high volatility, negative
// drift) reward a policy that reads the volatility it is shown.
type VolTimingPolicy struct {
	Window    int     // the environment's return window: the volatility is observation[Window]
	Threshold float64 // percent a day
}

// Act returns long (index 4) or flat (index 2).
func (v VolTimingPolicy) Act(obs []float64, _ bool, _ *rand.Rand) []float64 {
	if obs[v.Window] < v.Threshold {
		return []float64{4}
	}
	return []float64{2}
}
