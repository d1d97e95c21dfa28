package rl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/metastation/metastation/app/market"
)

// Trading is a single-instrument trading environment on the market
// simulator. Each episode simulates Horizon trading days of one instrument
// (SPX by default) from a regime drawn uniformly from calm, volatile, crisis
// and black swan, after which the regime chain runs freely.
//
// Observation: the last Window daily returns (in percent), their 20-day
// standard deviation (in percent), the position, the cash share (1 −
// position) and equity − 1. Action: one of TradingLevels as the target
// position (short, half short, flat, half long, long). Reward, in percent of
// equity: the position's return minus CostBps per unit of turnover minus
// Risk·(position return in percent)². An episode terminates if equity falls
// below 20% and is truncated after Horizon days.
type Trading struct {
	Asset   string
	Horizon int
	Window  int
	CostBps float64
	Risk    float64

	// Continuous makes the action a target position in [−1, 1] (a box, so
	// that SAC can act) instead of an index into TradingLevels.
	Continuous bool
	// Informed appends what a trader reads off the same prices and the
	// regimes are known to move (volatility and drawdown), see obs.
	Informed bool
	// VolTarget, when positive, makes the action a multiple of a
	// volatility-targeted position: target = clamp(a · VolTarget / σ̂, −1, 1)
	// with a the level (or the continuous action) and σ̂ the EWMA
	// volatility of the returns seen so far (percent a day, RiskMetrics
	// λ = 0.94). With a = 1 this is the classic volatility-targeting rule.
	VolTarget float64
	// Levels, when not empty, replace TradingLevels as the positions (or,
	// with VolTarget, the multiples of the targeted position) of the
	// discrete actions.
	Levels []float64
	// Starts, when not empty, are the regimes an episode may start in,
	// drawn uniformly; empty means all four (the default world). A split
	// trains on some starting regimes and evaluates on the others.
	Starts []market.Regime

	Rets     []float64 // simple daily returns: warm-up, then Horizon days
	T        int       // index of the next return to be realised
	Position float64
	Equity   float64
	Regime   float64 // the starting regime, for reports
}

// TradingLevels are the target positions of the discrete actions.
var TradingLevels = []float64{-1, -0.5, 0, 0.5, 1}

const tradingVolWindow = 20

// NewTrading returns the environment with its defaults: SPX, 252 days,
// 10 returns observed, 5 bp costs, risk weight 0.01.
func NewTrading() *Trading {
	return &Trading{Asset: "SPX", Horizon: 252, Window: 10, CostBps: 5, Risk: 0.01}
}

// Name returns "trading".
func (e *Trading) Name() string { return "trading" }

// ObsDim is Window + 4, and 4 more when Informed.
func (e *Trading) ObsDim() int {
	if e.Informed {
		return e.Window + 4 + informedFeatures
	}
	return e.Window + 4
}

// ActionSpace is len(TradingLevels) discrete target positions, or the box
// [−1, 1] when Continuous.
func (e *Trading) ActionSpace() Space {
	if e.Continuous {
		return Space{Low: []float64{-1}, High: []float64{1}}
	}
	return Space{N: len(e.levels())}
}

func (e *Trading) levels() []float64 {
	if len(e.Levels) > 0 {
		return e.Levels
	}
	return TradingLevels
}

func (e *Trading) warmup() int { return max(e.Window, tradingVolWindow) }

