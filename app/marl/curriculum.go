package marl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/metastation/metastation/app/market"
)

// Stage is one step of the market curriculum: the regime every training
// episode runs in, and what promotion to the next stage takes.
type Stage struct {
	Name   string
	Regime market.Regime
	// Threshold is the smoothed evaluation score (mean team return on
	// held-out episodes of this regime) that promotion needs.
	Threshold float64
	// MaxDrawdown is the risk gate: the mean over evaluation episodes of
	// the team equity's largest peak-to-trough fall, as a fraction, must not
	// exceed it.
	MaxDrawdown float64
	MinEpisodes int // training episodes in the stage before promotion
}

// DefaultStages go from calm to black swan, with the market's regime
// presets. Thresholds are set against the flat (all cash) team, which
// scores 0 with no drawdown, and buy-and-hold, which scores about +10 in
// calm markets and about −110 in a black swan over 60 days: each stage asks
// for no worse than a small loss and a bounded drawdown.
func DefaultStages() []Stage {
	return []Stage{
		{Name: "calm", Regime: market.Calm, Threshold: -2, MaxDrawdown: 0.08, MinEpisodes: 50},
		{Name: "volatile", Regime: market.Volatile, Threshold: -4, MaxDrawdown: 0.10, MinEpisodes: 50},
		{Name: "crisis", Regime: market.Crisis, Threshold: -6, MaxDrawdown: 0.12, MinEpisodes: 50},
		{Name: "black_swan", Regime: market.BlackSwan, Threshold: -10, MaxDrawdown: 0.15, MinEpisodes: 50},
	}
}

// CurriculumConfig says how the curriculum evaluates.
type CurriculumConfig struct {
	Stages       []Stage
	EvalEvery    int     // training episodes between evaluations
	EvalEpisodes int     // held-out episodes per evaluation
	EvalSeed     uint64  // the held-out seeds' stream; training never uses it
	Smoothing    float64 // weight of the newest evaluation in the moving average
}

// DefaultCurriculumConfig returns the default stages, evaluated every 25
// episodes on 10 held-out episodes with a smoothing weight of 0.5.
func DefaultCurriculumConfig() CurriculumConfig {
	return CurriculumConfig{Stages: DefaultStages(), EvalEvery: 25, EvalEpisodes: 10, EvalSeed: 0x686f6c64, Smoothing: 0.5}
}

// Curriculum is the state of a curriculum run; it is saved in every
// checkpoint so that a resumed run continues in the same stage.
type Curriculum struct {
	Config        CurriculumConfig
	Stage         int // index into Config.Stages; len(Stages) when complete
	StageEpisodes int
	Episodes      int
	Smoothed      float64
	Evaluations   int // in the current stage
	Log           []CurriculumEvent
}

// CurriculumEvent is one evaluation.
type CurriculumEvent struct {
	Episode  int
	Stage    string
	Score    float64
	Smoothed float64
	Drawdown float64
	CVaR     float64 // mean of the worst 10% of episode returns
	Promoted bool
	// Recheck holds, after a promotion, the score of every earlier stage,
	// to catch forgetting; Forgot names the stages now below threshold.
	Recheck map[string]float64
	Forgot  []string
}

// NewCurriculum starts at the first stage.
func NewCurriculum(cfg CurriculumConfig) *Curriculum { return &Curriculum{Config: cfg} }

// Done reports whether every stage has been passed.
func (c *Curriculum) Done() bool { return c.Stage >= len(c.Config.Stages) }

// Current is the stage being trained, or the last one when done.
func (c *Curriculum) Current() Stage {
	return c.Config.Stages[min(c.Stage, len(c.Config.Stages)-1)]
}

// Apply sets env to the current stage's regime (the last stage's once
// every stage is passed).
func (c *Curriculum) Apply(env *TradingMA) {
	env.Mixed, env.Regime = false, c.Current().Regime
}

