package rl

import (
	"math"
	"math/rand/v2"

	"github.com/metastation/metastation/app/stats"
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
	Exposure float64 // mean |position|
	// Days, Sum, SumSq and DownSq (Σ of r², r < 0) of the daily net returns,
	// so that a seed's held-out episodes can be scored as one record
	// (PooledSharpeSortino).
	Days               int
	Sum, SumSq, DownSq float64
}

// PooledSharpeSortino scores episodes as one track record, their days
// concatenated: annualised Sharpe (sample sd) and Sortino (downside
// deviation over all days) of the daily net returns. Unlike the mean of the
// per-episode ratios, it weighs an episode by its risk, as a trader's
// record does.
func PooledSharpeSortino(eps []TradingEpisode) (sharpe, sortino float64) {
	var n, sum, sq, down float64
	for _, e := range eps {
		n, sum, sq, down = n+float64(e.Days), sum+e.Sum, sq+e.SumSq, down+e.DownSq
	}
	if n < 2 {
		return 0, 0
	}
	m := sum / n
	if v := (sq - n*m*m) / (n - 1); v > 1e-24 {
		sharpe = math.Sqrt(252) * m / math.Sqrt(v)
	}
	if down > 1e-24 {
		sortino = math.Sqrt(252) * m / math.Sqrt(down/n)
	}
	return sharpe, sortino
}

// EvalTradingEpisodes runs episodes of the trading environment with pol
// (deterministic) on the episode seeds drawn from seed's evaluation stream —
// the same stream ScoreTrading uses, so every policy given the same seed
// meets the same price paths, and paths a learner trained on VecEnv streams
// never saw.
func EvalTradingEpisodes(pol Policy, episodes int, seed uint64) []TradingEpisode {
	return EvalTradingEnv(NewTrading(), pol, episodes, seed)
}

// EvalTradingEnv is EvalTradingEpisodes on a variant of the world (e's
// settings: continuous or volatility-targeted actions, an informed
// observation, starting regimes). Variants that share the starting regimes
// share the price paths of every episode, so their scores pair.
func EvalTradingEnv(e *Trading, pol Policy, episodes int, seed uint64) []TradingEpisode {
	seeds := rand.New(rand.NewPCG(seed, 0x6576616c))
	out := make([]TradingEpisode, episodes)
	daily := make([]float64, 0, e.Horizon)
	for i := range out {
		obs := e.Reset(seeds.Uint64())
		daily = daily[:0]
		var turnover, exposure float64
		for {
			prev, eq := e.Position, e.Equity
			s := e.Step(pol.Act(obs, true, nil))
			turnover += math.Abs(e.Position - prev)
			exposure += math.Abs(e.Position)
			daily = append(daily, e.Equity/eq-1)
			obs = s.Obs
			if s.Terminated || s.Truncated {
				break
			}
		}
		sh, so := SharpeSortino(daily)
		ep := TradingEpisode{Regime: e.Regime, Return: e.Equity - 1, Sharpe: sh, Sortino: so, Turnover: turnover,
			Exposure: exposure / float64(len(daily)), Days: len(daily)}
		for _, r := range daily {
			ep.Sum, ep.SumSq = ep.Sum+r, ep.SumSq+r*r
			if r < 0 {
				ep.DownSq += r * r
			}
		}
		out[i] = ep
	}
	return out
}

// SharpeSortino returns the annualised Sharpe and Sortino ratios of daily
// returns (risk-free rate 0, as cash earns nothing in the environment); see
// stats.SharpeSortino, which every trading report shares.
func SharpeSortino(daily []float64) (sharpe, sortino float64) { return stats.SharpeSortino(daily) }

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