// Reset simulates a new episode's prices from seed.
func (e *Trading) Reset(seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x7472616465))
	u, err := market.Preset("equity")
	if err != nil {
		panic(fmt.Sprintf("rl: trading: %v", err)) // the preset is compiled in
	}
	idx := u.Index(e.Asset)
	if idx < 0 {
		panic(fmt.Sprintf("rl: trading: %s is not in the equity preset", e.Asset))
	}
	p, err := market.NewProcess(u, rng.Uint64())
	if err != nil {
		panic(fmt.Sprintf("rl: trading: %v", err))
	}
	var regime market.Regime
	if len(e.Starts) == 0 {
		regime = market.Regime(rng.IntN(4))
	} else {
		regime = e.Starts[rng.IntN(len(e.Starts))]
	}
	p.SetScript(market.Script{{At: 0, Regime: regime}, {At: 24 * time.Hour, Auto: true}})
	n := e.warmup() + e.Horizon
	e.Rets = make([]float64, n)
	for d := range e.Rets {
		p.Step(1)
		e.Rets[d] = math.Expm1(p.Returns()[idx])
	}
	e.T, e.Position, e.Equity, e.Regime = e.warmup(), 0, 1, float64(regime)
	return e.obs()
}

// Step moves to the target position, then realises one day's return.
func (e *Trading) Step(action []float64) Step {
	target := e.Target(action)
	cost := e.CostBps / 1e4 * math.Abs(target-e.Position)
	pnl := target * e.Rets[e.T]
	e.Equity *= 1 + pnl - cost
	e.Position = target
	e.T++
	reward := 100*(pnl-cost) - e.Risk*(100*pnl)*(100*pnl)
	terminated := e.Equity < 0.2
	return Step{
		Obs:        e.obs(),
		Reward:     reward,
		Terminated: terminated,
		Truncated:  !terminated && e.T >= len(e.Rets),
	}
}

// Target is the position action asks for now: a level (Levels or
// TradingLevels) or
// the continuous action clamped to [−1, 1], scaled by VolTarget/σ̂ when
// VolTarget is set.
func (e *Trading) Target(action []float64) float64 {
	var a float64
	if e.Continuous {
		a = action[0]
		if math.IsNaN(a) {
			a = 0
		}
	} else {
		lv := e.levels()
		a = lv[max(0, min(len(lv)-1, int(action[0])))]
	}
	if e.VolTarget > 0 {
		a *= e.VolTarget / max(e.ewmaVol(), 1e-6)
	}
	return max(-1, min(1, a))
}

// informedFeatures is how many values Informed appends.
const informedFeatures = 4

// ewmaLambda is RiskMetrics' daily decay.
const ewmaLambda = 0.94

// ewmaVol is the RiskMetrics EWMA volatility of the returns before T, in
// percent a day, started from the mean square of the first 20 returns.
func (e *Trading) ewmaVol() float64 {
	var v float64
	for _, r := range e.Rets[:tradingVolWindow] {
		v += r * r
	}
	v /= tradingVolWindow
	for _, r := range e.Rets[tradingVolWindow:e.T] {
		v = ewmaLambda*v + (1-ewmaLambda)*r*r
	}
	return 100 * math.Sqrt(v)
}

// informed returns the features a trader computes from the same prices:
// the 5-day realised volatility (percent a day: it reacts within days, the
// 20-day one within weeks), the EWMA volatility, the drawdown of the price
// from its 20-day high and the 20-day return (both percent).
func (e *Trading) informed() []float64 {
	var v5 float64
	for _, r := range e.Rets[e.T-5 : e.T] {
		v5 += r * r
	}
	price, peak := 1.0, 1.0
	for _, r := range e.Rets[e.T-tradingVolWindow : e.T] {
		price *= 1 + r
		peak = max(peak, price)
	}
	return []float64{100 * math.Sqrt(v5/5), e.ewmaVol(), 100 * (price/peak - 1), 100 * (price - 1)}
}

func (e *Trading) obs() []float64 {
	o := make([]float64, 0, e.ObsDim())
	for i := e.T - e.Window; i < e.T; i++ {
		o = append(o, 100*e.Rets[i])
	}
	var m, v float64
	w := e.Rets[e.T-tradingVolWindow : e.T]
	for _, r := range w {
		m += r
	}
	m /= float64(len(w))
	for _, r := range w {
		v += (r - m) * (r - m)
	}
	o = append(o, 100*math.Sqrt(v/float64(len(w)-1)), e.Position, 1-e.Position, e.Equity-1)
	if e.Informed {
		o = append(o, e.informed()...)
	}
	return o
}