// Observe records one finished training episode of ctrl and, every
// EvalEvery episodes, evaluates it and promotes it when the smoothed score
// passes the stage's threshold after MinEpisodes and the risk gate holds.
// It returns the evaluation, if one was made.
func (c *Curriculum) Observe(ctrl Controller, newEnv func() *TradingMA) (CurriculumEvent, bool) {
	c.Episodes++
	c.StageEpisodes++
	if c.Done() || c.StageEpisodes%c.Config.EvalEvery != 0 {
		return CurriculumEvent{}, false
	}
	st := c.Current()
	r := EvaluateTrading(ctrl, newEnv, st.Regime, c.Config.EvalEpisodes, c.Config.EvalSeed+uint64(c.Stage))
	if c.Evaluations == 0 {
		c.Smoothed = r.Score
	} else {
		c.Smoothed = c.Config.Smoothing*r.Score + (1-c.Config.Smoothing)*c.Smoothed
	}
	c.Evaluations++
	ev := CurriculumEvent{Episode: c.Episodes, Stage: st.Name, Score: r.Score, Smoothed: c.Smoothed, Drawdown: r.Drawdown, CVaR: r.CVaR}
	if c.StageEpisodes >= st.MinEpisodes && c.Smoothed >= st.Threshold && r.Drawdown <= st.MaxDrawdown {
		ev.Promoted = true
		ev.Recheck = map[string]float64{}
		for k := 0; k < c.Stage; k++ {
			prev := c.Config.Stages[k]
			pr := EvaluateTrading(ctrl, newEnv, prev.Regime, c.Config.EvalEpisodes, c.Config.EvalSeed+uint64(k))
			ev.Recheck[prev.Name] = pr.Score
			if pr.Score < prev.Threshold || pr.Drawdown > prev.MaxDrawdown {
				ev.Forgot = append(ev.Forgot, prev.Name)
			}
		}
		c.Stage++
		c.StageEpisodes, c.Evaluations, c.Smoothed = 0, 0, 0
	}
	c.Log = append(c.Log, ev)
	return ev, true
}

// TradingScore is a controller's record on held-out trading episodes.
type TradingScore struct {
	Score    float64 // mean team return
	Drawdown float64 // mean largest fall of the team's mean equity from its peak
	CVaR     float64 // mean of the worst 10% of team returns
	Returns  []float64
}

// EvaluateTrading plays episodes greedily in regime and scores them.
func EvaluateTrading(ctrl Controller, newEnv func() *TradingMA, regime market.Regime, episodes int, seed uint64) TradingScore {
	env := newEnv()
	env.Mixed, env.Regime = false, regime
	seeds := rand.New(rand.NewPCG(seed, 0x6576616c))
	rng := rand.New(rand.NewPCG(seed, 0x61637473))
	var s TradingScore
	for k := 0; k < episodes; k++ {
		obs := env.Reset(seeds.Uint64())
		var ret, peak, dd float64 = 0, 1, 0
		for {
			st := env.Step(ctrl.Actions(obs, env.State(), env.AvailActions(), true, rng))
			ret += st.TeamReward()
			var eq float64
			for _, e := range env.Equity {
				eq += e / float64(env.N)
			}
			peak = max(peak, eq)
			dd = max(dd, (peak-eq)/peak)
			obs = st.Obs
			if st.Done() {
				break
			}
		}
		s.Returns = append(s.Returns, ret)
		s.Score += ret / float64(episodes)
		s.Drawdown += dd / float64(episodes)
	}
	s.CVaR = cvar(s.Returns, 0.1)
	return s
}

// cvar is the mean of the worst fraction q of xs (at least one value).
func cvar(xs []float64, q float64) float64 {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	n := max(1, int(math.Ceil(q*float64(len(ys)))))
	var s float64
	for _, y := range ys[:n] {
		s += y
	}
	return s / float64(n)
}

// String summarises an evaluation for logs.
func (ev CurriculumEvent) String() string {
	s := fmt.Sprintf("episode %d %s: score %.2f (smoothed %.2f), drawdown %.1f%%, CVaR10 %.2f", ev.Episode, ev.Stage, ev.Score, ev.Smoothed, 100*ev.Drawdown, ev.CVaR)
	if ev.Promoted {
		s += " → promoted"
		if len(ev.Recheck) > 0 {
			// Rounded: %v would print the map's floats at full precision.
			names := make([]string, 0, len(ev.Recheck))
			for name := range ev.Recheck {
				names = append(names, name)
			}
			sort.Strings(names)
			parts := make([]string, len(names))
			for i, name := range names {
				parts[i] = fmt.Sprintf("%s %.2f", name, ev.Recheck[name])
			}
			s += "; earlier stages " + strings.Join(parts, ", ")
		}
		if len(ev.Forgot) > 0 {
			s += fmt.Sprintf("; forgot %v", ev.Forgot)
		}
	}
	return s
}
