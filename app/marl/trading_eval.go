package marl

import (
	"math"
	"math/rand/v2"

	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/stats"
)

// TradingEpisode is one held-out episode of the trading world scored the
// way a trader compares strategies: per agent on its daily equity returns
// (after the spread, its impact and the others'), then averaged over the
// agents.
type TradingEpisode struct {
	Regime   market.Regime
	Sharpe   float64 // annualised (stats.SharpeSortino), mean over agents
	Sortino  float64
	Return   float64 // equity at the end − 1, mean over agents
	Turnover float64 // Σ|Δposition| in units of capital, mean over agents
	// Days, Sum, SumSq and DownSq (Σ r², r < 0) of every agent's daily
	// returns together, for scoring episodes as one record.
	Days               int
	Sum, SumSq, DownSq float64
}

// EvalTradingDaily plays episodes of the world newEnv builds (its regime
// settings as they are: Mixed for the long-run mix) with ctrl, greedily,
// from the evaluation stream of seed — the same episode seeds for every
// controller given the same seed. The price paths pair only up to the
// traders' own impact, which is part of the world.
func EvalTradingDaily(ctrl Controller, newEnv func() *TradingMA, episodes int, seed uint64) []TradingEpisode {
	env := newEnv()
	seeds := rand.New(rand.NewPCG(seed, 0x6576616c))
	rng := rand.New(rand.NewPCG(seed, 0x61637473))
	out := make([]TradingEpisode, episodes)
	daily := make([][]float64, env.N)
	for k := range out {
		obs := env.Reset(seeds.Uint64())
		for i := range daily {
			daily[i] = daily[i][:0]
		}
		turnover := make([]float64, env.N)
		for {
			prevEq := append([]float64(nil), env.Equity...)
			prevPos := append([]int64(nil), env.Pos...)
			st := env.Step(ctrl.Actions(obs, env.State(), env.AvailActions(), true, rng))
			for i := range daily {
				daily[i] = append(daily[i], env.Equity[i]/prevEq[i]-1)
				turnover[i] += math.Abs(float64(env.Pos[i]-prevPos[i])) / float64(env.Lots)
			}
			obs = st.Obs
			if st.Done() {
				break
			}
		}
		ep := TradingEpisode{Regime: env.EpisodeRegime()}
		n := float64(env.N)
		for i := range daily {
			sh, so := stats.SharpeSortino(daily[i])
			ep.Sharpe += sh / n
			ep.Sortino += so / n
			ep.Return += (env.Equity[i] - 1) / n
			ep.Turnover += turnover[i] / n
			for _, r := range daily[i] {
				ep.Sum, ep.SumSq = ep.Sum+r, ep.SumSq+r*r
				if r < 0 {
					ep.DownSq += r * r
				}
			}
			ep.Days += len(daily[i])
		}
		out[k] = ep
	}
	return out
}

// Fixed returns a controller that always takes action for every agent:
// index 4 of TradingLevels holds a full long position (buy-and-hold), 2 stays
// in cash.
func Fixed(action int) Controller { return fixedController(action) }