// State returns T, position, equity, regime and the returns.
func (e *Trading) State() []float64 {
	return append([]float64{float64(e.T), e.Position, e.Equity, e.Regime}, e.Rets...)
}

// SetState restores what State returned.
func (e *Trading) SetState(s []float64) error {
	if len(s) != 4+e.warmup()+e.Horizon {
		return fmt.Errorf("trading state: %d values, want %d", len(s), 4+e.warmup()+e.Horizon)
	}
	e.T, e.Position, e.Equity, e.Regime = int(s[0]), s[1], s[2], s[3]
	e.Rets = append([]float64(nil), s[4:]...)
	return nil
}

// FixedPolicy always takes the same action: index 4 of TradingLevels is
// buy-and-hold, index 2 stays in cash.
type FixedPolicy int

// Act returns the fixed action.
func (f FixedPolicy) Act([]float64, bool, *rand.Rand) []float64 { return []float64{float64(f)} }

// RandomPolicy acts uniformly at random from its own stream.
type RandomPolicy struct {
	Space Space
	RNG   *rand.Rand
}

// Act draws a uniform action.
func (r RandomPolicy) Act([]float64, bool, *rand.Rand) []float64 {
	if r.Space.Discrete() {
		return []float64{float64(r.RNG.IntN(r.Space.N))}
	}
	a := make([]float64, len(r.Space.Low))
	for j := range a {
		a[j] = r.Space.Low[j] + r.RNG.Float64()*(r.Space.High[j]-r.Space.Low[j])
	}
	return a
}

// TradingScore summarises a policy over evaluation episodes.
type TradingScore struct {
	Reward      float64 // mean episode reward
	RewardSE    float64 // its standard error
	FinalEquity float64 // mean equity at the end (1 = break-even)
	EquitySE    float64
	Turnover    float64   // mean Σ|Δposition| per episode
	Rewards     []float64 // per episode, for paired comparisons
}

// ScoreTrading runs episodes of the trading environment with pol
// (deterministic) from the evaluation stream of seed, the same episodes for
// every policy given the same seed.
func ScoreTrading(pol Policy, episodes int, seed uint64) TradingScore {
	seeds := rand.New(rand.NewPCG(seed, 0x6576616c))
	e := NewTrading()
	rewards, equity := make([]float64, episodes), make([]float64, episodes)
	var turnover float64
	for i := range rewards {
		obs := e.Reset(seeds.Uint64())
		for {
			prev := e.Position
			s := e.Step(pol.Act(obs, true, nil))
			turnover += math.Abs(e.Position - prev)
			rewards[i] += s.Reward
			obs = s.Obs
			if s.Terminated || s.Truncated {
				break
			}
		}
		equity[i] = e.Equity
	}
	var sc TradingScore
	var sd float64
	sc.Reward, sd = MeanStd(rewards)
	sc.RewardSE = sd / math.Sqrt(float64(episodes))
	sc.FinalEquity, sd = MeanStd(equity)
	sc.EquitySE = sd / math.Sqrt(float64(episodes))
	sc.Turnover = turnover / float64(episodes)
	sc.Rewards = rewards
	return sc
}

// PairedDiff returns the mean of a−b over the same episodes and its
// standard error.
func PairedDiff(a, b []float64) (mean, se float64) {
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	m, sd := MeanStd(d)
	return m, sd / math.Sqrt(float64(len(d)))
}

// TradingTarget maps a trading policy's action to its target position in
// [−1, 1], for strategies that trade on a policy's decisions.
func TradingTarget(pol Policy, obs []float64) float64 {
	a := int(pol.Act(obs, true, nil)[0])
	return TradingLevels[max(0, min(len(TradingLevels)-1, a))]
}
